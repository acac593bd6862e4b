"""Desktop integration: the .desktop entry and the AppStream metainfo validate, the icon's
PNGs have their sizes, and --install-desktop / --uninstall-desktop work under XDG_DATA_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from cnnviz import cli
from cnnviz.commands.desktop import desktop_entry, installed_files
from cnnviz.paths import APP_ID, ICON_SIZES

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ROOT / "packaging" / "linux" / f"{APP_ID}.desktop"
METAINFO = ROOT / "packaging" / "linux" / f"{APP_ID}.metainfo.xml"
ICONS = ROOT / "resources" / "icons"


def _validator(name: str) -> str:
    """The validator's path, or skip the test saying how to get it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: apt install "
                    f"{'desktop-file-utils' if name.startswith('desktop') else 'appstream'})")
    return path


def test_the_desktop_entry_validates():
    run = subprocess.run([_validator("desktop-file-validate"), str(DESKTOP)],
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "", run.stdout + run.stderr


def test_the_metainfo_validates():
    run = subprocess.run([_validator("appstreamcli"), "validate", "--no-net", str(METAINFO)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_metainfo_names_the_licences_screenshots_and_releases():
    text = METAINFO.read_text(encoding="utf-8")
    assert "<project_license>MIT AND CC-BY-SA-3.0</project_license>" in text
    assert "CC BY-SA 3.0" in text and "<release version=" in text
    for name in ("forward_conv_unit.png", "backward_maxpool.png", "update_step.png"):
        assert f"docs/images/{name}" in text and (ROOT / "docs" / "images" / name).exists()


def test_the_packaged_entry_is_the_one_cnnviz_installs():
    assert DESKTOP.read_text(encoding="utf-8") == desktop_entry("cnnviz")


def test_the_icon_pngs_have_their_sizes():
    assert (ICONS / f"{APP_ID}.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    for size in ICON_SIZES:
        image = QImage(str(ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"))
        assert (image.width(), image.height()) == (size, size)


def test_install_and_uninstall_under_xdg_data_home(capsys):
    data_home = Path(os.environ["XDG_DATA_HOME"])  # the test session's, never the real one
    files = installed_files(data_home)
    assert cli.main(["--install-desktop"]) == 0
    for target in files:
        assert target.is_file() and target.stat().st_size > 0
    entry = (data_home / "applications" / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    assert f"Icon={APP_ID}" in entry and "Exec=" in entry and "Exec=cnnviz\n" not in entry
    assert cli.main(["--uninstall-desktop"]) == 0
    assert not any(target.exists() for target in files)
    assert "removed" in capsys.readouterr().out
