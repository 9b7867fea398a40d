def simple_math_problem() -> int:
    """
    Ethan cycles 12 miles at 6 miles per hour, then 144 miles at 24 miles per hour, then 24 miles at 8 miles per hour, and then 76 miles at 19 miles per hour. How many hours does he cycle in total?
    """
    distance_1 = 12
    speed_1 = 6
    hours_1 = distance_1 / speed_1
    distance_2 = 144
    speed_2 = 24
    hours_2 = distance_2 / speed_2
    distance_3 = 24
    speed_3 = 8
    hours_3 = distance_3 / speed_3
    distance_4 = 76
    speed_4 = 19
    hours_4 = distance_4 / speed_4
    total_hours = hours_1 + hours_2 + hours_3 + hours_4
    result = total_hours
    return result
