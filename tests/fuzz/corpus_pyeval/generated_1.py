def simple_math_problem() -> int:
    """
    Ethan cycles at 13 km per hour for 3 hours, and then at 8 km per hour for 4 hours. How many km does he cycle in total?
    """
    speed_1 = 13
    hours_1 = 3
    distance_1 = speed_1 * hours_1
    speed_2 = 8
    hours_2 = 4
    distance_2 = speed_2 * hours_2
    total_distance = distance_1 + distance_2
    result = total_distance
    return result
