"""`cnnviz screenshot`: render the main window offscreen at a given step and save a PNG.

For the docs, bug reports and checks: `cnnviz screenshot --preset lenet5 --step F3
--unit 3:0,2,4,4 --out shot.png`. No display is needed (Qt's offscreen platform). Inside a
residual block `--unit` names an inner layer the way the window does, by its parameters'
prefix: `--preset mini-resnet --step F4.1 --unit 4.body.1:0,2,5,6`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from cnnviz.commands.argtypes import non_negative_int, seed
from cnnviz.commands.common import add_weights_argument

MIN_SIZE = (640, 400)


def register(subparsers: Any) -> None:
    """Add the `screenshot` sub-command."""
    p = subparsers.add_parser(
        "screenshot", help="render the window or one panel at a step to PNG or SVG "
        "(no display needed)",
        description="Open the main window offscreen, run the debugger to a step, optionally "
        "select a unit, and save the window (or, with --panel, one panel at 2×) as PNG or SVG.")

    p.add_argument("--preset", default="lenet5", help="network preset (default lenet5)")
    p.add_argument("--step", default="start",
                   help="step to run to: F0…, L, B…, U, or 'start' (default)")
    p.add_argument("--out", required=True, help="the .png or .svg file to write")
    p.add_argument("--panel", help="only this panel or plot: pipeline, inspector, explain, "
                   "prediction, editor, input, training, loss, gradnorms, compare")
    p.add_argument("--format", choices=("png", "svg"),
                   help="png (a panel at 2× its size) or svg (default: from --out)")
    add_weights_argument(p)
    p.add_argument("--input", help="an image file, or mnist:INDEX (default: an MNIST 7)")
    p.add_argument("--label", type=non_negative_int, help="the label of the input (class index)")
    p.add_argument("--size", default="1440x900", help="window size WxH (default 1440x900)")
    p.add_argument("--unit", help="select a unit: LAYER:n,c,i,j (maps) or LAYER:n,k (vectors); "
                   "LAYER is a layer index, or an inner layer of a residual block as the "
                   "window names it: 4.body.1, 6.shortcut.0")
    p.add_argument("--tab", default="auto",
                   help="inspector tab: maps, input, filters, deltas, wgrads, winners, or auto "
                   "(default: the tab that follows the step, as in the window)")
    p.add_argument("--theme", choices=["light", "dark"], default="light")
    p.add_argument("--seed", type=seed, default=0, help="weight initialisation seed")
    p.set_defaults(func=run)


def parse_size(text: str) -> tuple[int, int]:
    """'1280x800' -> (1280, 800); UserError for anything else."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size {text!r}: write it as WIDTHxHEIGHT, e.g. 1280x800") from None
    if w < MIN_SIZE[0] or h < MIN_SIZE[1] or w > 8000 or h > 8000:
        raise UserError(f"--size {text!r}: between {MIN_SIZE[0]}x{MIN_SIZE[1]} and 8000x8000")
    return w, h


def parse_unit(text: str) -> tuple[str, int, tuple[int, ...]]:
    """'3:0,2,4,4' -> ("3", example 0, unit (2, 4, 4)); '4.body.1:0,2,5,6' -> ("4.body.1",
    0, (2, 5, 6)). The layer name is checked against the network in `drive`."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError

    try:
        layer, rest = text.split(":")
        numbers = tuple(int(v) for v in rest.split(","))
        if len(numbers) < 2 or not layer.strip():
            raise ValueError
        return layer.strip(), numbers[0], numbers[1:]
    except ValueError:
        raise UserError(f"--unit {text!r}: write LAYER:n,c,i,j or LAYER:n,k, "
                        "e.g. 3:0,2,4,4 or, inside a residual block, 4.body.1:0,2,5,6") from None


def load_input(text: str, shape: tuple[int, int, int]) -> tuple[Any, int | None]:
    """An input image (C, H, W) and its label from 'mnist:INDEX' or an image file."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    import numpy as np

    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.data import load_image, open_dataset

    if text.startswith("mnist:"):
        data = open_dataset("mnist")
        try:
            index = int(text.split(":", 1)[1])
        except ValueError:
            raise UserError(f"--input {text!r}: write mnist:INDEX, e.g. mnist:0") from None
        if not 0 <= index < len(data.images):
            raise UserError(f"--input {text!r}: the index must be in 0…{len(data.images) - 1}")
        return np.array(data.images[index]), int(data.labels[index])
    C, H, W = shape
    image = load_image(text, size=(H, W))
    return np.repeat(image[np.newaxis], C, axis=0), None


