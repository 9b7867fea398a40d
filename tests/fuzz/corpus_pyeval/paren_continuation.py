def simple_math_problem() -> int:
    a = (1 +
         2 +
    3)
    return a
