"""The input dock: the drawing canvas, image loading and the dataset browser.

It hands the chosen input to the controller. It may use the controller and the shared
widgets only.
"""
