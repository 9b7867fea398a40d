def simple_math_problem() -> int:
    a = 7
    return round(max(a / 3, min(2, 3)) * 100) / 100
