"""When Qt cannot start: one line naming what is missing, its packages, and the offscreen
hint; exit code 2 before Qt is touched."""

from __future__ import annotations

import pytest

from cnnviz import cli, qt_preflight


@pytest.fixture
def no_xcb_cursor(monkeypatch):
    """Simulate a desktop without libxcb-cursor (every other library is found)."""
    monkeypatch.setattr(qt_preflight, "library_present",
                        lambda soname: soname != "libxcb-cursor.so.0")


def test_a_missing_platform_library_is_named_with_its_packages(no_xcb_cursor):
    message = qt_preflight.qt_problem({"DISPLAY": ":0"})
    assert "\n" not in message
    assert "missing libxcb-cursor.so.0" in message
    assert "sudo apt install libxcb-cursor0" in message  # Debian/Ubuntu
    assert "sudo dnf install xcb-util-cursor" in message  # Fedora
    assert "QT_QPA_PLATFORM=offscreen" in message


def test_cnnviz_says_it_in_one_line_and_exits_2_before_qt(no_xcb_cursor, monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    monkeypatch.setattr("cnnviz.app.shell.launch.launch", lambda: pytest.fail("Qt started"))
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "libxcb-cursor.so.0" in err


def test_no_display_is_named_too(monkeypatch):
    monkeypatch.setattr(qt_preflight, "library_present", lambda soname: True)
    message = qt_preflight.qt_problem({})
    assert "no display" in message and "$DISPLAY" in message
    assert "QT_QPA_PLATFORM=offscreen" in message
    wayland = qt_preflight.qt_problem({"XDG_SESSION_TYPE": "wayland", "QT_QPA_PLATFORM": ""})
    assert "no display" in wayland and "$WAYLAND_DISPLAY" in wayland


def test_offscreen_needs_no_display_and_no_xcb_libraries(no_xcb_cursor):
    assert qt_preflight.qt_problem({"QT_QPA_PLATFORM": "offscreen"}) == ""


def test_the_real_libraries_are_found_here():
    """This machine runs the GUI tests offscreen: Qt's common libraries are present."""
    assert qt_preflight.missing_libraries("offscreen") == {}
    assert qt_preflight.plugin_file("offscreen") is not None
