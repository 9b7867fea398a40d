def simple_math_problem() -> int:
    return sum([1,
      2,
      3,])
