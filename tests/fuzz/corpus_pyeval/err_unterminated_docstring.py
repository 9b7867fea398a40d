def simple_math_problem() -> int:
    """never closed
    a = 1
    return a
