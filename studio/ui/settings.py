"""Per-user studio settings, stored as versioned JSON so a shift's layout survives a restart.

Kept free of Qt types (byte blobs are base64 text) so the file stays readable and diffable.
A file that is corrupt, from an unknown version or of the wrong shape is set aside and
replaced by defaults with a warning: the operator must always get a working window.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.engine.actions import ACTIONS, DEFAULT_QUICK_PHRASES, QUICK_PHRASE_COUNT

_LOG = logging.getLogger("studio.ui")

SCHEMA_VERSION = 2
SETTINGS_FILE = "settings.json"
MAX_RECENT = 10
APP_DIR_NAME = "livehost-studio"


def config_dir() -> Path:
    """$LIVEHOST_CONFIG_DIR when set (tests, portable installs), else the platform's config dir."""
    override = os.environ.get("LIVEHOST_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_DIR_NAME))


@dataclass
class TeleprompterSettings:
    font_size: int = 30
    mirror: bool = False
    manual: bool = False
    scroll_speed_px_s: int = 40


@dataclass
class Settings:
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    window_state: str = ""  # base64 of QMainWindow.saveState() (docks, toolbars)
    recent_files: list[str] = field(default_factory=list)
    key_overrides: dict[str, str] = field(default_factory=dict)
    quick_phrases: list[str] = field(default_factory=lambda: list(DEFAULT_QUICK_PHRASES))
    teleprompter: TeleprompterSettings = field(default_factory=TeleprompterSettings)
    standby_image: str = ""
    last_record_dir: str = ""

    def add_recent(self, path: Path) -> None:
        text = str(path.resolve())
        self.recent_files = [text, *(p for p in self.recent_files if p != text)][:MAX_RECENT]

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}


def _migrate(data: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Bring an older file up to SCHEMA_VERSION. v1 kept the teleprompter keys flat."""
    version = data.get("schema_version")
    if version == 1:
        data = dict(data)
        data["teleprompter"] = {
            "font_size": data.pop("teleprompter_font_size", TeleprompterSettings.font_size),
            "mirror": data.pop("teleprompter_mirror", False),
        }
        data["schema_version"] = 2
        warnings.append("Settings from an older version were upgraded.")
    return data


def _from_json(data: dict[str, Any], warnings: list[str]) -> Settings:
    """Read known keys field by field; a bad value falls back to its default, not the file."""
    s = Settings()
    action_ids = {a.id for a in ACTIONS}

    def take(key: str, kind: type, default: Any) -> Any:
        value = data.get(key, default)
        if not isinstance(value, kind):
            warnings.append(f"Setting {key!r} had an unexpected value and was reset.")
            return default
        return value

    s.window_geometry = take("window_geometry", str, "")
    s.window_state = take("window_state", str, "")
    s.recent_files = [p for p in take("recent_files", list, []) if isinstance(p, str)][:MAX_RECENT]
    overrides = take("key_overrides", dict, {})
    s.key_overrides = {k: v for k, v in overrides.items()
                       if k in action_ids and isinstance(v, str)}
    phrases = [p for p in take("quick_phrases", list, []) if isinstance(p, str)]
    defaults = list(DEFAULT_QUICK_PHRASES)
    s.quick_phrases = (phrases + defaults[len(phrases):])[:QUICK_PHRASE_COUNT]
    tp = take("teleprompter", dict, {})
    t = TeleprompterSettings()
    size = tp.get("font_size", t.font_size)
    t.font_size = size if isinstance(size, int) and 10 <= size <= 120 else t.font_size
    t.mirror = bool(tp.get("mirror", t.mirror))
    t.manual = bool(tp.get("manual", t.manual))
    speed = tp.get("scroll_speed_px_s", t.scroll_speed_px_s)
    t.scroll_speed_px_s = speed if isinstance(speed, int) and 0 <= speed <= 1000 else 40
    s.teleprompter = t
    s.standby_image = take("standby_image", str, "")
    s.last_record_dir = take("last_record_dir", str, "")
    return s


class SettingsStore:
    """Loads once, saves atomically; ``warnings`` says what was repaired on load."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else config_dir()
        self.path = self.directory / SETTINGS_FILE
        self.warnings: list[str] = []

    def load(self) -> Settings:
        self.warnings = []
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings()
        except OSError as exc:
            self.warnings.append(f"Could not read {self.path} ({exc.strerror}); using defaults.")
            return Settings()
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            self._set_aside(f"it is not valid settings JSON ({exc})")
            return Settings()
        version = data.get("schema_version")
        if version not in range(1, SCHEMA_VERSION + 1):
            self._set_aside(f"its schema_version {version!r} is unknown to this version")
            return Settings()
        data = _migrate(data, self.warnings)
        return _from_json(data, self.warnings)

    def _set_aside(self, why: str) -> None:
        backup = self.path.with_suffix(".json.bak")
        try:
            self.path.replace(backup)
            where = f" The old file is kept as {backup}."
        except OSError:
            where = ""
        self.warnings.append(f"Settings were reset to defaults because {why}.{where}")
        _LOG.warning("settings reset: %s", why)

    def save(self, settings: Settings) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(settings.to_json(), indent=2, ensure_ascii=False),
                       encoding="utf-8")
        tmp.replace(self.path)
