"""The debugger docks: pipeline, inspector, explain panel and prediction.

They render the stepper's state that the controller holds and send it commands. They may
use the controller and the shared widgets, never another feature room.
"""
