"""Reading `.cnnviz` session files: every entry size-capped, parsed and validated first.

Anything wrong with a file (not a zip, not ours, newer, truncated, corrupt, inconsistent)
raises SessionError; nothing is returned until the whole file has been checked.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
import zlib
from typing import Any

import numpy as np

from cnnviz.core.optim import optimizer_from_state
from cnnviz.core.spec import SpecError, parse_spec
from cnnviz.data.fileio import NotAFileError, open_regular_file
from cnnviz.engine.metrics import History
from cnnviz.engine.selection import Selection, selection_shapes
from cnnviz.engine.steps import step_names

FORMAT_NAME = "cnnviz-session"
FORMAT_VERSION = 1
MAX_TOTAL_BYTES = 2 * 1024**3          # all entries together, uncompressed
MAX_JSON_BYTES = 16 * 1024**2          # one JSON entry (but the history)
MAX_HISTORY_BYTES = 256 * 1024**2      # history.json: one row per batch
MAX_INPUT_BYTES = 512 * 1024**2        # input.npy
NPY_HEADER_ROOM = 64 * 1024            # allowance for a .npy header
MAX_SEED = 2**63 - 1                   # as the CLI's --seed (cnnviz/commands/argtypes.py)
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError,
                TypeError, IndexError, NotImplementedError, RuntimeError, struct.error,
                OverflowError, RecursionError, AttributeError)


class SessionError(Exception):
    """A session file that cannot be used; the message says which file and why."""


def read_session(path: str | os.PathLike) -> dict[str, Any]:
    """The Session fields read from path, fully validated; SessionError on any problem."""
    try:
        with open_regular_file(path) as handle, zipfile.ZipFile(handle) as zf:
            return _Reader(zf, str(path)).read()
    except SessionError:
        raise
    except NotAFileError as error:
        reason = error.reason if error.missing else f"cannot read it ({error.reason})"
        raise SessionError(f"{path}: {reason}") from None
    except FileNotFoundError as error:
        raise SessionError(f"{path}: no such file") from error
    except (IsADirectoryError, PermissionError) as error:
        raise SessionError(f"{path}: cannot read it ({error.strerror})") from error
    except zipfile.BadZipFile as error:
        raise SessionError(f"{path}: not a cnnviz session (not a zip file: {error})") from error
    except _READ_ERRORS as error:
        raise SessionError(f"{path}: damaged session file ({type(error).__name__}: {error})") \
            from error


class _Reader:
    """Reads and checks one opened zip."""

    def __init__(self, zf: zipfile.ZipFile, path: str) -> None:
        self.zf, self.path = zf, path
        self.infos = {info.filename: info for info in zf.infolist()}

    def fail(self, what: str) -> SessionError:
        """A SessionError naming the file."""
        return SessionError(f"{self.path}: {what}")

    def read(self) -> dict[str, Any]:
        """Every field, in dependency order: manifest, spec, weights, then the rest."""
        self._check_sizes()
        manifest = self._manifest()
        spec_dict, spec = self._spec()
        shapes = {f"{layer.index}.{name}": tuple(shape)
                  for layer in spec.layers for name, shape in layer.param_shapes.items()}
        fields: dict[str, Any] = {
            "spec": spec_dict, "dtype": manifest["dtype"], "seed": manifest["seed"],
            "app_version": manifest["app_version"], "created": manifest["created"],
            "state_dict": self._weights(spec.state_shapes()),  # parameters and buffers
            "optimizer_state": self._optimizer(shapes),
        }
        fields.update(self._input(spec))
        fields["rng_state"] = self._rng_state()
        fields["history"] = self._history()
        batch = len(fields["input"]) if "input" in fields else 1
        fields["selection"] = self._selection(spec, batch)
        extra = self._json("extra.json", optional=True)
        if extra is not None and not isinstance(extra, dict):
            raise self.fail("extra.json must hold a JSON object")
        fields["extra"] = extra or {}
        return fields

    # ----- low level -----
    def _check_sizes(self) -> None:
        """Refuse encrypted entries and archives that would unpack to more than the cap."""
        total = sum(info.file_size for info in self.infos.values())
        if total > MAX_TOTAL_BYTES:
            raise self.fail(f"unpacks to {total / 1e9:.1f} GB, more than the "
                            f"{MAX_TOTAL_BYTES / 1e9:.1f} GB a session may hold")
        if any(info.flag_bits & 0x1 for info in self.infos.values()):
            raise self.fail("has encrypted entries; sessions are never encrypted")

    def _bytes(self, name: str, cap: int) -> bytes:
        """An entry's bytes, refusing entries over cap bytes (declared or actual)."""
        info = self.infos.get(name)
        if info is None:
            raise self.fail(f"has no {name}")
        if info.file_size > cap:
            raise self.fail(f"{name} is {info.file_size} bytes, more than the {cap} allowed")
        with self.zf.open(info) as f:
            data = f.read(cap + 1)
        if len(data) > cap:
            raise self.fail(f"{name} is larger than the {cap} bytes allowed")
        return data

    def _json(self, name: str, optional: bool = False, cap: int | None = None) -> Any:
        """A parsed JSON entry (None if optional and absent)."""
        if optional and name not in self.infos:
            return None
        data = self._bytes(name, cap or MAX_JSON_BYTES)
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError) as error:
            raise self.fail(f"{name} is not valid JSON ({error})") from error

    def _array(self, name: str, shape: tuple | None, cap: int) -> np.ndarray:
        """A float .npy entry, of the given shape if one is given."""
        data = self._bytes(name, cap)
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except Exception as error:  # a mangled .npy header raises SyntaxError, TokenError, ...
            raise self.fail(f"{name} is not a readable .npy array ({error})") from error
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            raise self.fail(f"{name} must hold a float array, not {getattr(array, 'dtype', '?')}")
        if shape is not None and array.shape != shape:
            raise self.fail(f"{name} has shape {array.shape}; the spec needs {shape}")
        if not np.isfinite(array).all():
            bad = int(array.size - np.count_nonzero(np.isfinite(array)))
            raise self.fail(f"{name} holds {bad} NaN or infinite value(s); a session keeps "
                            "finite numbers only")
        return array

    # ----- entries -----
    def _manifest(self) -> dict[str, Any]:
        """manifest.json: ours, and not newer than this reader."""
        if "manifest.json" not in self.infos:
            raise self.fail("not a cnnviz session (a zip file without manifest.json)")
        m = self._json("manifest.json")
        if not isinstance(m, dict) or m.get("format") != FORMAT_NAME:
            raise self.fail(f"not a cnnviz session (manifest format is not {FORMAT_NAME!r})")
        version = m.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail(f"manifest has an invalid format_version {version!r}")
        if version > FORMAT_VERSION:
            raise self.fail(f"written by a newer cnnviz ({m.get('app_version', '?')}, session "
                            f"format {version}); this version reads format {FORMAT_VERSION}")
        dtype, seed = m.get("dtype", "float32"), m.get("seed", 0)
        if dtype not in ("float32", "float64"):
            raise self.fail(f"manifest dtype must be float32 or float64, not {dtype!r}")
        if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
            raise self.fail(f"manifest seed must be a whole number in 0..2^63-1, not {seed!r}")
        return {"dtype": dtype, "seed": seed, "app_version": str(m.get("app_version", "")),
                "created": str(m.get("created", ""))}

    def _spec(self) -> tuple[dict, Any]:
        """spec.json, parsed and validated by the core."""
        spec_dict = self._json("spec.json")
        if not isinstance(spec_dict, dict):
            raise self.fail("spec.json must hold a JSON object")
        try:
            return spec_dict, parse_spec(spec_dict)
        except SpecError as error:
            raise self.fail(f"spec.json is not a valid network: {error}") from error

    def _weights(self, shapes: dict[str, tuple]) -> dict[str, np.ndarray]:
        """weights/<name>.npy for exactly the spec's parameters."""
        stored = {n[len("weights/"):-len(".npy")] for n in self.infos
                  if n.startswith("weights/") and n.endswith(".npy")}
        if stored != set(shapes):
            missing, unexpected = sorted(set(shapes) - stored), sorted(stored - set(shapes))
            raise self.fail(f"weights do not fit spec.json: missing {missing}, "
                            f"unexpected {unexpected}")
        return {name: self._array(f"weights/{name}.npy", shape, _npy_cap(shape))
                for name, shape in shapes.items()}

    def _optimizer(self, shapes: dict[str, tuple]) -> dict | None:
        """optimizer.json with its arrays, checked by rebuilding the optimizer."""
        doc = self._json("optimizer.json", optional=True)
        if doc is None:
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("state"), dict):
            raise self.fail("optimizer.json must be an object with a 'state' object")
        state = {}
        for param, entries in doc["state"].items():
            if param not in shapes or not isinstance(entries, dict):
                raise self.fail(f"optimizer.json has state for unknown parameter {param!r}")
            state[param] = {key: self._optimizer_value(param, key, value, shapes[param])
                            for key, value in entries.items()}
        result = {"type": doc.get("type"), "hyperparams": doc.get("hyperparams"), "state": state}

        try:
            optimizer_from_state(result)
        except (ValueError, TypeError, KeyError) as error:
            raise self.fail(f"optimizer.json is not a usable optimizer state: {error}") from error
        return result

    def _optimizer_value(self, param: str, key: str, value: Any, shape: tuple) -> Any:
        """One optimizer state entry: a number, or an array stored in its own .npy."""
        if isinstance(value, dict):
            name = value.get("npy")
            if name != f"optimizer/{param}/{key}.npy":
                raise self.fail(f"optimizer.json: {param}.{key} points at {name!r}")
            return self._array(name, shape, _npy_cap(shape))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value):
            raise self.fail(f"optimizer.json: {param}.{key} must be a finite number or an "
                            "array")
        return value

    def _input(self, spec: Any) -> dict[str, Any]:
        """input.npy and stepper.json (cursor, breakpoints, labels)."""
        if "input.npy" not in self.infos:
            return {}
        x = self._array("input.npy", None, MAX_INPUT_BYTES)
        if x.ndim != 4 or x.shape[1:] != tuple(spec.input_shape) or len(x) == 0:
            raise self.fail(f"input.npy has shape {x.shape}; the spec takes "
                            f"(N, {', '.join(map(str, spec.input_shape))})")
        st = self._json("stepper.json")
        if not isinstance(st, dict):
            raise self.fail("stepper.json must hold a JSON object")
        names = step_names(spec)
        n_steps = len(names)
        cursor, labels, breakpoints = st.get("cursor"), st.get("labels"), st.get("breakpoints")
        if not _is_int(cursor) or not 0 <= cursor <= n_steps:
            raise self.fail(f"stepper.json cursor must be 0..{n_steps}, not {cursor!r}")
        if (not isinstance(labels, list) or len(labels) != len(x)
                or not all(_is_int(v) and 0 <= v < spec.num_classes for v in labels)):
            raise self.fail(f"stepper.json labels must be {len(x)} integers in "
                            f"0..{spec.num_classes - 1}")
        if not isinstance(breakpoints, list) or not all(b in names for b in breakpoints):
            raise self.fail(f"stepper.json breakpoints must be step names like F0, L, B0, U; "
                            f"got {breakpoints!r}")
        return {"input": x, "labels": labels, "cursor": cursor, "breakpoints": breakpoints}

    def _rng_state(self) -> dict | None:
        """rng.json: a PCG64 state for the dropout masks, checked by loading it."""
        doc = self._json("rng.json", optional=True)
        if doc is None:
            return None
        try:
            np.random.default_rng(0).bit_generator.state = doc
        except (ValueError, TypeError, KeyError, OverflowError) as error:
            raise self.fail(f"rng.json is not a PCG64 generator state ({error})") from error
        return doc

    def _history(self) -> dict | None:
        """history.json, checked by History.from_dict."""
        doc = self._json("history.json", optional=True, cap=MAX_HISTORY_BYTES)
        if doc is None:
            return None
        try:
            return History.from_dict(doc).to_dict()
        except ValueError as error:
            raise self.fail(f"history.json: {error}") from error

    def _selection(self, spec: Any, batch: int) -> dict | None:
        """selection.json, checked by Selection.from_dict."""
        doc = self._json("selection.json", optional=True)
        if doc is None:
            return None
        if not isinstance(doc, dict):
            raise self.fail("selection.json must hold a JSON object")
        try:
            shapes, inner = selection_shapes(spec)
            Selection.from_dict(doc, shapes, batch, inner)
        except (ValueError, TypeError, KeyError) as error:
            raise self.fail(f"selection.json: {error}") from error
        return doc


def _npy_cap(shape: tuple) -> int:
    """Largest plausible .npy size for a float64 array of shape."""
    return 8 * math.prod(shape) + NPY_HEADER_ROOM


def _is_int(v: Any) -> bool:
    """A JSON integer (not a bool)."""
    return isinstance(v, int) and not isinstance(v, bool)
