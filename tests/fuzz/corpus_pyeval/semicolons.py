def simple_math_problem() -> int:
    a = 1; b = 2;
    return a + b
