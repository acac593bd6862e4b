"""Sessions: everything a user set up, saved to and loaded from one `.cnnviz` file.

The file is a zip (deflate) of JSON and `.npy` entries, never pickle; the layout is in
docs/sessions.md. Reading lives in `session_io`; this module holds the `Session` data,
capturing it from live objects, rebuilding them, and writing the file atomically.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from cnnviz import __version__
from cnnviz.core.layers import iter_layers
from cnnviz.core.network import Network
from cnnviz.core.optim import optimizer_from_state
from cnnviz.data.fileio import write_atomically
from cnnviz.engine.metrics import History
from cnnviz.engine.selection import Selection, selection_shapes
from cnnviz.engine.session_io import (
    FORMAT_NAME,
    FORMAT_VERSION,
    SessionError,
    read_session,
)
from cnnviz.engine.stepper import Stepper

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "Restored", "Session", "SessionError",
           "load_session", "save_session"]


class Restored(NamedTuple):
    """The live objects rebuilt from a Session."""

    net: Any
    optimizer: Any
    stepper: Any
    selection: Any
    history: Any
    extra: dict


@dataclass
class Session:
    """A whole session as plain data: spec, weights, optimizer, input, cursor, history, UI."""

    spec: dict
    state_dict: dict[str, np.ndarray]
    dtype: str = "float32"
    seed: int = 0
    optimizer_state: dict | None = None      # opt.state_dict() at the start of the pass
    input: np.ndarray | None = None          # (N, C, H, W) batch of the stepper
    labels: list[int] | None = None          # one label per input example
    cursor: int = 0                          # steps of the pass executed
    breakpoints: list[str] = field(default_factory=list)
    history: dict | None = None              # History.to_dict()
    selection: dict | None = None            # Selection.to_dict()
    rng_state: dict | None = None            # dropout masks' generator, at the pass start
    extra: dict = field(default_factory=dict)  # UI settings (JSON-able)
    app_version: str = __version__
    created: str = ""

    @classmethod
    def capture(cls, net: Any, optimizer: Any = None, stepper: Any = None,
                selection: Any = None, history: Any = None,
                extra: dict | None = None) -> Session:
        """Snapshot live objects; with a stepper, the weights are those its pass started from."""
        session = cls(spec=net.spec.to_dict(), state_dict=net.state_dict(),
                      dtype=np.dtype(net.dtype).name, seed=int(net.seed),
                      extra=dict(extra or {}))
        if _has_dropout(net):
            session.rng_state = net.rng.bit_generator.state
        if stepper is not None:
            optimizer = stepper.optimizer if optimizer is None else optimizer
            session.state_dict = stepper.pass_state_dict()
            if session.rng_state is not None:
                session.rng_state = stepper.pass_rng_state()
            session.input = np.array(stepper.x)
            session.labels = [int(v) for v in stepper.y]
            session.cursor = int(stepper.cursor)
            session.breakpoints = sorted(stepper.breakpoints)
        if optimizer is not None:
            session.optimizer_state = _pass_start_optimizer_state(stepper, optimizer)
        if history is not None:
            session.history = history if isinstance(history, dict) else history.to_dict()
        if selection is not None:
            session.selection = selection if isinstance(selection, dict) else selection.to_dict()
        return session

    def restore(self) -> Restored:
        """Rebuild net, optimizer, stepper (replayed to its cursor), selection and history.

        load_session() has validated every field, so this does not fail on a loaded file;
        a Session built by hand with bad fields raises SessionError, never ValueError.
        """
        try:
            return self._restore()
        except (ValueError, TypeError, KeyError, IndexError) as error:
            raise SessionError(f"cannot restore this session: {error}") from error

    def _restore(self) -> Restored:
        """restore() without the error translation."""
        net = Network.from_spec(self.spec, seed=self.seed, dtype=self.dtype)
        net.load_state_dict(self.state_dict)
        if self.rng_state is not None:
            net.rng.bit_generator.state = self.rng_state
        optimizer = (optimizer_from_state(self.optimizer_state)
                     if self.optimizer_state is not None else None)
        stepper = None
        if self.input is not None:
            stepper = Stepper(net, self.input, np.asarray(self.labels, dtype=np.int64), optimizer)
            optimizer = stepper.optimizer
            stepper.breakpoints = set(self.breakpoints)
            if self.cursor > 0:
                stepper.seek(stepper.steps[self.cursor - 1])
        selection = self._selection(net, 1 if self.input is None else len(self.input))
        return Restored(net, optimizer, stepper, selection, self._history(), dict(self.extra))

    def _selection(self, net: Any, batch: int) -> Any:
        """The Selection object (bounds-checked against net), or None."""
        if self.selection is None:
            return None
        shapes, inner = selection_shapes(net.spec)
        return Selection.from_dict(self.selection, shapes, batch, inner)

    def _history(self) -> Any:
        """The History object, or None."""
        if self.history is None:
            return None

        return History.from_dict(self.history)


def _has_dropout(net: Any) -> bool:
    """True if any layer of net, inside blocks too, is a dropout layer."""
    return any(layer.type == "dropout" for layer in iter_layers(net.layers))


def _pass_start_optimizer_state(stepper: Any, optimizer: Any) -> dict:
    """The optimizer state the stepper's pass started from (before its U step, if it ran)."""
    if stepper is not None:
        return stepper.pass_optimizer_state()
    return optimizer.state_dict()


