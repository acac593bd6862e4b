"""Shared widgets and looks: map views, colour maps, the flow layout and the themes.

They know nothing of the controller or of any dock, so every room may use them.
"""
