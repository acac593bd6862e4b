"""Before Qt starts: is there a display, and are the platform plugin's system libraries there?

Without them Qt prints its own plugin message and aborts (exit 134). `qt_problem()` finds
the same trouble first, without importing Qt, and says it in one line: the missing
libraries with the packages that provide them on Debian/Ubuntu and Fedora, and the
`QT_QPA_PLATFORM=offscreen` hint for headless use. Libraries are looked up the way Qt's
loader will find them (dlopen by soname), so the bundle's own copies count.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package). What libQt6Gui needs on any platform:
COMMON_LIBS = {
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libX11.so.6": ("libx11-6", "libX11"),
}
# ... and what each windowing platform plugin needs besides (libqxcb.so, libqwayland.so).
PLATFORM_LIBS = {
    "xcb": {
        "libxcb.so.1": ("libxcb1", "libxcb"),
        "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
        "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
        "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
        "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
        "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
        "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
        "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
        "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
        "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
        "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
        "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    },
    "wayland": {
        "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
        "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
        "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
    },
}
WINDOWED = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}  # platform -> its display variable
HEADLESS_HINT = "for headless use run with QT_QPA_PLATFORM=offscreen"


def platform_name(env: os._Environ | dict[str, str] | None = None) -> str:
    """The platform plugin Qt will try first: $QT_QPA_PLATFORM, else wayland in a Wayland
    session, else xcb."""
    env = os.environ if env is None else env
    chosen = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return "wayland" if chosen.startswith("wayland") else chosen
    wayland = env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY")
    return "wayland" if wayland else "xcb"


def library_present(soname: str) -> bool:
    """Whether the dynamic loader finds a library by its soname (as Qt's loader will)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_libraries(platform: str) -> dict[str, tuple[str, str]]:
    """The libraries Qt's GUI and this platform's plugin need that cannot be loaded."""
    wanted = {**COMMON_LIBS, **PLATFORM_LIBS.get(platform, {})}
    return {name: packages for name, packages in wanted.items() if not library_present(name)}


def missing_message(platform: str, missing: dict[str, tuple[str, str]]) -> str:
    """One line: what is missing, the install commands for Debian/Ubuntu and Fedora, the hint."""
    debian = " ".join(dict.fromkeys(deb for deb, _ in missing.values()))
    fedora = " ".join(dict.fromkeys(fed for _, fed in missing.values()))
    names = ", ".join(missing)
    return (f"cnnviz: Qt's {platform} platform cannot start: missing {names} "
            f"(Debian/Ubuntu: sudo apt install {debian}; Fedora: sudo dnf install {fedora}); "
            f"{HEADLESS_HINT}")


def display_message(platform: str) -> str:
    """One line: no display to open a window on."""
    variable = WINDOWED[platform]
    return (f"cnnviz: no display for Qt's {platform} platform (${variable} is not set; "
            f"neither is ${WINDOWED['wayland' if platform == 'xcb' else 'xcb']}); "
            f"{HEADLESS_HINT}")


def qt_problem(env: os._Environ | dict[str, str] | None = None) -> str:
    """Why Qt would abort at start ('' if nothing is known to be wrong); Linux only."""
    if not sys.platform.startswith("linux"):
        return ""
    env = os.environ if env is None else env
    platform = platform_name(env)
    if platform in WINDOWED and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return display_message(platform)
    missing = missing_libraries(platform)
    return missing_message(platform, missing) if missing else ""


def plugin_file(platform: str) -> Path | None:
    """The platform plugin's file inside PySide6 (found without importing Qt), if any."""
    spec = importlib.util.find_spec("PySide6")
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        for path in sorted((Path(root) / "Qt" / "plugins" / "platforms").glob(f"*q{platform}.*")):
            return path
    return None
