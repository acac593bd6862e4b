"""Sessions of a stepped pass through blocks, batch norm and dropout reopen bit for bit:
the pass-start weights and running statistics, and the dropout generator's state."""

from __future__ import annotations

import numpy as np
import pytest
from engine_nets import BLOCKS, block_batch, build, same_records, same_snapshot, snapshot

from cnnviz.core.optim import Adam
from cnnviz.engine import Session, SessionError, Stepper, load_session, save_session


@pytest.mark.parametrize("stop", ["F1", "F2.2", "F3.s1", "B3.s0", "B2.0", "U"])
def test_a_stepped_block_pass_is_restored_exactly(tmp_path, stop):
    net = build("blocks", BLOCKS, "float32")
    x, y = block_batch(net)
    st = Stepper(net, x, y, Adam(lr=0.01))
    st.run_all()  # an earlier pass moves the statistics and the mask generator
    st.new_pass()
    st.run_to(stop)
    save_session(tmp_path / "s.cnnviz", Session.capture(net, stepper=st))
    restored = load_session(tmp_path / "s.cnnviz").restore().stepper
    assert restored.cursor == st.cursor
    assert same_records(restored.records, st.records)
    assert same_snapshot(snapshot(restored), snapshot(st))
    restored.run_all()
    st.run_all()
    assert same_records(restored.records, st.records)
    assert same_snapshot(snapshot(restored), snapshot(st))


def test_a_damaged_generator_state_is_a_session_error(tmp_path):
    net = build("blocks", BLOCKS, "float32")
    session = Session.capture(net, stepper=Stepper(net, *block_batch(net)))
    assert session.rng_state is not None
    session.rng_state = {"bit_generator": "MT19937", "state": {}}
    save_session(tmp_path / "bad.cnnviz", session)
    with pytest.raises(SessionError, match="rng.json"):
        load_session(tmp_path / "bad.cnnviz")


def test_networks_without_dropout_store_no_generator_state():
    net = build("mini-resnet", None, "float32")
    assert Session.capture(net).rng_state is None
    assert np.all(Session.capture(net).state_dict["1.running_var"] == 1)