def run(args: argparse.Namespace) -> int:
    """Render and save; exit code 0, or a UserError for bad arguments."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.cli import UserError
    from cnnviz.commands.common import check_writable
    from cnnviz.data.fileio import write_bytes_atomically

    size = parse_size(args.size)
    unit = parse_unit(args.unit) if args.unit else None
    fmt = args.format or args.out.lower().rsplit(".", 1)[-1]
    if fmt not in ("png", "svg") or not args.out.lower().endswith(f".{fmt}"):
        raise UserError(f"--out {args.out!r}: the file name must end in .png or .svg "
                        "(and match --format)")
    out = check_writable(args.out, "--out")  # before the seconds the window takes
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    data, width, height = render(args, size, unit, fmt)
    write_bytes_atomically(out, data)
    print(f"wrote {out} ({width}×{height})", file=sys.stderr)
    return 0


def render(args: argparse.Namespace, size: tuple[int, int], unit: Any,
           fmt: str = "png") -> tuple[bytes, int, int]:
    """Build the window offscreen, drive it to the requested state, render the window or
    the panel; (file bytes, width, height in pixels of the image)."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from PySide6.QtCore import QSettings, QTemporaryDir

    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.app.shell.launch import make_application
    from cnnviz.app.shell.main_window import MainWindow

    app = make_application([sys.argv[0]])
    ctrl = _controller(args)
    temp = QTemporaryDir()
    settings = QSettings(temp.filePath("settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(ctrl, settings=settings, theme=args.theme, restore_layout=False)
    try:
        window.resize(*size)
        window.show()
        app.processEvents()  # lay out the menu bar, docks and toolbar before stepping
        drive(window, args.step, unit, args.tab)
        app.processEvents()
        return _image(window, args.panel, fmt)
    finally:
        window.close()
        window.deleteLater()


def _controller(args: argparse.Namespace) -> Any:
    """The controller on --preset with --weights (default bundled) and --input/--label."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.app.controller import AppController
    from cnnviz.cli import UserError
    from cnnviz.core.presets import get_preset

    get_preset(args.preset)  # SpecError with the list of names if unknown
    try:
        ctrl = AppController(args.preset, seed=args.seed, weights=args.weights or "bundled")
    except ValueError as error:
        raise UserError(f"--weights {args.weights or 'bundled'}: {error}") from None
    if args.input:
        image, label = load_input(args.input, tuple(ctrl.spec.input_shape))
        if not ctrl.set_input(image, args.label if args.label is not None else label):
            raise UserError(f"--input {args.input!r}: does not fit the network")
    elif args.label is not None and not ctrl.set_input(ctrl.input_image, args.label):
        raise UserError(f"--label {args.label}: not a class of this network")
    return ctrl


def _image(window: Any, panel: str | None, fmt: str) -> tuple[bytes, int, int]:
    """The window (PNG at its size) or one panel (PNG at 2×), or either as SVG."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.app.shell.figure_export import SCALE, png_bytes, render_png, render_svg
    from cnnviz.cli import UserError

    figures = window.figures.figures()
    if panel is not None and panel not in figures:
        raise UserError(f"--panel {panel!r}: one of {', '.join(figures)}")
    widget = window if panel is None else figures[panel][1]
    if fmt == "svg":
        return render_svg(widget, f"cnnviz — {panel or 'window'}"), widget.width(), \
            widget.height()
    if panel is None:
        image = window.grab().toImage()
        return png_bytes(image), image.width(), image.height()
    return render_png(widget), SCALE * widget.width(), SCALE * widget.height()


def drive(window: Any, step: str, unit: Any, tab: str) -> None:
    """Run to the step, select the unit and show the inspector tab."""
    # lazy import: the CLI loads only what this command needs (start-up time)
    from cnnviz.app.debugger.inspector import TABS
    from cnnviz.cli import UserError
    from cnnviz.engine.steps import parse_layer_name

    ctrl = window.ctrl
    errors: list[str] = []
    ctrl.error_raised.connect(lambda title, message: errors.append(f"{title}: {message}"))
    ctrl.error_raised.disconnect(window._on_error_raised)  # no dialogs offscreen
    if step != "start":
        if step not in ctrl.stepper.steps:
            raise UserError(f"--step {step!r}: this network has steps "
                            f"{', '.join(ctrl.stepper.steps)} (or 'start')")
        ctrl.run_to(step)
    if unit is not None:
        name, n, index = unit
        try:
            layer, inner = parse_layer_name(ctrl.spec, name)
        except ValueError as error:
            written = f"{name}:{','.join(str(v) for v in (n, *index))}"
            raise UserError(f"--unit {written}: {error}") from None
        ctrl.select_example(n)
        ctrl.select_unit(layer, index, inner)
    if tab != "auto" and tab not in [k for k, _ in TABS]:
        raise UserError(f"--tab {tab!r}: auto or one of {', '.join(k for k, _ in TABS)}")
    if tab != "auto":
        window.panels["inspector"].show_tab(tab)
    if errors:
        raise UserError("; ".join(errors))
