def simple_math_problem() -> int:
    """
    Omar rides at 8 miles per hour for 6 hours, then at 6 miles per hour for 4 hours, and then at 11 miles per hour for 4 hours. His whole trip is 184 miles long. How many miles does he still have to go?
    """
    speed_1 = 8
    hours_1 = 6
    distance_1 = speed_1 * hours_1
    speed_2 = 6
    hours_2 = 4
    distance_2 = speed_2 * hours_2
    speed_3 = 11
    hours_3 = 4
    distance_3 = speed_3 * hours_3
    total_distance = distance_1 + distance_2 + distance_3
    trip_length = 184
    remaining = trip_length - total_distance
    result = remaining
    return result
