"""Shared test set-up: Qt runs offscreen; artifacts go to tests/artifacts; no test can
touch the real home (see home_guard.py: HOME and the XDG folders point at a temporary
folder for the whole session, and a test that writes under the real home fails).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from home_guard import HOME_WRITES, REAL_HOME, TEST_ROOT

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the trainer's steps stay in this process (tests/core/test_share_processes.py turns the
# share workers on where it tests them)
os.environ["CNNVIZ_SHARE_PROCESSES"] = "0"

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(autouse=True)
def nothing_written_to_the_real_home():
    """Fail the test during which anything was written under the real home."""
    before = len(HOME_WRITES)
    yield
    new = HOME_WRITES[before:]
    assert not new, f"the test wrote under the real home {REAL_HOME}: {new}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the session's temporary home."""
    shutil.rmtree(TEST_ROOT, ignore_errors=True)


@pytest.fixture
def artifacts_dir() -> Path:
    """A folder for screenshots and other files a person looks at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
