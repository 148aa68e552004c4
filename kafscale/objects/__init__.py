"""The object builders: one module per kind of object (pure functions of the settings), and
composition.py, the composition root that puts them together in apply order."""
