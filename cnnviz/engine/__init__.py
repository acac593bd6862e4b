"""Drives the core over time: the stepper, the trainer and sessions. Never imports Qt."""

from cnnviz.engine.explain import Explanation  # noqa: E402
from cnnviz.engine.receptive import receptive_field  # noqa: E402
from cnnviz.engine.selection import Selection  # noqa: E402
from cnnviz.engine.session import Session, SessionError, load_session, save_session  # noqa: E402
from cnnviz.engine.stepper import Stepper, StepRecord  # noqa: E402
from cnnviz.engine.trainer import History, Progress, TrainConfig, Trainer  # noqa: E402

__all__ = [
    "Explanation", "History", "Progress", "Selection", "Session", "SessionError",
    "StepRecord", "Stepper", "TrainConfig", "Trainer", "load_session", "receptive_field",
    "save_session",
]
