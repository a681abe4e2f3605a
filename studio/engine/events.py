"""Events a live show emits. The UI subscribes; nothing here knows about Qt.

Events are delivered on the engine's thread to ``LiveEngine`` subscribers; a UI must hop to
its own thread before touching widgets (``studio.ui.bridge`` does that for Qt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from studio.inputs.base import InputHealth
from studio.outputs.base import OutputHealth
from studio.program.queue import QueueEntry
from studio.show.model import Product


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
class SentenceCut:
    """The sentence that started at ``start_samples`` was cut off at ``at_samples`` (a
    takeover, an interrupt, a skip): what was heard of it ends there (a short fade)."""

    product_id: str | None
    kind: str
    text: str
    start_samples: int
    at_samples: int


@dataclass(frozen=True, slots=True)
class ProductShown:
    """A product's card came on screen at ``at_samples`` (its fade-in starts there), as the
    card shows it (name, price), for the as-run log. ``by``: "ai" (the host presents it),
    "human" (a human on air went to it) or "pinned" (the operator pinned it)."""

    product: Product
    at_samples: int
    by: str = "ai"


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    """A recording began at ``at_samples``; ``metadata`` holds the container tags written
    into it (the implicit AIGC label with its ProduceID), for the as-run log."""

    name: str
    path: str
    at_samples: int
    metadata: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RunEnded:
    """The engine (or a render) stopped: its last frame ended at ``end_samples``.
    ``error``: why it stopped by itself when it failed (it could not start, or kept
    failing); "" when it stopped as asked or its run ended."""

    end_samples: int
    reason: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class FrameDelivered:
    """A frame went to the outputs. ``rgba`` is the exact picture (top row first)."""

    index: int
    pts_samples: int
    rgba: npt.NDArray[np.uint8] = field(repr=False)
    mode: str  # "ai", "human", "puppet": who is on air in this frame (a crossfade's target)
    label: bool  # the AI label is drawn: the avatar shows, or a synthetic voice speaks


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where the AI host picks up again when it is back on air: the start of this sentence."""

    product_id: str | None
    kind: str  # "intro", "script", "outro", "interjection"
    sentence_index: int  # into ScriptShown.sentences for script lines, else -1
    text: str


@dataclass(frozen=True, slots=True)
class ModeChanged:
    """Who is on air changed (takeover button, hotkey, cue) at ``at_samples``."""

    mode: str
    previous: str
    at_samples: int
    wall_time_s: float  # time.time() of the switch, for the log
    crossfade_s: float
    resume: ResumePoint | None  # where the AI resumes (shown on the teleprompter)


@dataclass(frozen=True, slots=True)
class InputsChanged:
    """The camera's and microphone's state, and the puppet's face tracking."""

    inputs: tuple[InputHealth, ...]
    face_found: bool | None  # None: not tracking (no camera, or not in puppet mode)
    tracking_ms: float
    a2f_provider: str  # where the audio-to-face model runs ("CPU", "CUDA"); "" if not loaded


@dataclass(frozen=True, slots=True)
class Status:
    mode: str
    paused: bool
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
    """Something went wrong; the output keeps running. ``fix`` says what to do.

    ``message`` and ``fix`` are English. ``code`` (e.g. "output.down") and ``args`` (name,
    value pairs) let a front end say the same in its user's language; a front end that does
    not know the code shows the English text."""

    message: str
    fix: str = ""
    severity: str = "error"  # "warning" or "error"
    code: str = ""
    args: tuple[tuple[str, str], ...] = ()


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


Event = (QueueChanged | ScriptShown | SentenceStarted | FrameDelivered | ModeChanged
         | InputsChanged | Status | Problem | ShowEnded | OutputsChanged | AudioMeter
         | ProductShown | RecordingStarted | RunEnded | SentenceCut)
