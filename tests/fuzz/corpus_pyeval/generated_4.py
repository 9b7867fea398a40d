def simple_math_problem() -> int:
    """
    A toy store has 66 robots. It has 3 times as many puzzles as robots. It has 5 times as many teddy bears as puzzles. It has 821 fewer drums than teddy bears. How many drums does it have?
    """
    robots = 66
    puzzles = robots * 3
    teddy_bears = puzzles * 5
    drums = teddy_bears - 821
    result = drums
    return result
