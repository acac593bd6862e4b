"""The shared-memory exchange between a share worker and the caller (share_mailbox.py):
values round-trip exactly, and a waiting side gives up when the pipe reports something
or the time is up, instead of spinning for ever."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np

from cnnviz.core import share_mailbox as M
from cnnviz.core.network import Network
from cnnviz.core.presets import get_preset


def test_pack_and_unpack_give_back_the_same_values_and_types():
    sums = np.random.default_rng(0).standard_normal((2, 5))
    count = np.array([123456789], dtype=np.int64)
    buffer = np.zeros(20)
    M.pack((sums, count), buffer)
    back = M.unpack(buffer, (np.empty((2, 5)), np.empty(1, np.int64)))
    np.testing.assert_array_equal(back[0], sums)
    assert back[1].dtype == np.int64 and back[1][0] == 123456789


def test_the_buffer_holds_the_largest_exchange_of_a_network():
    net = Network.from_spec(get_preset("mini-resnet"), seed=0)
    assert M.floats_needed(net) >= 2 * 32 + 1  # (Σδ, Σδ·x̂) of its 32-channel layers
    assert M.floats_needed(Network.from_spec(get_preset("lenet5"), seed=0)) == 8


def test_waiting_ends_when_the_counter_moves_or_the_pipe_speaks_or_time_is_up():
    mine, theirs = multiprocessing.Pipe()
    counter = np.zeros(1, np.int64)
    counter[0] = 3
    assert M.wait_for(counter, 3, mine, timeout=1.0)
    started = time.monotonic()
    assert not M.wait_for(counter, 4, mine, timeout=0.05)
    assert 0.05 <= time.monotonic() - started < 1.0
    theirs.send(("failed", 1, "boom"))
    assert not M.wait_for(counter, 4, mine, timeout=30.0)
    theirs.close()
    mine.recv()
    assert not M.wait_for(counter, 4, mine, timeout=30.0)  # closed: poll() says so


def test_poll_spinning_sees_a_message_and_times_out_without_one():
    mine, theirs = multiprocessing.Pipe()
    started = time.monotonic()
    assert not M.poll_spinning(mine, 0.01, 0.05)
    assert time.monotonic() - started >= 0.05
    theirs.send("go")
    assert M.poll_spinning(mine, 0.01, 0.05)
