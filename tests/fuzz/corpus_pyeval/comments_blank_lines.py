def simple_math_problem() -> int:

    # a comment
    a = 5  # trailing

        # indented comment
    return a
# after
