def simple_math_problem() -> int:
    return (2 ** 62 + 1) / 3
