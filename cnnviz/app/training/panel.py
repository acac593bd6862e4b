"""The `training` dock: settings, start/pause/stop, progress, live curves and run comparison.

Training runs in a worker thread (`training_worker.TrainingRunner`); this panel only
collects the worker's snapshots and redraws at a bounded rate (`REFRESH_MS`). While a
run is in progress the controller is `busy`; at the end the panel hands the network
back with `controller.end_training()` (the thread is joined by then).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.training.compare import ComparePanel, RunRecord, network_name
from cnnviz.app.training.curves import (
    GradNormPlot,
    LiveHistory,
    MetricPlots,
    metric_curves,
    norm_x,
    restyle_plot,
)
from cnnviz.app.training.keep import KeepBar
from cnnviz.app.training.settings import TrainingSettings, settings_text, start_text
from cnnviz.app.training.worker import Snapshot, TrainingRunner, metrics_text, progress_text
from cnnviz.app.widgets.flow_layout import FlowLayout
from cnnviz.app.widgets.theme import Colors
from cnnviz.data import open_dataset
from cnnviz.data.dataset import Dataset
from cnnviz.engine.trainer import History, Progress, TrainConfig, Trainer, TrainResult

REFRESH_MS = 100  # redraw at most 10 times a second, however fast progress arrives
SHORTCUTS = {"start": "Ctrl+T", "pause": "Ctrl+P", "stop": "Ctrl+."}
PANEL_PT = 12
TABS_MIN_PX = 300  # two readable plots, even in a short dock
MESSAGE_STYLES = {
    "info": "background:#e8f0fe; color:#0b2e6b; border:2px solid #1f5fbf;",
    "warning": "background:#fff1d6; color:#5a3300; border:2px solid #d2801e;",
    "error": "background:#fde2e2; color:#6b0b0b; border:2px solid #c62828;",
}


class TrainingPanel(QWidget):
    """The training dock: settings, controls, progress, curves, gradient norms, compare."""

    run_changed = Signal(str)  # "running", "paused", then the final state or "failed"

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        font = self.font()
        font.setPointSize(max(PANEL_PT, font.pointSize()))
        self.setFont(font)
        self.runner = TrainingRunner(self)
        self.runner.progress_changed.connect(self._on_progress_changed)
        self.runner.run_finished.connect(self._on_run_finished)
        self.runner.error_raised.connect(self._on_error_raised)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._refresh)
        self.history: History | LiveHistory = LiveHistory()
        self.progress: Progress | None = None
        self._dirty = False
        self._config: TrainConfig | None = None
        self._dataset_name = ""
        self._continued = False
        self._build()
        controller.dataset_changed.connect(self._on_dataset_changed)
        self._on_dataset_changed()
        self._update_controls()

    def _build(self) -> None:
        """Settings grid, buttons, progress, message line and the plot tabs."""
        layout = QVBoxLayout(self)
        self.settings_box = TrainingSettings()
        for name in ("optimizer_box", "lr_box", "batch_box", "epochs_box", "schedule_box",
                     "augment_box", "dataset_box", "continue_box"):
            setattr(self, name, getattr(self.settings_box, name))
        self.settings_summary = QLabel("")
        self.settings_summary.setWordWrap(True)
        self.settings_summary.setToolTip("The settings of the run in progress (editable "
                                         "again when it ends)")
        self.settings_summary.hide()
        layout.addWidget(self.settings_box)
        layout.addWidget(self.settings_summary)
        layout.addLayout(self._build_buttons())
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)  # a reset bar (-1) hides its text
        self.progress_bar.setFormat("%p %")
        self.progress_bar.setMinimumHeight(24)
        self.progress_bar.setToolTip("Progress of the whole run")
        # The words go in a label that wraps: inside the bar they were cut off in a
        # 300-pixel dock.
        self.progress_label = QLabel("Ready: choose the settings and press Start.")
        self.progress_label.setWordWrap(True)
        self.progress_label.setToolTip("Progress: epoch, batch and time left")
        self.metrics_label = QLabel("")
        self.metrics_label.setWordWrap(True)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.hide()
        big = QFont(self.font())
        big.setPointSize(PANEL_PT + 1)
        big.setBold(True)
        for widget in (self.progress_label, self.metrics_label):
            widget.setFont(big)
        self.metric_plots = MetricPlots()
        self.grad_plot = GradNormPlot()
        self.compare = ComparePanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.metric_plots, "Loss && accuracy")
        self.tabs.addTab(self.grad_plot, "Gradient norms")
        self.tabs.addTab(self.compare, "Compare runs")
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.keep_bar = KeepBar(self.controller)
        for widget in (self.progress_label, self.progress_bar, self.metrics_label,
                       self.message_label, self.keep_bar, self.tabs):
            layout.addWidget(widget)
        self.progress_bar.hide()  # shown from the first run on: until then the curves get the room
        self.metrics_label.hide()
        layout.setStretchFactor(self.tabs, 1)
        # The plots take the height the dock has, not their (tall) size hints: the panel then
        # fits its dock, curves above the fold, instead of growing a scroll bar.
        self.tabs.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        self.tabs.setMinimumHeight(TABS_MIN_PX)

    def _build_buttons(self) -> FlowLayout:
        """Start, pause/resume and stop, each with a shortcut named in its tooltip."""
        style = self.style()
        self.start_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
                                        "Start")
        self.pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause),
                                        "Pause")
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop),
                                       "Stop")
        tips = {"start": "Start training with these settings",
                "pause": "Pause training after this batch / resume it",
                "stop": "Stop training after this batch (the model stays consistent)"}
        row = FlowLayout()  # wraps in a narrow dock instead of cutting "Stop" off
        for key, button, slot in (("start", self.start_button, self.start_training),
                                  ("pause", self.pause_button, self.toggle_pause),
                                  ("stop", self.stop_button, self.stop_training)):
            button.setShortcut(QKeySequence(SHORTCUTS[key]))
            button.setToolTip(f"{tips[key]} ({SHORTCUTS[key]})")
            button.setMinimumHeight(34)
            button.clicked.connect(slot)
            row.addWidget(button)
        return row

    # ----- commands -------------------------------------------------------------------
    def config(self) -> TrainConfig:
        """The TrainConfig the settings describe."""
        return self.settings_box.config()

    def is_running(self) -> bool:
        """True while a run is in progress (until its thread has been joined)."""
        return self.runner.is_running()

    def start_training(self) -> bool:
        """Start a run on the controller's network; errors are reported, not raised."""
        if self.runner.is_running() or self.controller.busy:
            return False
        try:
            config = self.config()
            dataset = self._dataset()
            continued = self._prepare_weights()
            trainer = Trainer(self.controller.network, dataset, config)  # makes the optimizer
        except Exception as error:  # noqa: BLE001 - bad settings or data: tell, don't crash
            self._report("Cannot start training", str(error), "error")
            return False
        self._config, self._dataset_name, self._continued = config, dataset.name, continued
        self.history, self.progress, self._dirty = LiveHistory(), None, False
        self.metric_plots.clear()
        self.grad_plot.clear()
        self.message_label.hide()
        self.keep_bar.hide()
        self.progress_bar.show()
        self.metrics_label.show()
        self.controller.begin_training()
        self.runner.start(trainer)
        self._refresh_timer.start()
        self._update_controls()
        self.run_changed.emit("running")
        return True

    def _prepare_weights(self) -> bool:
        """Load the comparison's start weights unless "continue from current" is ticked;
        returns whether the run continues from the current weights."""
        ctrl = self.controller
        start = self.compare.start_weights.take(ctrl.spec, ctrl.network.state_dict())
        continued = self.continue_box.isChecked()
        if start is not None and not continued:
            ctrl.set_weights(start)
        return continued

    def toggle_pause(self) -> None:
        """Pause a running run, or resume a paused one."""
        trainer = self.runner.trainer
        if trainer is None:
            return
        if trainer.state == "paused":
            self.runner.resume()
            self.run_changed.emit("running")
        else:
            self.runner.pause()
            self.run_changed.emit("paused")
        self._update_controls()

    def stop_training(self) -> None:
        """Ask the run to stop after the batch in progress; run_finished follows."""
        if self.runner.is_running():
            self.runner.stop()
            self.controller.status_changed.emit("Stopping after the batch in progress…")

    def set_colors(self, colors: Colors) -> None:
        """Follow the app theme (cnnviz.app.widgets.theme.Colors): plot background and text."""
        for plot in (self.metric_plots.loss_plot, self.metric_plots.accuracy_plot,
                     self.grad_plot.plot, self.compare.plot):
            restyle_plot(plot, colors.panel, colors.text)

    def shutdown(self) -> None:
        """Stop a run and join its thread now (the window is closing)."""
        self._refresh_timer.stop()
        self.runner.shutdown()

    # ----- worker results -------------------------------------------------------------
    def _on_progress_changed(self, snapshot: Snapshot) -> None:
        """Keep the new rows; the refresh timer draws them (coalescing bursts)."""
        self.history.add(snapshot)
        self.progress = snapshot.progress
        self._dirty = True

    def _on_run_finished(self, result: TrainResult | None) -> None:
        """The thread is joined: draw the final history, keep the run, hand the network back."""
        self._refresh_timer.stop()
        if result is not None:
            self.history = result.history
            self._dirty = True
            self._refresh(everything=True)
            self._keep_run(result.history)
            self.controller.set_history(result.history)
        self.controller.end_training(result.state if result is not None else "failed")
        if result is not None:
            self._show_outcome(result)  # after end_training: its message is the last word
            self.keep_bar.offer()
        self._update_controls()
        self.run_changed.emit(result.state if result is not None else "failed")

    def _on_error_raised(self, title: str, message: str) -> None:
        """An exception in the worker: panel message and the controller's error dialog."""
        self._report(title, message.split("\n\n")[0], "error", detail=message)

    def _show_outcome(self, result: TrainResult) -> None:
        """Status line for every ending; a visible warning for a diverged run."""
        if result.diverged:
            self._report("Training diverged", result.message, "warning")
        else:
            self.controller.status_changed.emit(f"Training: {result.message}")
            self._show_message(f"Training: {result.message}.", "info")

    def _report(self, title: str, message: str, kind: str, detail: str | None = None) -> None:
        """Message in the panel, status bar and the controller's error dialog."""
        self._show_message(f"{title}: {message}", kind)
        self.controller.status_changed.emit(f"{title}: {message}")
        self.controller.error_raised.emit(title, detail or message)

    def _show_message(self, text: str, kind: str) -> None:
        """The non-blocking message line under the progress bar."""
        self.message_label.setText(text)
        self.message_label.setStyleSheet(
            f"QLabel {{{MESSAGE_STYLES[kind]} padding:6px; font-size:{PANEL_PT + 1}pt;}}")
        self.message_label.show()

    def _keep_run(self, history: History) -> None:
        """Add a finished/stopped run with at least one batch to the comparison."""
        if history.batches["step"] and self._config is not None and self.progress is not None:
            name = network_name(self.controller.spec, self.controller.preset_name)
            self.compare.add_run(RunRecord.from_history(
                history, self._config, self._dataset_name, self.progress.batches_per_epoch,
                network=name, continued=self._continued))

    def _refresh(self, everything: bool = False) -> None:
        """Redraw progress and the visible plots if new data arrived since the last redraw.

        Hidden tabs are drawn when they are shown (or with `everything`, at the end).
        """
        if not self._dirty or self.progress is None:
            return
        self._dirty = False
        p = self.progress
        current = self.tabs.currentWidget()
        if everything or current is self.metric_plots:
            self.metric_plots.set_curves(metric_curves(self.history, p.batches_per_epoch))
        if everything or current is self.grad_plot:
            self.grad_plot.set_norms(norm_x(self.history, p.batches_per_epoch),
                                     self.history.grad_norms)
        if not everything and current not in (self.metric_plots, self.grad_plot):
            self._dirty = True  # the hidden plots still wait for these rows
        self.progress_bar.setValue(round(1000 * p.fraction))
        self.progress_label.setText(progress_text(p))
        self.metrics_label.setText(metrics_text(p.metrics, p.elapsed))

    def _on_tab_changed(self) -> None:
        """Another tab is shown: draw it with the latest data."""
        self._dirty = self.progress is not None
        self._refresh()

    # ----- settings -------------------------------------------------------------------
    def _dataset(self) -> Dataset:
        """The chosen dataset: the controller's if it is the one named, else opened now."""
        name = self.dataset_box.currentText()
        current = self.controller.dataset
        if current is not None and current.name == name:
            return current
        if not name:
            raise ValueError("choose a dataset to train on")
        dataset = open_dataset(name, **self._dataset_options(name))
        self.controller.set_dataset(dataset)
        return dataset

    def _dataset_options(self, name: str) -> dict[str, Any]:
        """Options that make a built-in fit the network: shapes at the input's size."""
        if name != "shapes":
            return {}
        spec = self.controller.spec
        if tuple(spec.input_shape) == (1, 8, 8) and spec.num_classes == 2:
            return {"preset": "square"}  # the seeds' square-vs-other set
        return {"size": int(spec.input_shape[1])}

    def _on_dataset_changed(self) -> None:
        """The controller's dataset changed (input dock): select it here too."""
        dataset = self.controller.dataset
        if dataset is None:
            return
        if self.dataset_box.findText(dataset.name) < 0:
            self.dataset_box.addItem(dataset.name)
        self.dataset_box.setCurrentText(dataset.name)

    def _update_controls(self) -> None:
        """Settings editable only between runs; pause/stop only during one.

        While a run is in progress the settings fold into a one-line summary, so that the
        curves are in view in a short dock.
        """
        running = self.runner.is_running()
        self.settings_box.setVisible(not running)
        self.settings_summary.setVisible(running)
        if running and self._config is not None:
            self.settings_summary.setText(settings_text(self._config, self._dataset_name)
                                          + f" · {start_text(self._continued)}")
        for widget in (self.optimizer_box, self.lr_box, self.batch_box, self.epochs_box,
                       self.schedule_box, self.augment_box, self.dataset_box,
                       self.continue_box, self.start_button):
            widget.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        paused = running and self.runner.trainer.state == "paused"
        self.pause_button.setText("Resume" if paused else "Pause")

