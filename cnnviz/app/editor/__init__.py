"""The layer editor: the network spec as an editable table and form, with undo.

Its model (`model.py`) is plain Python over the spec; its widgets apply a valid draft
through the controller. It may use the controller and the shared widgets only.
"""
