"""What the window remembers between runs (QSettings): recent files, theme, preset, layout."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "cnnviz"
APPLICATION = "cnnviz"
MAX_RECENT = 8


class AppSettings:
    """Typed access to the QSettings keys the app uses; tests pass a QSettings on a temp file."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self.qsettings = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)

    def _get(self, key: str, default: object, kind: type) -> object:
        """A value of the given type, or the default when missing or unreadable."""
        try:
            value = self.qsettings.value(key, default, type=kind)
        except (TypeError, ValueError):
            return default
        return default if value is None else value

    # ----- simple values -----------------------------------------------------------------
    @property
    def theme(self) -> str:
        """'system', 'light' or 'dark'."""
        value = str(self._get("view/theme", "system", str))
        return value if value in ("system", "light", "dark") else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        self.qsettings.setValue("view/theme", value)

    @property
    def last_preset(self) -> str:
        """The preset opened last time (the window opens it again)."""
        return str(self._get("network/last_preset", "lenet5", str))

    @last_preset.setter
    def last_preset(self, value: str) -> None:
        self.qsettings.setValue("network/last_preset", value)

    @property
    def play_interval_ms(self) -> int:
        """Milliseconds between steps while playing."""
        return max(30, int(self._get("debug/play_interval_ms", 400, int)))

    @play_interval_ms.setter
    def play_interval_ms(self, value: int) -> None:
        self.qsettings.setValue("debug/play_interval_ms", int(value))

    # ----- recent files --------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """Most recent first."""
        value = self.qsettings.value("files/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent_file(self, path: str) -> list[str]:
        """Put a path at the front of the recent list."""
        files = [path] + [p for p in self.recent_files() if p != path]
        self.qsettings.setValue("files/recent", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def clear_recent_files(self) -> None:
        """Forget every recent file."""
        self.qsettings.setValue("files/recent", [])

    # ----- window layout -------------------------------------------------------------------
    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        """(geometry, dock state) saved by save_window_state."""
        geometry = self.qsettings.value("window/geometry")
        state = self.qsettings.value("window/state")
        return (geometry if isinstance(geometry, QByteArray) else None,
                state if isinstance(state, QByteArray) else None)

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        """Keep the window geometry and dock arrangement."""
        self.qsettings.setValue("window/geometry", geometry)
        self.qsettings.setValue("window/state", state)

    def sync(self) -> None:
        """Write to disk now."""
        self.qsettings.sync()
