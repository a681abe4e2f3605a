"""What the studio knows about OBS, as one immutable value the window can show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ObsState:
    """OBS as last seen. ``error`` says what went wrong and what to do ("" when fine)."""

    connected: bool
    streaming: bool = False
    recording: bool = False
    scene: str = ""  # OBS's current program scene
    error: str = ""
    version: str = ""  # "OBS 29.0.2 · obs-websocket 5.1.0"