def save_session(path: str | os.PathLike, session: Session) -> None:
    """Write session to path as a .cnnviz zip, atomically (temp file + os.replace)."""
    path = Path(path)
    if session.input is not None and len(session.labels or []) != len(session.input):
        raise ValueError(f"session has {len(session.input)} input examples but "
                         f"{len(session.labels or [])} labels")
    entries = _entries(session)

    def write(handle: IO[bytes]) -> None:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries.items():
                zf.writestr(name, data)

    write_atomically(path, write)


def load_session(path: str | os.PathLike) -> Session:
    """Read and fully validate a .cnnviz file; any problem raises SessionError."""
    return Session(**read_session(path))


def _entries(s: Session) -> dict[str, bytes]:
    """Every file of the zip, name → bytes."""
    created = s.created or datetime.now(UTC).isoformat(timespec="seconds")
    manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "app_version": __version__, "created": created,
                "dtype": s.dtype, "seed": int(s.seed)}
    out = {"manifest.json": _json(manifest), "spec.json": _json(s.spec)}
    for name, array in s.state_dict.items():
        out[f"weights/{name}.npy"] = _npy(array)
    if s.optimizer_state is not None:
        out.update(_optimizer_entries(s.optimizer_state))
    if s.input is not None:
        out["input.npy"] = _npy(s.input)
        out["stepper.json"] = _json({"cursor": int(s.cursor),
                                     "breakpoints": sorted(s.breakpoints),
                                     "labels": [int(v) for v in s.labels or []]})
    if s.rng_state is not None:
        out["rng.json"] = _json(s.rng_state)
    if s.history is not None:
        out["history.json"] = _json(s.history, compact=True)
    if s.selection is not None:
        out["selection.json"] = _json(s.selection)
    out["extra.json"] = _json(s.extra)
    return out


def _optimizer_entries(state: dict) -> dict[str, bytes]:
    """optimizer.json (arrays replaced by their entry names) and optimizer/<p>/<key>.npy."""
    out: dict[str, bytes] = {}
    per_param = {}
    for param, entries in state.get("state", {}).items():
        per_param[param] = {}
        for key, value in entries.items():
            if isinstance(value, np.ndarray):
                name = f"optimizer/{param}/{key}.npy"
                out[name] = _npy(value)
                per_param[param][key] = {"npy": name}
            else:
                per_param[param][key] = value
    doc = {"type": state["type"], "hyperparams": state["hyperparams"], "state": per_param}
    out["optimizer.json"] = _json(doc)
    return out


def _json(obj: Any, compact: bool = False) -> bytes:
    """UTF-8 JSON of obj (numpy scalars and tuples become plain JSON); compact for long lists."""
    if compact:
        return json.dumps(obj, separators=(",", ":"), default=_json_default).encode("utf-8")
    return json.dumps(obj, indent=1, default=_json_default).encode("utf-8")


def _json_default(obj: Any) -> Any:
    """JSON fallback for numpy values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot save a {type(obj).__name__} in a session")


def _npy(array: np.ndarray) -> bytes:
    """The .npy bytes of array (no pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()
