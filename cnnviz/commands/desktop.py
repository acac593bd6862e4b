"""`cnnviz --install-desktop` / `--uninstall-desktop`: the menu entry and icons, this user only.

Files go under $XDG_DATA_HOME (~/.local/share): applications/<id>.desktop and
icons/hicolor/<n>x<n>/apps/<id>.png plus scalable/apps/<id>.svg. The desktop entry is
generated here (Exec points at the running cnnviz); packaging/linux/<id>.desktop is the
same entry with `Exec=cnnviz`, for distributions (a test keeps the two equal).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from cnnviz.data.fileio import bundled_file
from cnnviz.paths import APP_ID, ICON_SIZES, is_frozen, user_data_home

ENTRY = """[Desktop Entry]
Type=Application
Name=cnnviz
GenericName=Backpropagation debugger
Comment=See backpropagation happen: step a convolutional network forward and back
Exec={exec}
Icon={app_id}
Terminal=false
Categories=Education;ArtificialIntelligence;
Keywords=neural network;CNN;backpropagation;deep learning;MNIST;gradient;
"""


def desktop_entry(command: str = "cnnviz") -> str:
    """The .desktop file's text with `command` on its Exec line."""
    return ENTRY.format(exec=command, app_id=APP_ID)


def launch_command() -> str:
    """How the desktop should start this cnnviz: the bundle, the `cnnviz` script, or
    `python -m cnnviz` (quoted for the Exec key when a path has spaces)."""
    if is_frozen():
        parts = [sys.executable]
    else:
        script = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
        found = script if script and script.name == "cnnviz" else shutil.which("cnnviz")
        parts = [str(found)] if found else [sys.executable, "-m", "cnnviz"]
    return " ".join(f'"{p}"' if " " in p else p for p in parts)


def installed_files(data_home: Path | None = None) -> dict[Path, object]:
    """Destination -> source (bundled file, or the entry's text) of everything installed."""
    home = data_home or user_data_home()
    icons = home / "icons" / "hicolor"
    files: dict[Path, object] = {home / "applications" / f"{APP_ID}.desktop": None}
    for size in ICON_SIZES:
        folder = f"{size}x{size}"
        files[icons / folder / "apps" / f"{APP_ID}.png"] = bundled_file(
            "icons", "hicolor", folder, "apps", f"{APP_ID}.png")
    files[icons / "scalable" / "apps" / f"{APP_ID}.svg"] = bundled_file("icons", f"{APP_ID}.svg")
    return files


def install_desktop() -> int:
    """Write the entry and the icons; returns 0."""
    for target, source in installed_files().items():
        target.parent.mkdir(parents=True, exist_ok=True)
        data = (desktop_entry(launch_command()).encode("utf-8") if source is None
                else source.read_bytes())
        target.write_bytes(data)
        print(f"installed {target}")
    _refresh_menus()
    return 0


def uninstall_desktop() -> int:
    """Remove what install_desktop wrote (missing files are fine); returns 0."""
    for target in installed_files():
        if target.exists():
            target.unlink()
            print(f"removed {target}")
    _refresh_menus()
    return 0


def _refresh_menus() -> None:
    """Ask the desktop to re-read the applications folder, when the tool is there."""
    tool = shutil.which("update-desktop-database")
    if tool:
        folder = user_data_home() / "applications"
        subprocess.run([tool, "-q", str(folder)], check=False, capture_output=True)
