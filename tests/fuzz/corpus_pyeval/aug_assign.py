def simple_math_problem() -> int:
    a = 10
    a += 5
    a -= 3
    a *= 2
    a /= 8
    return a
