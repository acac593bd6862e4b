"""The shell's side of lessons: the lesson dock's requests to other rooms, its dock on the
right of the main window, and its menu."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from cnnviz.app.lessons.dock import LessonDock
from cnnviz.app.lessons.runner import LessonUi, Run
from cnnviz.app.training.compare import RunRecord, network_name
from cnnviz.app.training.curves import metric_curves, norm_x
from cnnviz.engine.lessons import LessonError, lesson_paths, load_lesson


class ShellLessonUi(LessonUi):
    """Carries out what a lesson asks of the inspector, the Explain dock and training."""

    def __init__(self, window: Any) -> None:
        """`window` is the MainWindow (its panels and docks)."""
        self.window = window

    def show_tab(self, key: str) -> None:
        """An inspector tab."""
        self.window.panels["inspector"].show_tab(key)

    def show_explain(self, key: str) -> None:
        """A tab of the Explain dock (computation, formula, animation)."""
        self.window.panels["explain"].show_tab(key)
        self.window.docks["explain"].raise_()

    def animate(self) -> None:
        """Play the Explain dock's animation of the selected unit."""
        explain = self.window.panels["explain"]
        explain.show_tab("animation")
        explain.animation.play.setChecked(True)

    def show_runs(self, runs: list[Run]) -> None:
        """The runs' curves in the training dock; several runs in its Compare tab."""
        panel = self.window.panels["training"]
        ctrl = self.window.ctrl
        for run in runs:
            record = RunRecord.from_history(run.result.history, run.config, run.dataset,
                                            run.batches_per_epoch,
                                            network=network_name(ctrl.spec, ctrl.preset_name))
            panel.compare.add_run(record)
        last = runs[-1]
        self._show_settings(panel, last)
        panel.metric_plots.clear()  # it skips curves whose length did not change
        panel.grad_plot.clear()
        panel.metric_plots.set_curves(metric_curves(last.result.history, last.batches_per_epoch))
        panel.grad_plot.set_norms(norm_x(last.result.history, last.batches_per_epoch),
                                  last.result.history.grad_norms)
        panel.tabs.setCurrentWidget(panel.compare if len(runs) > 1 else panel.metric_plots)
        self.window.docks["training"].show()
        self.window.docks["training"].raise_()


    @staticmethod
    def _show_settings(panel: Any, run: Run) -> None:
        """The dock's settings boxes show what the lesson trained with."""
        config = run.config
        panel.optimizer_box.setCurrentText(config.optimizer)
        panel.lr_box.setValue(config.lr)
        panel.batch_box.setValue(config.batch_size)
        panel.epochs_box.setValue(config.epochs)
        panel.schedule_box.setCurrentText(config.schedule)


def add_lesson_dock(window: QMainWindow, lessons: LessonDock) -> QDockWidget:
    """The lesson dock on the right, full height, hidden until a lesson is opened (Help →
    Lessons) and again when the lesson is closed."""
    dock = QDockWidget("Lesson", window)
    dock.setObjectName("lessons")
    dock.setWidget(lessons)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    for corner in (Qt.Corner.TopRightCorner, Qt.Corner.BottomRightCorner):
        window.setCorner(corner, Qt.DockWidgetArea.RightDockWidgetArea)  # full height
    dock.hide()
    lessons.lesson_changed.connect(lambda: dock.setVisible(lessons.lesson is not None))
    return dock


def fill_lesson_menu(menu: QMenu, open_lesson: Any) -> None:
    """One entry per bundled lesson; a broken file is listed disabled with its problem."""
    for path in lesson_paths():
        try:
            lesson = load_lesson(path)
        except LessonError as error:
            action = menu.addAction(f"{path.stem} (cannot be used)")
            action.setToolTip(str(error))
            action.setEnabled(False)
            continue
        action = menu.addAction(lesson.title)
        action.setToolTip(lesson.summary)
        action.triggered.connect(lambda _=False, p=str(path): open_lesson(p))
