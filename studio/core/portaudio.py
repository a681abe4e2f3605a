"""PortAudio through sounddevice, for the sound devices that play (outputs) and record
(inputs): loading it with a clear message when the library is missing, and one listing of
its devices, so a sound card reads the same in both directions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from studio.core.errors import DependencyError

HOST_API_NAMES = {"JACK Audio Connection Kit": "JACK"}


def sounddevice_module() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio library missing
        raise DependencyError(f"PortAudio is not installed ({exc}); install it: "
                              "apt-get install libportaudio2") from None
    return sounddevice


@dataclass(frozen=True, slots=True)
class PortAudioDevice:
    name: str
    index: int
    host_api: str  # short: "ALSA", "JACK", "MME" …
    channels: int  # in the direction asked for
    default: bool
    default_rate_hz: int


def default_device_index(sounddevice: Any, kind: Literal["input", "output"]) -> int | None:
    try:
        return int(sounddevice.query_devices(kind=kind)["index"])
    except Exception:  # PortAudioError: no default device that way
        return None


def portaudio_devices(kind: Literal["input", "output"],
                      sounddevice: Any = None) -> list[PortAudioDevice]:
    """Every device PortAudio can use that way, the default flagged. PortAudio reads the
    list when it starts: a device plugged in later shows after a restart of the app (or in
    a PortAudio started again, ``sounddevice``)."""
    if sounddevice is None:
        sounddevice = sounddevice_module()
    default = default_device_index(sounddevice, kind)
    apis = sounddevice.query_hostapis()
    found = []
    for info in sounddevice.query_devices():
        channels = int(info[f"max_{kind}_channels"])
        if channels <= 0:
            continue
        api = str(apis[info["hostapi"]]["name"])
        found.append(PortAudioDevice(str(info["name"]), int(info["index"]),
                                     HOST_API_NAMES.get(api, api.removeprefix("Windows ")),
                                     channels, int(info["index"]) == default,
                                     round(float(info["default_samplerate"]))))
    return found
