def f():
	a = 3
	return a
