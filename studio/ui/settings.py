"""Per-user studio settings, stored as versioned JSON so a shift's layout survives a restart.

Kept free of Qt types (byte blobs are base64 text) so the file stays readable and diffable.
A file that is corrupt, from an unknown version or of the wrong shape is set aside and
replaced by defaults with a warning: the operator must always get a working window.
The file may hold an OBS password and stream keys, so it is readable by its owner only;
``repr`` of a settings object never shows either.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.errors import StudioError, UserInputError
from studio.engine.actions import ACTIONS, DEFAULT_QUICK_PHRASES, QUICK_PHRASE_COUNT
from studio.outputs.base import OutputSpec, parse_target, redact
from studio.program.switcher import DEFAULT_CROSSFADE_S, MAX_CROSSFADE_S

if TYPE_CHECKING:
    from studio.inputs import InputSpec
    from studio.outputs.audio_device import AudioDeviceInfo

_LOG = logging.getLogger("studio.ui")

SCHEMA_VERSION = 6
LANGUAGES = ("system", "en", "zh_CN")  # the window's language: the system's, or one named
OBS_PASSWORD_ENV = "LIVEHOST_OBS_PASSWORD"
DEFAULT_OBS_URL = "ws://127.0.0.1:4455"
DEFAULT_STREAM_BITRATE_KBPS = 4500
STREAM_BITRATE_RANGE_KBPS = (300, 50_000)
VOLUME_RANGE_PERCENT = (0, 200)
TAKEOVER_MODES = ("human", "puppet")  # what the takeover key switches to from the AI
SETTINGS_FILE = "settings.json"
MAX_RECENT = 10
MAX_OPERATOR_CHARS = 80  # the name of the person at the desk (the as-run log's takeovers)
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
class OutputSettings:
    """Where the program goes besides the preview: the virtual camera and stream targets."""

    virtualcam: bool = False
    virtualcam_device: str = ""  # empty: the first loopback device
    stream_targets: list[str] = field(default_factory=list, repr=False)  # may hold keys
    stream_bitrate_kbps: int = DEFAULT_STREAM_BITRATE_KBPS
    record_dir: str = ""  # where File ▸ Record proposes to save; empty: the home folder


@dataclass
class AudioSettings:
    """Program audio on a sound device: on by default wherever the machine has one."""

    enabled: bool = True
    device: str = ""  # empty: the system's default output device
    volume_percent: int = 100
    muted: bool = False

    @property
    def volume(self) -> float:
        """The engine's gain, 0..2."""
        return self.volume_percent / 100


@dataclass
class InputSettings:
    """The human host's camera and microphone (``--camera``/``--mic`` text: a device, a
    media file or lavfi:GRAPH; empty: none), what the takeover key switches to, and how long
    a switch crossfades."""

    camera: str = ""
    microphone: str = ""
    takeover_mode: str = "human"  # "human" (on camera) or "puppet" (drives the avatar)
    crossfade_s: float = DEFAULT_CROSSFADE_S

    def camera_spec(self) -> InputSpec | None:
        """The camera to open; None when none is set. ``UserInputError`` on bad text."""
        from studio.inputs import parse_camera

        return parse_camera(self.camera) if self.camera.strip() else None

    def microphone_spec(self) -> InputSpec | None:
        from studio.inputs import parse_mic

        return parse_mic(self.microphone) if self.microphone.strip() else None


@dataclass
class ObsSettings:
    enabled: bool = False
    url: str = DEFAULT_OBS_URL
    password: str = field(default="", repr=False)

    def effective_password(self) -> str | None:
        """$LIVEHOST_OBS_PASSWORD wins over the stored one; None when there is none."""
        return os.environ.get(OBS_PASSWORD_ENV) or self.password or None


def stream_spec(target: str, bitrate_kbps: int) -> OutputSpec:
    """A stream target as the engine's output spec; ``UserInputError`` names what is wrong."""
    spec = parse_target(target)
    if spec.kind != "stream":
        raise UserInputError(f"{redact(target.strip())!r} is not a stream URL; enter one like "
                             "udp://HOST:PORT, srt://HOST:PORT or rtmp://HOST/APP/KEY (the "
                             "virtual camera and recordings have their own settings)")
    return OutputSpec("stream", spec.target, (("bitrate_kbps", str(bitrate_kbps)),))


