"""Commands the operator sends to a live show. Typed, immutable, thread-safe to pass around.

The UI (or a hotkey, or a script) only ever creates these and hands them to
``LiveEngine.send``; the engine decides what happens and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.inputs.base import InputSpec
from studio.outputs.base import OutputSpec
from studio.program.switcher import Mode
from studio.show.model import Product


@dataclass(frozen=True, slots=True)
class SetMode:
    """Put the AI host, the human on camera or the human puppeteering the avatar on air,
    from the next frame (crossfading if a crossfade is set)."""

    mode: Mode


@dataclass(frozen=True, slots=True)
class ToggleTakeover:
    """The takeover key: from the AI to ``to`` (None: the takeover mode last used, human at
    first), from a human mode back to the AI."""

    to: Mode | None = None


@dataclass(frozen=True, slots=True)
class SetCrossfade:
    """How long a switch between modes crossfades the picture (0: a hard cut)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class SetCamera:
    """Use this camera (a device or a video file) for the human modes; ``None``: no camera
    (the human mode shows the standby picture)."""

    spec: InputSpec | None


@dataclass(frozen=True, slots=True)
class SetMicrophone:
    """Use this microphone (a device or an audio file) for the human modes; ``None``: none."""

    spec: InputSpec | None


@dataclass(frozen=True, slots=True)
class CalibrateFace:
    """The operator's face as it is now becomes the avatar's neutral pose (puppet mode)."""


@dataclass(frozen=True, slots=True)
class Interject:
    """Say ``text`` next: at the next sentence boundary, or at once with ``interrupt``."""

    text: str
    interrupt: bool = False


@dataclass(frozen=True, slots=True)
class InterruptNow:
    """Cut the current sentence (short fade) and go on with whatever is next."""


@dataclass(frozen=True, slots=True)
class SkipSentence:
    """Cut the current sentence and continue with the next one of the script."""


@dataclass(frozen=True, slots=True)
class NextProduct:
    """Leave the current product at the next sentence boundary (``now``: at once)."""

    now: bool = False


@dataclass(frozen=True, slots=True)
class GoToProduct:
    """Present this product next: at the next sentence boundary, or at once with ``now``."""

    product_id: str
    now: bool = False


@dataclass(frozen=True, slots=True)
class SetSkipped:
    """Mark a queued product skipped (or put it back in the queue)."""

    product_id: str
    skipped: bool = True


@dataclass(frozen=True, slots=True)
class ReorderQueue:
    """The new order of the run-down; every product id exactly once."""

    product_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PinProduct:
    """Keep this product's card on screen whatever is being said; ``None`` unpins."""

    product_id: str | None


@dataclass(frozen=True, slots=True)
class UpsertProduct:
    """Add a product to the end of the queue, or replace the one with the same id."""

    product: Product


@dataclass(frozen=True, slots=True)
class SetPaused:
    """Pause: the host finishes nothing new, stays alive (idle), output keeps running."""

    paused: bool


@dataclass(frozen=True, slots=True)
class TogglePause:
    pass


@dataclass(frozen=True, slots=True)
class SetStandbyImage:
    """The picture shown while a human has taken over; ``None`` for the built-in card."""

    path: Path | None


@dataclass(frozen=True, slots=True)
class StartRecording:
    path: Path


@dataclass(frozen=True, slots=True)
class StopRecording:
    pass


@dataclass(frozen=True, slots=True)
class AddOutput:
    """Start an output (a stream, a recording, the virtual camera, a sound device)."""

    spec: OutputSpec


@dataclass(frozen=True, slots=True)
class RemoveOutput:
    """Stop an output cleanly (a file is finished, a stream closed)."""

    spec: OutputSpec


@dataclass(frozen=True, slots=True)
class SetAudioVolume:
    """The sound device's volume (0..2, 1 = as mixed) and mute; streams and files keep the
    program level."""

    volume: float = 1.0
    muted: bool = False


@dataclass(frozen=True, slots=True)
class PlayTestTone:
    """A 1 kHz tone at -18 dBFS on the sound device only, to check the speakers or the cable."""

    seconds: float = 1.0


Command = (SetMode | ToggleTakeover | SetCrossfade | SetCamera | SetMicrophone
           | CalibrateFace | Interject | InterruptNow | SkipSentence | NextProduct
           | GoToProduct | SetSkipped | ReorderQueue | PinProduct | UpsertProduct | SetPaused
           | TogglePause | SetStandbyImage | StartRecording | StopRecording | AddOutput
           | RemoveOutput | SetAudioVolume | PlayTestTone)
