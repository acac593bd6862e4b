"""The shell: the main window, its menus and actions, settings and launch.

It builds every feature room (debugger, editor, input, training) and wires them to the one
AppController. It may import every other room of `cnnviz.app`; no room imports it.
"""