def default_audio_device_present() -> bool:
    """Whether PortAudio lists a default output device (False without PortAudio)."""
    try:
        from studio.outputs.audio_device import default_output_device

        return default_output_device() is not None
    except (StudioError, OSError, ImportError):
        return False


def list_audio_devices() -> list[AudioDeviceInfo]:
    """PortAudio's output devices (``AudioDeviceInfo``), virtual cables and null sinks
    included; empty without PortAudio."""
    try:
        from studio.outputs.audio_device import list_output_devices

        return list(list_output_devices())
    except (StudioError, OSError, ImportError):
        return []


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
    outputs: OutputSettings = field(default_factory=OutputSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    obs: ObsSettings = field(default_factory=ObsSettings)
    inputs: InputSettings = field(default_factory=InputSettings)
    language: str = "system"  # one of LANGUAGES; applied when the window starts
    operator: str = ""  # who is at the desk: named in the as-run log's takeovers

    def add_recent(self, path: Path) -> None:
        text = str(path.resolve())
        self.recent_files = [text, *(p for p in self.recent_files if p != text)][:MAX_RECENT]

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}

    def output_specs(self, audio_device: str | None = None) -> list[OutputSpec]:
        """The outputs a show goes on air with: the virtual camera if enabled, every stream
        target (with the bitrate), and program audio on a sound device.

        Audio needs no flag: it is added whenever the machine has a default output device
        (or the settings name one). ``audio_device`` (``studio app --audio-device``) names
        the device and wins over the settings."""
        specs: list[OutputSpec] = []
        o = self.outputs
        if o.virtualcam:
            specs.append(OutputSpec("virtualcam", o.virtualcam_device.strip()))
        for target in o.stream_targets:
            try:
                specs.append(stream_spec(target, o.stream_bitrate_kbps))
            except StudioError:
                _LOG.warning("stream target %s skipped: not a stream URL", redact(target))
        if audio_device is not None:
            specs.append(OutputSpec("audio", audio_device.strip()))
        elif self.audio.enabled:
            if self.audio.device.strip():
                specs.append(OutputSpec("audio", self.audio.device.strip()))
            elif default_audio_device_present():
                specs.append(OutputSpec("audio", ""))
        return specs


