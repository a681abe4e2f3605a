"""Events a live show emits. The UI subscribes; nothing here knows about Qt.

Events are delivered on the engine's thread to ``LiveEngine`` subscribers; a UI must hop to
its own thread before touching widgets (``studio.ui.bridge`` does that for Qt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from studio.outputs.base import OutputHealth
from studio.program.queue import QueueEntry


@dataclass(frozen=True, slots=True)
class QueueChanged:
    entries: tuple[QueueEntry, ...]


@dataclass(frozen=True, slots=True)
class WordTiming:
    text: str
    start_samples: int
    end_samples: int


@dataclass(frozen=True, slots=True)
class ScriptShown:
    """The script the teleprompter shows: the product's (or interjection's) sentences."""

    product_id: str | None
    title: str
    sentences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SentenceStarted:
    """A sentence went on air (its first sample is ``start_samples`` on the engine clock)."""

    product_id: str | None
    kind: str  # "intro", "script", "outro", "interjection"
    sentence_index: int  # index into ScriptShown.sentences for script lines, else -1
    text: str
    start_samples: int
    end_samples: int
    words: tuple[WordTiming, ...]


@dataclass(frozen=True, slots=True)
class FrameDelivered:
    """A frame went to the outputs. ``rgba`` is the exact picture (top row first)."""

    index: int
    pts_samples: int
    rgba: npt.NDArray[np.uint8] = field(repr=False)
    human: bool


@dataclass(frozen=True, slots=True)
class TakeoverChanged:
    human: bool
    at_samples: int
    wall_time_s: float  # time.time() of the switch, for the log


@dataclass(frozen=True, slots=True)
class Status:
    on_air: bool
    paused: bool
    human: bool
    recording: bool
    fps_target: float
    fps_delivered: float
    frames_delivered: int
    frames_dropped: int
    audio_buffer_ms: float
    audio_underruns: int
    synthesis_queue: int
    execution_provider: str
    elapsed_s: float
    product_time_left_s: float
    show_time_left_s: float


@dataclass(frozen=True, slots=True)
class Problem:
    """Something went wrong; the output keeps running. ``fix`` says what to do."""

    message: str
    fix: str = ""
    severity: str = "error"  # "warning" or "error"


@dataclass(frozen=True, slots=True)
class ShowEnded:
    """The run-down is done; the host stays on air, idle, until the operator stops.
    ``end_samples`` is where the offline render of the show would end (after the tail)."""

    end_samples: int = 0


@dataclass(frozen=True, slots=True)
class OutputsChanged:
    """Some output's state, reason or counters changed (checked every few frames)."""

    outputs: tuple[OutputHealth, ...]


@dataclass(frozen=True, slots=True)
class AudioMeter:
    """Program audio level over the last few frames, in dBFS (-inf for silence)."""

    peak_dbfs: float
    rms_dbfs: float
    at_samples: int


Event = (QueueChanged | ScriptShown | SentenceStarted | FrameDelivered | TakeoverChanged
         | Status | Problem | ShowEnded | OutputsChanged | AudioMeter)
