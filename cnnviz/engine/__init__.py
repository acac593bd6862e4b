"""Drives the core over time: the stepper, the trainer and sessions. Never imports Qt."""