def _migrate(data: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Bring an older file up to SCHEMA_VERSION, one version at a time.

    v1 kept the teleprompter keys flat. v3 added outputs, audio and OBS; a v2 file gains
    their defaults (the last recording folder becomes the record folder) and loses
    nothing, so that step is silent. v4 added the camera, microphone, takeover mode and
    crossfade (``inputs``); a v3 file gains their defaults (no camera, no microphone, human,
    0.2 s), silently too. v5 added the window's language: a v4 file follows the system
    locale ("system"), as before, silently. v6 added the operator's name (the as-run log's
    takeovers): a v5 file has none (""), as before, silently."""
    data = dict(data)
    if data.get("schema_version") == 1:
        data["teleprompter"] = {
            "font_size": data.pop("teleprompter_font_size", TeleprompterSettings.font_size),
            "mirror": data.pop("teleprompter_mirror", False),
        }
        data["schema_version"] = 2
        warnings.append("Settings from an older version were upgraded.")
    if data.get("schema_version") == 2:
        record_dir = data.get("last_record_dir", "")
        data["outputs"] = {"record_dir": record_dir if isinstance(record_dir, str) else ""}
        data["schema_version"] = 3
        _LOG.info("settings upgraded from schema 2 to 3")
    if data.get("schema_version") == 3:
        data["inputs"] = asdict(InputSettings())
        data["schema_version"] = 4
        _LOG.info("settings upgraded from schema 3 to 4")
    if data.get("schema_version") == 4:
        data["language"] = "system"
        data["schema_version"] = 5
        _LOG.info("settings upgraded from schema 4 to 5")
    if data.get("schema_version") == 5:
        data["operator"] = ""
        data["schema_version"] = 6
        _LOG.info("settings upgraded from schema 5 to 6")
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
    s.outputs = _outputs_from_json(take("outputs", dict, {}), warnings)
    s.audio = _audio_from_json(take("audio", dict, {}), warnings)
    s.obs = _obs_from_json(take("obs", dict, {}), warnings)
    s.inputs = _inputs_from_json(take("inputs", dict, {}), warnings)
    language = take("language", str, "system")
    if language not in LANGUAGES:
        warnings.append(f"Setting language {language!r} is not one of {', '.join(LANGUAGES)} "
                        "and was reset to system.")
        language = "system"
    s.language = language
    s.operator = operator_name(take("operator", str, ""), warnings)
    return s


def operator_name(text: str, warnings: list[str] | None = None) -> str:
    """A name as the as-run log records it: one line, spaces collapsed, at most
    ``MAX_OPERATOR_CHARS`` characters (a longer one is cut, with a warning)."""
    name = " ".join(text.split())
    if len(name) > MAX_OPERATOR_CHARS:
        if warnings is not None:
            warnings.append(f"Setting operator is longer than {MAX_OPERATOR_CHARS} characters "
                            "and was shortened.")
        name = name[:MAX_OPERATOR_CHARS].rstrip()
    return name


def _field(section: str, data: dict[str, Any], key: str, kind: type, default: Any,
           warnings: list[str]) -> Any:
    value = data.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        warnings.append(f"Setting {section}.{key} had an unexpected value and was reset.")
        return default
    return value


def _outputs_from_json(data: dict[str, Any], warnings: list[str]) -> OutputSettings:
    o = OutputSettings()
    o.virtualcam = bool(_field("outputs", data, "virtualcam", bool, o.virtualcam, warnings))
    o.virtualcam_device = _field("outputs", data, "virtualcam_device", str, "", warnings)
    low, high = STREAM_BITRATE_RANGE_KBPS
    kbps = _field("outputs", data, "stream_bitrate_kbps", int, o.stream_bitrate_kbps, warnings)
    o.stream_bitrate_kbps = kbps if low <= kbps <= high else DEFAULT_STREAM_BITRATE_KBPS
    o.record_dir = _field("outputs", data, "record_dir", str, "", warnings)
    for target in _field("outputs", data, "stream_targets", list, [], warnings):
        if not isinstance(target, str):
            continue
        try:
            stream_spec(target, o.stream_bitrate_kbps)
        except StudioError:
            warnings.append(f"Stream target {redact(target)!r} is not a stream URL and was "
                            "removed; add it again in Settings ▸ Outputs.")
            continue
        o.stream_targets.append(target.strip())
    return o


def _audio_from_json(data: dict[str, Any], warnings: list[str]) -> AudioSettings:
    a = AudioSettings()
    a.enabled = bool(_field("audio", data, "enabled", bool, a.enabled, warnings))
    a.device = _field("audio", data, "device", str, "", warnings)
    low, high = VOLUME_RANGE_PERCENT
    volume = _field("audio", data, "volume_percent", int, a.volume_percent, warnings)
    a.volume_percent = min(high, max(low, volume))
    a.muted = bool(_field("audio", data, "muted", bool, False, warnings))
    return a


def _obs_from_json(data: dict[str, Any], warnings: list[str]) -> ObsSettings:
    b = ObsSettings()
    b.enabled = bool(_field("obs", data, "enabled", bool, b.enabled, warnings))
    b.url = _field("obs", data, "url", str, DEFAULT_OBS_URL, warnings).strip() or DEFAULT_OBS_URL
    b.password = _field("obs", data, "password", str, "", warnings)
    return b


def _inputs_from_json(data: dict[str, Any], warnings: list[str]) -> InputSettings:
    i = InputSettings()
    i.camera = _field("inputs", data, "camera", str, "", warnings).strip()
    i.microphone = _field("inputs", data, "microphone", str, "", warnings).strip()
    mode = _field("inputs", data, "takeover_mode", str, i.takeover_mode, warnings)
    if mode not in TAKEOVER_MODES:
        warnings.append(f"Setting inputs.takeover_mode {mode!r} is not human or puppet and was "
                        "reset to human.")
        mode = "human"
    i.takeover_mode = mode
    fade = data.get("crossfade_s", i.crossfade_s)
    if isinstance(fade, bool) or not isinstance(fade, int | float) \
            or not 0.0 <= fade <= MAX_CROSSFADE_S:
        warnings.append(f"Setting inputs.crossfade_s must be 0 to {MAX_CROSSFADE_S:g} s and "
                        "was reset.")
        fade = DEFAULT_CROSSFADE_S
    i.crossfade_s = round(float(fade), 3)
    return i


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
        """Atomically, and readable by the owner only (0600): it may hold secrets."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".json.tmp")
        text = json.dumps(settings.to_json(), indent=2, ensure_ascii=False)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # a leftover tmp file keeps its old mode otherwise
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                fd = -1
                file.write(text)
        finally:
            if fd >= 0:
                os.close(fd)
        tmp.replace(self.path)
