"""Batch statistics across the shares of a data-parallel step (core/parallel_step.py).

Batch norm in training mode normalises with the whole batch's per-channel mean and
variance, and its backward needs the whole batch's Σδ and Σδ·x̂. When a step runs in
shares, each share computes its partial sums and the shares exchange them through a
`BatchSync`: one call, `all_sum`, that every share makes the same number of times in the
same order (the same network), and that gives every share the same element-wise total,
added in share order — so the result does not depend on which thread (or, later,
process) ran which share, nor when.

A share finds its sync through `current_share()`, which `sharing(sync, index)` sets
around it; outside a share it is None and batch norm computes the statistics itself.
`ThreadExchange` is the sync for shares on threads of one process; `run_shares` runs a
step's shares with it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cnnviz.core import kernels as K
from cnnviz.core.kernels import _jit

SYNCED_TYPES = ("batchnorm2d", "batchnorm1d")  # in training mode they exchange batch sums


class BatchSync(Protocol):
    """How a share of a step exchanges partial sums with the other shares."""

    def all_sum(self, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """Element-wise sums of these arrays over every share of the step, added in share
        order; every share gets the same result. Every share calls all_sum the same number
        of times in the same order (same network)."""
        ...


@dataclass(frozen=True)
class Share:
    """The share of a data-parallel step this thread runs: its sync and its index."""

    sync: BatchSync
    index: int


_SHARE: ContextVar[Share | None] = ContextVar("cnnviz_share", default=None)


@contextmanager
def sharing(sync: BatchSync, index: int) -> Iterator[Share]:
    """Within it, this thread (context) runs share `index` of a step that syncs by `sync`."""
    token = _SHARE.set(Share(sync, index))
    try:
        yield _SHARE.get()
    finally:
        _SHARE.reset(token)


def current_share() -> Share | None:
    """The share this thread runs, or None outside a data-parallel step."""
    return _SHARE.get()


# --- batch norm's statistics in a share ------------------------------------------------


def batch_moments(x: np.ndarray, sync: BatchSync) -> tuple[np.ndarray, np.ndarray, int]:
    """The whole batch's per-channel mean and biased variance (in x's dtype, as
    `batchnorm_forward` stores them) and its count m of values per channel, from this
    share's x: two exchanges, the two passes of the whole-batch kernel (Σx, then
    Σ(x − μ)² around the float64 μ)."""
    count = np.array([x.size // x.shape[1]], dtype=np.int64)
    zeros = np.zeros(x.shape[1])
    total, count = sync.all_sum((K.batchnorm_shifted_sums(x, zeros, False), count))
    m = int(count[0])
    mu = total / m
    (squares,) = sync.all_sum((K.batchnorm_shifted_sums(x, mu, True),))
    return mu.astype(x.dtype), (squares / m).astype(x.dtype), m


def batch_delta_sums(delta: np.ndarray, x_hat: np.ndarray, sync: BatchSync) -> np.ndarray:
    """The whole batch's (Σδ, Σδ·x̂) per channel, shape (2, C), float64: one exchange.
    (Each share's δ is already scaled by its part of the batch, so the sums add up.)"""
    (sums,) = sync.all_sum((K.batchnorm_delta_sums(delta, x_hat),))
    return sums


# --- the sync for shares on threads ----------------------------------------------------


class ShareAbortedError(RuntimeError):
    """Another share of the step failed (or broke the protocol); this one stops too."""


class ThreadExchange:
    """`all_sum` among `count` shares running on threads of this process.

    Each share deposits its arrays; the last to arrive adds them in share order, and every
    share takes a copy of the total. With `turns`, the shares also run one at a time, in
    share order between exchanges (share 0 up to its first exchange, then share 1, …):
    for a busy machine, where another running thread would only take CPU from other
    processes. Both ways give the same bits. A failing share calls `abort`, and the
    others raise ShareAbortedError instead of waiting forever.
    """

    def __init__(self, count: int, turns: bool = False) -> None:
        self.count, self.turns = count, turns
        self._parts: list[tuple[np.ndarray, ...] | None] = [None] * count
        self._total: tuple[np.ndarray, ...] = ()
        self._arrived = 0  # shares that deposited in the current exchange
        self._rounds = 0  # exchanges completed
        self._turn = 0  # with turns: the share that may run
        self._finished = 0
        self._failed = False
        self._cond = threading.Condition()

    def member(self, index: int) -> BatchSync:
        """The BatchSync of share `index`."""
        return _Member(self, index)

    def start(self, index: int) -> None:
        """Called by share `index` before it computes anything (with turns: its turn)."""
        with self._cond:
            self._wait(lambda: not self.turns or self._turn == index)

    def finish(self, index: int) -> None:
        """Called by share `index` when it is done; hands on the turn."""
        with self._cond:
            self._finished += 1
            if self._arrived:  # others wait for an exchange this share never joins
                self._fail()
            self._pass_turn(index)

    def abort(self) -> None:
        """Make every waiting and later call raise ShareAbortedError."""
        with self._cond:
            self._fail()

    def all_sum(self, index: int, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """Share `index`'s side of `BatchSync.all_sum`."""
        with self._cond:
            if self._finished:  # a share has ended: this exchange can never complete
                self._fail()
            self._parts[index] = tuple(arrays)
            self._arrived += 1
            rounds = self._rounds
            if self._arrived == self.count:
                self._complete()
            self._pass_turn(index)
            self._wait(lambda: self._rounds > rounds and (not self.turns or self._turn == index))
            return tuple(a.copy() for a in self._total)

    def _complete(self) -> None:
        """Every share has deposited: the total in share order; wake the waiting ones."""
        self._total = _jit.add_in_order(self._parts)
        self._parts, self._arrived = [None] * self.count, 0
        self._rounds += 1
        self._cond.notify_all()

    def _pass_turn(self, index: int) -> None:
        if self.turns:
            self._turn = (index + 1) % self.count
            self._cond.notify_all()

    def _wait(self, ready: Callable[[], bool]) -> None:
        """Wait (holding the condition) until ready(); raise once the exchange failed."""
        while True:
            if self._failed:
                raise ShareAbortedError("another share of this step failed")
            if ready():
                return
            self._cond.wait()

    def _fail(self) -> None:
        self._failed = True
        self._cond.notify_all()


@dataclass(frozen=True)
class _Member:
    """One share's BatchSync on a ThreadExchange."""

    exchange: ThreadExchange
    index: int

    def all_sum(self, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        return self.exchange.all_sum(self.index, arrays)


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_ONE_STEP = threading.Lock()  # see run_shares


def run_shares(task: Callable[[int, int], object], parts: Sequence[tuple[int, int]]) -> list:
    """Run task(start, stop) for every share of a step that exchanges batch statistics,
    inside `sharing`: at the same time, each share on its own thread (they wait on each
    other), concurrently when a core is free, else in turns (`ThreadExchange`). Results
    in share order; a failure in any share is raised (the first that is not a
    ShareAbortedError it caused in the others).

    One such step runs at a time: its shares then always find enough pool threads (other
    callers' chunks never wait on anything), so two steps cannot hold each other's.
    """
    exchange = ThreadExchange(len(parts), turns=_jit.cores_busy())
    index = {part: k for k, part in enumerate(parts)}

    def share(start: int, stop: int) -> object:
        k = index[(start, stop)]
        try:
            exchange.start(k)
            with sharing(exchange.member(k), k):
                result = task(start, stop)
            exchange.finish(k)
            return result
        except BaseException as error:  # handed to the caller below, once all have ended
            exchange.abort()
            return _Failed(error)

    with _ONE_STEP:
        results = _jit.run_together(share, parts)
    failures = [r.error for r in results if isinstance(r, _Failed)]
    if failures:
        raise next((e for e in failures if not isinstance(e, ShareAbortedError)), failures[0])
    return results
