def simple_math_problem() -> int:
    """
    Olivia has $23. She bought five bagels for $3 each. How much money does she have left?
    """
    money_initial = 23
    bagels = 5
    bagel_cost = 3
    money_spent = bagels * bagel_cost
    money_left = money_initial - money_spent
    result = money_left
    return result
