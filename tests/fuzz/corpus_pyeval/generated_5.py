def simple_math_problem() -> int:
    """
    Kenji cycles at 14 km per hour for 6 hours. How many km does he cycle?
    """
    speed_1 = 14
    hours_1 = 6
    distance_1 = speed_1 * hours_1
    result = distance_1
    return result
