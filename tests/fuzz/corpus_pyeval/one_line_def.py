def f(): return 3 * 4
