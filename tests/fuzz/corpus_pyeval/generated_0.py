def simple_math_problem() -> int:
    """
    A fruit stand has 90 bananas. It has 16 more kiwis than bananas. How many kiwis does it have?
    """
    bananas = 90
    kiwis = bananas + 16
    result = kiwis
    return result
