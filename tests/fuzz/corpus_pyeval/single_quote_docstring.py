def f():
    '''It's a
    multi-line docstring with "quotes".'''
    return 7
