"""The lesson dock: a lesson's narration with its live numbers, Next/Previous (PgDn/PgUp,
so a presenter remote works), progress, restart, leave and resume.

The step each lesson was left at is kept in the app's QSettings under
``lessons/<name>/step``; opening the lesson again resumes there.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.lessons.runner import LessonRunner, LessonUi
from cnnviz.engine.lessons import Lesson, load_lesson

NARRATION_PT = 15  # readable from the back of a room once the window is full-screen
KEYS = {"next": "PgDown", "previous": "PgUp"}


def settings_key(lesson: Lesson) -> str:
    """Where the step a lesson was left at is remembered."""
    return f"lessons/{lesson.name}/step"


class LessonDock(QWidget):
    """Shows one step of a lesson and drives the app through the lesson's actions."""

    lesson_changed = Signal()  # a lesson opened, a step shown, or the lesson left

    def __init__(self, ctrl: AppController, settings: QSettings | None = None,
                 ui: LessonUi | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctrl = ctrl
        self.settings = settings
        self.runner = LessonRunner(ctrl, ui)
        self.lesson: Lesson | None = None
        self.index = 0
        self.problems: list[str] = []
        self.text = ""
        self._build()
        self._show()

    def _build(self) -> None:
        """Title, progress, narration, problems line and the buttons."""
        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.title.setObjectName("lesson_title")
        self.progress_label = QLabel("")
        self.progress_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.browser = QTextBrowser()
        self.browser.setObjectName("lesson_text")
        self.browser.setOpenExternalLinks(False)
        self.problem_label = QLabel("")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("QLabel { color: #b00020; }")
        self.buttons = {}
        row = QHBoxLayout()
        for key, text, slot in (("previous", "◀ Previous", self.previous),
                                ("next", "Next ▶", self.next),
                                ("restart", "Restart", self.restart),
                                ("leave", "Leave", self.leave)):
            button = QPushButton(text)
            button.setToolTip(f"{text.strip('◀▶ ')} ({KEYS[key]})" if key in KEYS else text)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons[key] = button
        layout = QVBoxLayout(self)
        for widget in (self.title, self.progress_label, self.progress):
            layout.addWidget(widget)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.problem_label)
        layout.addLayout(row)
        for key, slot in (("next", self.next), ("previous", self.previous)):
            action = QAction(key, self)
            action.setShortcut(QKeySequence(KEYS[key]))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        self.set_point_size(NARRATION_PT)

    def set_point_size(self, points: int) -> None:
        """The narration's font size (the title is a little larger)."""
        font = QFont(self.browser.font())
        font.setPointSize(points)
        self.browser.setFont(font)
        self.browser.document().setDefaultFont(font)
        for label, extra, bold in ((self.title, 3, True), (self.progress_label, 0, False),
                                   (self.problem_label, -2, False)):
            big = QFont(font)
            big.setPointSize(points + extra)
            big.setBold(bold)
            label.setFont(big)
        self._show()

    # ----- commands ----------------------------------------------------------------------
    def open(self, lesson: Lesson | str, step: int | None = None) -> None:
        """Open a lesson (a Lesson, a name or a path) at `step`, or where it was left."""
        self.lesson = lesson if isinstance(lesson, Lesson) else load_lesson(lesson)
        self.go_to(self.remembered_step() if step is None else step)

    def remembered_step(self) -> int:
        """The step this lesson was left at (0 if never opened)."""
        if self.lesson is None or self.settings is None:
            return 0
        try:
            return int(self.settings.value(settings_key(self.lesson), 0))
        except (TypeError, ValueError):
            return 0

    def go_to(self, k: int) -> None:
        """Show step k, replaying the lesson from its start (any step, either direction)."""
        if self.lesson is None:
            return
        self.index = max(0, min(int(k), len(self.lesson.steps) - 1))
        self.text, self.problems = self.runner.replay(self.lesson, self.index)
        self._after_move()

    def next(self) -> None:
        """The next step: only its own actions run (PgDn)."""
        if self.lesson is None or self.index >= len(self.lesson.steps) - 1:
            return
        self.index += 1
        self.text, self.problems = self.runner.run_step(self.lesson, self.index)
        self._after_move()

    def previous(self) -> None:
        """The previous step (PgUp): replayed from the lesson's start."""
        if self.lesson is not None and self.index > 0:
            self.go_to(self.index - 1)

    def restart(self) -> None:
        """Back to the first step."""
        self.go_to(0)

    def leave(self) -> None:
        """Close the lesson; its step is remembered for next time."""
        self._remember()
        self.lesson = None
        self._show()
        self.lesson_changed.emit()

    def _after_move(self) -> None:
        """Remember the step, redraw, tell the shell."""
        self._remember()
        self._show()
        self.lesson_changed.emit()

    def _remember(self) -> None:
        """Keep the current step in the settings."""
        if self.lesson is not None and self.settings is not None:
            self.settings.setValue(settings_key(self.lesson), self.index)

    # ----- drawing -----------------------------------------------------------------------
    def _show(self) -> None:
        """Title, progress, narration (Markdown) and problems of the current step."""
        lesson = self.lesson
        if lesson is None:
            self.title.setText("No lesson open")
            self.progress_label.setText("Help → Lessons lists them.")
            self.progress.setValue(0)
            self.browser.setMarkdown("")
            self.problem_label.hide()
        else:
            n = len(lesson.steps)
            step = lesson.steps[self.index]
            self.title.setText(lesson.title)
            self.progress_label.setText(f"Step {self.index + 1} of {n}: {step.title}")
            self.progress.setRange(0, n)
            self.progress.setValue(self.index + 1)
            self.browser.setMarkdown(self.text)
            self.problem_label.setText("\n".join(self.problems))
            self.problem_label.setVisible(bool(self.problems))
        at = self.index if lesson is not None else 0
        last = len(lesson.steps) - 1 if lesson is not None else 0
        self.buttons["previous"].setEnabled(lesson is not None and at > 0)
        self.buttons["next"].setEnabled(lesson is not None and at < last)
        for key in ("restart", "leave"):
            self.buttons[key].setEnabled(lesson is not None)
