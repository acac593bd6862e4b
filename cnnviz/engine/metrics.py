"""Training metrics: the History of a run, progress reports and the evaluate() helper."""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnviz.data.fileio import write_bytes_atomically

BATCH_FIELDS = ("step", "epoch", "loss", "accuracy", "lr")
EVAL_FIELDS = ("step", "epoch", "test_loss", "test_accuracy")
EPOCH_FIELDS = (
    "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "seconds",
)


def _empty_table(fields: tuple[str, ...]) -> dict[str, list]:
    """A column table: one list per field."""
    return {name: [] for name in fields}


@dataclass
class History:
    """Metric history of a run as plain column lists, so plots and sessions can read it."""

    batches: dict[str, list] = field(default_factory=lambda: _empty_table(BATCH_FIELDS))
    evals: dict[str, list] = field(default_factory=lambda: _empty_table(EVAL_FIELDS))
    epochs: dict[str, list] = field(default_factory=lambda: _empty_table(EPOCH_FIELDS))
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    update_ratios: dict[str, list[float]] = field(default_factory=dict)

    # Writers append the key column ("step", or "epoch" for epochs) LAST, so a reader on
    # another thread that takes the row count first (snapshot() does) sees whole rows only.
    def add_batch(self, row: dict[str, float], norms: dict[str, float],
                  ratios: dict[str, float]) -> None:
        """Append one batch: metrics, per-parameter gradient norms and ‖Δw‖/‖w‖."""
        for name, value in norms.items():
            self.grad_norms.setdefault(name, []).append(value)
        for name, value in ratios.items():
            self.update_ratios.setdefault(name, []).append(value)
        _append_row(self.batches, BATCH_FIELDS, row)

    def add_eval(self, row: dict[str, float]) -> None:
        """Append one test evaluation."""
        _append_row(self.evals, EVAL_FIELDS, row)

    def add_epoch(self, row: dict[str, float]) -> None:
        """Append one epoch's summary."""
        _append_row(self.epochs, EPOCH_FIELDS, row)

    def snapshot(self) -> History:
        """A consistent copy (whole rows only), safe to take while another thread trains."""
        nb, ne, nep = self.num_batches, len(self.evals["step"]), self.num_epochs
        return History(
            batches={k: v[:nb] for k, v in list(self.batches.items())},
            evals={k: v[:ne] for k, v in list(self.evals.items())},
            epochs={k: v[:nep] for k, v in list(self.epochs.items())},
            grad_norms={k: v[:nb] for k, v in list(self.grad_norms.items())},
            update_ratios={k: v[:nb] for k, v in list(self.update_ratios.items())},
        )

    @property
    def num_batches(self) -> int:
        """Number of batches recorded."""
        return len(self.batches["step"])

    @property
    def num_epochs(self) -> int:
        """Number of epochs completed."""
        return len(self.epochs["epoch"])

    def epoch_row(self, i: int) -> dict[str, float]:
        """Epoch i's summary as a dict (negative indices count from the end)."""
        return {name: self.epochs[name][i] for name in EPOCH_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able copy (non-finite floats become None)."""
        return {
            "batches": _clean_table(self.batches),
            "evals": _clean_table(self.evals),
            "epochs": _clean_table(self.epochs),
            "grad_norms": _clean_table(self.grad_norms),
            "update_ratios": _clean_table(self.update_ratios),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """Rebuild from to_dict(); ValueError naming the part that is malformed."""
        if not isinstance(d, dict):
            raise ValueError("history must be a JSON object")
        return cls(
            batches=_read_table(d, "batches", BATCH_FIELDS),
            evals=_read_table(d, "evals", EVAL_FIELDS),
            epochs=_read_table(d, "epochs", EPOCH_FIELDS),
            grad_norms=_read_table(d, "grad_norms", None),
            update_ratios=_read_table(d, "update_ratios", None),
        )

    def to_csv(self, path: str | os.PathLike, table: str = "epochs") -> None:
        """Write one table ("epochs", "batches" with gradient columns, or "evals") as CSV."""
        header, rows = self.csv_rows(table)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        write_bytes_atomically(path, buffer.getvalue().encode("utf-8"))

    def csv_rows(self, table: str) -> tuple[list[str], list[list]]:
        """Header and rows of one table; batches also get grad_norm/update_ratio columns."""
        if table not in ("epochs", "batches", "evals"):
            raise ValueError(f"table must be 'epochs', 'batches' or 'evals', not {table!r}")
        columns = dict(getattr(self, table))
        if table == "batches":
            columns.update({f"grad_norm[{k}]": v for k, v in self.grad_norms.items()})
            columns.update({f"update_ratio[{k}]": v for k, v in self.update_ratios.items()})
        n = max((len(v) for v in columns.values()), default=0)
        rows = [[_cell(col, i) for col in columns.values()] for i in range(n)]
        return list(columns), rows


def _append_row(table: dict[str, list], fields: tuple[str, ...], row: dict[str, float]) -> None:
    """Append a row column by column, the first field (the row key) last."""
    for name in fields[1:]:
        table[name].append(row[name])
    table[fields[0]].append(row[fields[0]])


def _cell(column: list, i: int) -> Any:
    """A CSV cell: the value, or empty when the column is short or the value is None."""
    value = column[i] if i < len(column) else None
    return "" if value is None else value


def _clean(value: Any) -> Any:
    """Plain Python number for JSON; NaN/inf become None."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _clean_table(table: dict[str, list]) -> dict[str, list]:
    """Copy of a column table with JSON-safe values."""
    return {str(k): [_clean(v) for v in col] for k, col in table.items()}


def _read_table(d: dict, key: str, fields: tuple[str, ...] | None) -> dict[str, list]:
    """Validate one column table of a history dict; missing tables are empty."""
    table = d.get(key, {} if fields is None else _empty_table(fields))
    if not isinstance(table, dict):
        raise ValueError(f"history.{key} must be an object of columns")
    out = {}
    for name, col in table.items():
        if not isinstance(col, list) or not all(_is_number(v) for v in col):
            raise ValueError(f"history.{key}.{name} must be a list of numbers")
        out[str(name)] = [None if v is None else v for v in col]
    for name in fields or ():
        out.setdefault(name, [])
    return out


def _is_number(v: Any) -> bool:
    """True for int/float (not bool) or None (a missing value)."""
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


@dataclass
class Progress:
    """A progress report: where the run is, how long it took, how long it will take."""

    epoch: int                 # 1-based epoch in progress
    batch: int                 # 1-based batch within the epoch (batches done)
    batches_per_epoch: int
    epochs: int
    examples_seen: int
    elapsed: float             # seconds of training, pauses excluded
    eta: float                 # estimated seconds left
    metrics: dict[str, float]  # latest: loss, accuracy, lr, test_loss, test_accuracy
    state: str = "running"

    @property
    def fraction(self) -> float:
        """Fraction of the whole run done, 0..1."""
        total = self.epochs * self.batches_per_epoch
        done = (self.epoch - 1) * self.batches_per_epoch + self.batch
        return min(1.0, done / total) if total else 1.0


def evaluate(net: Any, x: np.ndarray, y: np.ndarray,
             batch_size: int = 500) -> tuple[float, float, np.ndarray]:
    """Mean loss, accuracy and predicted classes of net on (x, y), in chunks to bound memory.

    Runs in eval mode (batch norm's running statistics, no dropout), then restores the
    network's mode.
    """
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), np.zeros(0, dtype=np.int64)
    training = getattr(net, "training", False)
    if training:
        net.eval()
    try:
        return _evaluate(net, x, np.asarray(y, dtype=np.int64), batch_size)
    finally:
        if training:
            net.train()


def _evaluate(net: Any, x: np.ndarray, y: np.ndarray,
              batch_size: int) -> tuple[float, float, np.ndarray]:
    """evaluate() in the network's current mode."""
    n = len(x)
    predictions = np.empty(n, dtype=np.int64)
    total = 0.0
    for start in range(0, n, batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        logits = net.forward(xb)
        loss, _ = net.compute_loss(logits, yb)
        total += float(loss) * len(xb)
        predictions[start:start + len(xb)] = np.argmax(logits, axis=1)
    return total / n, float(np.mean(predictions == y)), predictions


def tensor_norm(a: np.ndarray) -> float:
    """Euclidean norm of a whole tensor, accumulated in float64."""
    flat = np.asarray(a, dtype=np.float64).ravel()
    return float(math.sqrt(np.dot(flat, flat)))
