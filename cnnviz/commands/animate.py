"""`cnnviz animate`: the sliding-window animation of one map as a GIF or PNG frames.

`cnnviz animate --preset lenet5 --step F0 --map 0 --out conv.gif` runs a pass up to the
step and draws the frames of `cnnviz.engine.animation` with the Explain dock's own
canvas, offscreen: one frame per window position (all of them, or the first
--positions), at --size (at least 1280×720), --fps frames a second.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from cnnviz.commands.argtypes import non_negative_int, positive_float, positive_int, seed

MIN_SIZE = (1280, 720)
EPILOG = """\
frames: one per window position, in row order — a forward conv or max pool has one per
output cell of the map, a backward conv one per cell of δ_in, a backward max pool one per
δ cell routed. --positions N keeps the first N. A .gif has exactly that many frames; a
name ending in .png writes NAME_0000.png, NAME_0001.png, … instead.
steps: F<i> of a conv2d or maxpool2d layer (the map is an output channel), B<i> of one
(the map is a channel of the layer's input delta δ_in); inside a residual block the
inner layers' steps, as `cnnviz step` lists them (F4.0, B4.3, F6.s0)."""


def register(subparsers: Any) -> None:
    """Add the `animate` parser."""
    p = subparsers.add_parser(
        "animate", help="export the sliding-window animation of a conv or pool step",
        description="Run a pass to a conv or max-pool step and export the window sliding over "
                    "one map (forward: the output fills; backward: δ_in fills) as an "
                    "animated GIF or numbered PNGs, the same frames as the Explain dock.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    net = p.add_mutually_exclusive_group()
    net.add_argument("--preset", help="a built-in network (default lenet5)")
    net.add_argument("--spec", metavar="FILE", help="a network spec (JSON file)")
    net.add_argument("--session", metavar="FILE", help="a saved .cnnviz session")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--image", metavar="FILE", help="an image file as the input")
    source.add_argument("--dataset", help="take the input from a dataset (default mnist)")
    source.add_argument("--input", metavar="FILE", help="a .npy array: (C,H,W) or (N,C,H,W)")
    p.add_argument("--digit", action="store_true", help="with --image: prepare it as MNIST")
    p.add_argument("--index", type=non_negative_int, help="which dataset example (default 0)")
    p.add_argument("--label", help="the class label(s), e.g. 7 or 3,1 for a batch")
    p.add_argument("--weights", metavar="FILE", help="a .npz of weights to load")
    p.add_argument("--seed", type=seed, default=0, help="initial weights (default 0)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    p.add_argument("--step", required=True,
                   help="F<i> or B<i> of a conv2d or maxpool2d layer (F4.0: inside a block)")
    p.add_argument("--map", type=non_negative_int, default=0, help="which map (default 0)")
    p.add_argument("--example", type=non_negative_int, default=0,
                   help="which example of the batch (default 0)")
    p.add_argument("--mode", choices=("correlation", "convolution"), default="correlation",
                   help="cross-correlation (what the layer computes, default) or true "
                        "convolution with the flipped kernel (seed 001 eq. 1–3)")
    p.add_argument("--fps", type=positive_float, default=4.0,
                   help="frames (positions) per second (default 4)")
    p.add_argument("--positions", type=positive_int,
                   help="only the first N positions (default: all)")
    p.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT, at least 1280x720")
    p.add_argument("--out", required=True, help="NAME.gif, or NAME.png for numbered PNGs")
    # what `cnnviz step`'s network and input helpers read besides the options above
    p.set_defaults(func=run, optimizer=None, lr=None, split="test")


def run(args: argparse.Namespace) -> int:
    """Build the animation, draw its frames offscreen, write the GIF or the PNGs."""
    from cnnviz.cli import UserError  # start-up: the CLI loads what a command needs

    size = _size(args.size)
    out = Path(args.out)
    if out.suffix.lower() not in (".gif", ".png"):
        raise UserError(f"--out {args.out!r}: the name must end in .gif or .png")
    if not out.parent.exists():
        raise UserError(f"--out {args.out!r}: the folder {out.parent} does not exist")
    animation = _animation(args)
    frames = animation.frames[: args.positions or len(animation.frames)]
    images = _render(animation, len(frames), size)
    written = _write(images, out, args.fps)
    print(f"wrote {written} ({len(images)} frame(s), {size[0]}×{size[1]})", file=sys.stderr)
    return 0


def _size(text: str) -> tuple[int, int]:
    """'1280x720' → (1280, 720), at least MIN_SIZE (parsed as `cnnviz screenshot` does)."""
    from cnnviz.cli import UserError  # start-up
    from cnnviz.commands.screenshot import parse_size  # start-up

    w, h = parse_size(text)
    if w < MIN_SIZE[0] or h < MIN_SIZE[1]:
        raise UserError(f"--size {text!r}: between 1280x720 and 8000x8000")
    return w, h


def _animation(args: argparse.Namespace) -> Any:
    """Run the pass to --step and take the engine's animation of --map."""
    from cnnviz.cli import UserError  # start-up
    from cnnviz.commands.step import _input, _network  # start-up: shared with `cnnviz step`
    from cnnviz.engine.animation import animation_for  # start-up
    from cnnviz.engine.stepper import Stepper  # start-up

    net, _, session_input = _network(args)
    x, y = _input(args, net, session_input)
    try:
        st = Stepper(net, x, y)
    except ValueError as error:
        raise UserError(f"--label {args.label}: {error}") from error
    if args.step not in st.steps:
        raise UserError(f"--step {args.step}: not a step of this pass; steps are "
                        f"{' '.join(st.steps)}")
    st.run_to(args.step)
    try:
        return animation_for(st, st.record(args.step), args.example, args.map, args.mode)
    except ValueError as error:
        raise UserError(f"--step {args.step} --map {args.map}: {error}") from error


def _render(animation: Any, count: int, size: tuple[int, int]) -> list[Any]:
    """The first `count` frames drawn by the GUI's AnimationCanvas, as PIL images."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QFont  # start-up: Qt only for this command

    from cnnviz.app.shell.launch import make_application  # start-up
    from cnnviz.app.widgets.animation_canvas import AnimationCanvas  # start-up

    app = make_application([sys.argv[0]])
    font = QFont(app.font())
    font.setPointSizeF(12.0 * size[1] / 720)  # the same share of the picture at any size
    app.setFont(font)
    canvas = AnimationCanvas()
    canvas.resize(*size)
    canvas.set_animation(animation)
    canvas.show()
    images = []
    for t in range(count):
        canvas.show_frame(t)
        app.processEvents()
        images.append(_to_pil(canvas.grab().toImage(), size))
    canvas.close()
    return images


def _to_pil(image: Any, size: tuple[int, int]) -> Any:
    """A QImage as an RGB PIL image of exactly `size`."""
    import numpy as np  # start-up
    from PIL import Image  # start-up: Pillow only for this command
    from PySide6.QtGui import QImage  # start-up

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    data = np.frombuffer(rgb.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    pil = Image.fromarray(data[:, : 3 * w].reshape(h, w, 3).copy(), "RGB")
    return pil if pil.size == size else pil.resize(size)


def _write(images: list[Any], out: Path, fps: float) -> str:
    """An animated GIF, or NAME_0000.png, NAME_0001.png, …; the name(s) written."""
    if out.suffix.lower() == ".gif":
        images[0].save(out, save_all=True, append_images=images[1:], loop=0,
                       duration=max(20, round(1000 / fps)), optimize=False)
        return str(out)
    names = [out.with_name(f"{out.stem}_{t:04d}.png") for t in range(len(images))]
    for image, name in zip(images, names, strict=True):
        image.save(name)
    return f"{names[0]} … {names[-1].name}"
