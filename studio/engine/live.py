"""The live engine: a show on air in real time, controlled by commands, observed by events.

One engine thread owns the GL context and renders frame after frame. Frame ``i`` is due at
``t0 + frame_start_sample(i) / rate`` (never ``sleep(1/fps)``), or, with a sound device, when
the device has consumed the audio before it, so audio and video cannot drift apart. Speech
is synthesised one sentence ahead on a worker thread. Commands are applied between frames;
an exception in a frame becomes a ``Problem`` event and a held or standby frame, never a
dead output.

A supervisor (``studio.engine.supervisor``) watches the engine through ``vitals`` and asks it,
thread-safely, to restart a component: the voice worker, an output, the renderer, or the whole
engine (everything but the show state, the clock and the outputs). When the frame loop is busy
for more than a few frame periods (a restart, a render that hangs), a stand-in thread feeds the
outputs the held picture and the program's sound at the frame rate in its place, so the outputs
neither stop nor skip a timestamp.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from studio.avatar.package import likeness_identifiers
from studio.compose.standby import render_standby
from studio.core.clock import (
    ENGINE_SAMPLE_RATE_HZ,
    MediaClock,
    MonotonicClock,
    lower_thread_priority,
)
from studio.core.errors import StudioError
from studio.core.media import AudioChunk
from studio.engine import commands as cmd
from studio.engine.events import (
    AudioMeter,
    Event,
    FrameDelivered,
    ModeChanged,
    OutputsChanged,
    Problem,
    ProductShown,
    QueueChanged,
    RecordingStarted,
    ResumePoint,
    RunEnded,
    ScriptShown,
    SentenceCut,
    SentenceStarted,
    ShowEnded,
    Status,
    WordTiming,
)
from studio.engine.frames import FrameRenderer, FrameState
from studio.engine.live_inputs import LiveInputs
from studio.engine.puppet import PuppetFace
from studio.engine.render import show_seed
from studio.face.motion import FaceMotion
from studio.face.params import blend
from studio.inputs.base import (
    AudioInput,
    InputHealth,
    InputKind,
    InputSpec,
    VideoInput,
)
from studio.outputs.audio_device import AudioDeviceOutput
from studio.outputs.base import (
    FramePolicy,
    Output,
    OutputHealth,
    OutputSpec,
    OutputState,
    ProgramFormat,
    ProgramFrame,
    build_output,
)
from studio.outputs.file import FileOutput
from studio.program.core import Pacing, Placement, ProgramCore
from studio.program.live_program import LiveProgram
from studio.program.loudness import MicLeveller, TruePeakLimiter
from studio.program.rundown import LineKind, ScriptLine
from studio.program.switcher import DEFAULT_CROSSFADE_S, Mix, Mode, Switcher
from studio.program.timeline import ProductSegment
from studio.show.model import Show
from studio.voice.types import SpeechClip, TTSEngine, VoiceInfo

LIVE_ENGINE_READY = True

RendererFactory = Callable[[Show, int, int, MediaClock, FaceMotion], FrameRenderer]

_Item = TypeVar("_Item", ProgramFrame, AudioChunk)

_LOG = logging.getLogger("studio.live")

FADE_S = 0.02  # an interrupted sentence fades out this fast: no click, no lingering
AUDIO_TARGET_S = 0.16  # how far ahead of the device the engine keeps its buffer
STATUS_EVERY_FRAMES = 10
METER_EVERY_FRAMES = 3
MAX_PRESENT_DELAY_FRAMES = 30  # a picture never waits longer than this for its sound
KEEP_SEGMENTS = 3  # product segments the live core keeps (the card on screen and its fade)
DEVICE_STALL_S = 0.75  # a device that consumes nothing for this long is treated as gone
LATE_FRAMES = 3  # a frame later than this many frame periods is dropped, not shown
SYNTHESIS_NICENESS = 10  # the voice works a sentence ahead: it yields to the frame loop
SYNTH_KEEP_RESULTS = 32  # synthesised lines kept until taken (a bounded cache)
PROBLEM_REPEAT_S = 10.0  # a persisting problem is reported again at most this often, counted
RENDER_FAILURE_LOG_EVERY = 300  # a renderer failing every frame logs its traceback this seldom
PROBLEM_TABLE_SIZE = 256  # problems remembered to deduplicate them (least recently seen out)
# A problem is known by its code and its args, less an occurrence's details (a frame index);
# these codes come every frame from one broken component, whatever their error says.
_VOLATILE_ARGS = frozenset({"index"})
_ONE_COMPONENT_CODES = frozenset({"frame.render_failed", "engine.speech_failed"})


def problem_key(problem: Problem) -> tuple[str, ...]:
    """What makes two problems the same problem (to report it once, not every frame)."""
    if not problem.code:
        return ("", problem.message)
    if problem.code in _ONE_COMPONENT_CODES:
        return (problem.code,)
    return (problem.code, *(f"{name}={value}" for name, value in problem.args
                            if name not in _VOLATILE_ARGS))


class _Seen:
    """A problem's last report (show time) and how often it came since, unreported."""

    __slots__ = ("repeats", "reported_at_samples")

    def __init__(self, reported_at_samples: int) -> None:
        self.reported_at_samples = reported_at_samples
        self.repeats = 0
# No picture out for this many frame periods while the frame loop is busy (a render over
# its time, a hang, a restart): the stand-in sends the held picture, so no output waits longer
# than that between two frames (a picture stays up at most half a period beyond its own).
STAND_IN_AFTER_PERIODS = 1.5
FIRST_PICTURE_WAIT_S = 1.0  # ... but the first picture may take this long (shaders compile)
ENGINE_RESTARTS_MAX = 3  # frames failing outside the renderer: restarts within the window
ENGINE_RESTART_WINDOW_S = 60.0  # ... beyond which the engine stops (the process restarts)


@dataclass(frozen=True, slots=True)
class Vitals:
    """What a supervisor reads of a running engine (a snapshot; any thread)."""

    running: bool  # the frame loop runs (set up, not stopped)
    frame_index: int  # the next frame to go out
    last_frame_at_s: float | None  # time.monotonic() when the last frame went out
    show_time_s: float
    frames_delivered: int
    frames_dropped: int
    frames_held: int  # frames that repeated a held picture (a fault, or a restart)
    voice_waiting_s: float  # how long the due line has been pending (0: none is)
    voice_waiting_text: str
    voice_failures_in_row: int  # lines whose synthesis raised, one after the other
    render_failing_s: float  # how long every frame has failed to render (0: it renders)
    busy_stage: str = ""  # "render" or "restart": what the frame loop is in now
    busy_s: float = 0.0  # ... for how long (the stand-in sends frames after a few periods)
    restarts: dict[str, int] = field(default_factory=dict)


class _Mute:
    """Stands in for a voice that failed to load: the engine places no speech with it."""

    name = "none"
    execution_provider = "none"
    info = VoiceInfo("none", "none", (), "unknown", ENGINE_SAMPLE_RATE_HZ, "",
                     alignments=False, description="no voice is loaded")

    def synthesize(self, sentence: str) -> SpeechClip:
        raise StudioError("no voice is loaded")


class _Synthesizer:
    """Synthesises requested lines on its own thread; results are kept until taken.

    The cache is bounded (``SYNTH_KEEP_RESULTS``, least recently asked for first out): lines
    the plan moved away from would otherwise pile up all day. A line pushed out is forgotten
    as asked for, so when the run-down comes back to it, asking again synthesises it again:
    a line is never lost, only said a little later."""

    def __init__(self, tts: TTSEngine, on_problem: Callable[[Problem], None],
                 prepare: Callable[[SpeechClip], object] | None = None,
                 loader: Callable[[], TTSEngine] | None = None) -> None:
        self._tts = tts
        self._loader = loader  # a fresh voice, loaded on this worker's thread (a restart)
        self._abandoned = False
        self._report = on_problem
        self._prepare = prepare  # work done once per clip, here rather than on the frame loop
        self._requests: queue.Queue[ScriptLine | None] = queue.Queue()
        # Synthesised (a clip) or failed (None), in the order they were last asked for.
        self._results: OrderedDict[ScriptLine, SpeechClip | None] = OrderedDict()
        self._asked: set[ScriptLine] = set()  # queued, being synthesised, or in _results
        self._keep = max(2, SYNTH_KEEP_RESULTS)  # the line due and the one after it
        self.evicted = 0  # lines pushed out of the cache (said later, synthesised again)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tts", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        lower_thread_priority(SYNTHESIS_NICENESS)  # a sentence ahead: it has time to wait
        if self._loader is not None:
            try:
                self._tts = self._loader()
            except Exception as exc:  # the old engine (kept) may still work
                _LOG.exception("the voice could not be loaded again")
                self._on_problem(Problem(f"the voice could not be loaded again: {exc}",
                                         "the voice worker goes on with the voice it had",
                                         code="voice.reload_failed",
                                         args=(("error", str(exc)),)))
        while True:
            line = self._requests.get()
            if line is None or self._abandoned:
                return
            clip: SpeechClip | None = None
            try:
                clip = self._tts.synthesize(line.text)
                if self._prepare is not None:
                    self._prepare(clip)  # its loudness: ~10 ms a sentence, off the frame loop
            except Exception as exc:
                clip = None
                self._on_problem(Problem(f"the voice could not say {line.text!r}: {exc}",
                                         "the line is skipped; check the voice files",
                                         code="voice.line_failed",
                                         args=(("text", line.text), ("error", str(exc)))))
            with self._lock:
                self._keep_result(line, clip)

    def _keep_result(self, line: ScriptLine, clip: SpeechClip | None) -> None:
        """Hold ``line``'s result (under the lock), pushing the least recently asked for out
        of a full cache and forgetting that it was asked for."""
        self._results[line] = clip
        self._results.move_to_end(line)
        self._asked.add(line)
        while len(self._results) > self._keep:
            stale, _ = self._results.popitem(last=False)
            self._asked.discard(stale)
            self.evicted += 1
            _LOG.info("synthesis cache full: %r is dropped, and synthesised again if it "
                      "comes up", stale.text)

    def _on_problem(self, problem: Problem) -> None:
        if not self._abandoned:  # a worker given up says nothing more
            self._report(problem)

    def request(self, line: ScriptLine) -> None:
        """Synthesise ``line`` unless it is queued or done; a line asked for again moves to
        the back of the cache's queue to leave."""
        with self._lock:
            if line in self._asked:
                if line in self._results:
                    self._results.move_to_end(line)
                return
            self._asked.add(line)
        self._requests.put(line)

    def put_back(self, line: ScriptLine, clip: SpeechClip) -> None:
        """A clip taken but not said (the plan changed): kept for when the line comes up."""
        with self._lock:
            self._keep_result(line, clip)

    def take(self, line: ScriptLine) -> SpeechClip | bool | None:
        """The clip, None if still pending (or not asked for), False if synthesis failed."""
        with self._lock:
            if line not in self._results:
                return None
            clip = self._results.pop(line)
            self._asked.discard(line)
            return False if clip is None else clip

    @property
    def pending(self) -> int:
        """Lines asked for and not synthesised yet."""
        with self._lock:
            return len(self._asked) - len(self._results)

    @property
    def sizes(self) -> tuple[int, int]:
        """(results held, lines asked for): both bounded, for the supervisor and the tests."""
        with self._lock:
            return len(self._results), len(self._asked)

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=10)

    def abandon(self) -> None:
        """Give this worker up (it hangs, or keeps failing): its thread is a daemon and ends
        when its call returns, if ever; nothing it does after now is reported or used."""
        self._abandoned = True
        self._requests.put(None)


class LiveEngine:
    def __init__(self, show: Show, *, width_px: int = 1280, height_px: int = 720,
                 fps: Fraction = Fraction(30), show_path: Path | None = None,
                 clock: MonotonicClock | None = None,
                 outputs: Iterable[Output | OutputSpec] = (),
                 tts: TTSEngine | None = None, realtime: bool = True,
                 stop_when_ended: bool = False,
                 camera: InputSpec | VideoInput | None = None,
                 mic: InputSpec | AudioInput | None = None,
                 mode: Mode = Mode.AI, crossfade_s: float = DEFAULT_CROSSFADE_S,
                 tts_factory: Callable[[], TTSEngine] | None = None,
                 renderer_factory: RendererFactory | None = None) -> None:
        """``tts_factory`` makes the fresh voice a restarted voice worker uses (default: the
        show's voice loaded again; with ``tts`` given and no factory, ``tts`` is reused).
        ``renderer_factory`` makes the renderer (tests inject faults there)."""
        self.width_px = width_px
        self.height_px = height_px
        self.fps = fps
        self.show_path = show_path
        self.clock = MediaClock(fps)
        self._wall = clock or MonotonicClock()
        self._outputs: list[Output] = [o if isinstance(o, Output) else build_output(o)
                                       for o in outputs]
        self._recording: Output | None = None
        self._tts = tts
        self._realtime = realtime
        self._program = LiveProgram(show)
        self._program_lock = threading.RLock()
        self._show = show
        self._avatar_ids: dict[str, str] = {}  # the likeness on air, for recordings' tags
        self._subscribers: list[Callable[[Event], None]] = []
        self._commands: queue.SimpleQueue[cmd.Command] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._frame_index = 0
        self._stop_when_ended = stop_when_ended  # headless runs end with the run-down
        self._stop_at_samples: int | None = None
        self._scheduled: list[tuple[int, int, cmd.Command]] = []  # (at, order, command) heap
        self._done = threading.Event()
        self._problems_seen: OrderedDict[tuple[str, ...], _Seen] = OrderedDict()
        self._problems_lock = threading.Lock()  # problems come from the voice's thread too
        self._camera_wanted = camera
        self._mic_wanted = mic
        self._switcher = Switcher(self.clock.sample_rate_hz, mode, crossfade_s)
        self._takeover_mode = mode if mode is not Mode.AI else Mode.HUMAN
        self._tts_factory = tts_factory
        self._renderer_factory: RendererFactory = renderer_factory or FrameRenderer
        # What the supervisor asks for (any thread), done by the engine thread between frames.
        self._requests: queue.SimpleQueue[tuple[str, str, str]] = queue.SimpleQueue()
        self._running = False
        self._t0_ns = 0
        self._last_frame_at: float | None = None
        self._delivered_index = -1  # the last frame index handed to the outputs
        self._held = 0
        self._voice_wait: tuple[ScriptLine, float] | None = None  # (the due line, since)
        self._voice_retried: set[ScriptLine] = set()  # lines already given a second try
        self._voice_failures_in_row = 0
        self._render_failing_since: float | None = None
        self._last_good_rgba: npt.NDArray[np.uint8] | None = None
        self._engine_failures: deque[float] = deque(maxlen=ENGINE_RESTARTS_MAX)
        self._feed_lock = threading.Lock()  # the frame loop or the stand-in feeds the outputs
        self._busy_stage = ""  # "render" or "restart" while the frame loop is in one
        self._busy_index = 0
        self._busy_audio: AudioChunk | None = None
        self._busy_since = 0.0
        self._sent_at = 0.0  # when the last picture went out (monotonic), by either thread
        self._device_still_since: float | None = None  # the pacing device stopped consuming
        self.restarts: dict[str, int] = {}
        self.failed = ""  # why the engine stopped by itself (it could not start, or broke)

    # --- public API -----------------------------------------------------------------------
    @property
    def sample_rate_hz(self) -> int:
        return self.clock.sample_rate_hz

    @property
    def mode(self) -> Mode:
        return self._switcher.mode

    @property
    def show(self) -> Show:
        with self._program_lock:
            return self._program.current_show()

    def save_show(self, path: Path) -> None:
        from studio.show.writer import write_show

        write_show(self.show, path)

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        self._subscribers.append(callback)

    def report(self, problem: Problem) -> None:
        """A component beside the engine (the as-run log, the supervisor) reports a problem
        to every subscriber, as the engine's own are; any thread."""
        self._emit(problem)

    def send(self, command: cmd.Command) -> None:
        self._commands.put(command)

    def send_at(self, at_samples: int, command: cmd.Command) -> None:
        """Apply ``command`` at the first frame starting at or after ``at_samples`` (cues);
        call before ``start`` or from the thread that runs frames."""
        heapq.heappush(self._scheduled, (at_samples, len(self._scheduled), command))

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the engine to stop (the run-down ended with ``stop_when_ended``, or
        ``stop``); True if it did."""
        return self._done.wait(timeout_s)

    def stop_at(self, at_samples: int) -> None:
        """End the run at this show time (the frame starting there is not sent)."""
        self._stop_at_samples = at_samples if self._stop_at_samples is None else min(
            self._stop_at_samples, at_samples)

    @property
    def ended(self) -> bool:
        """The run's last frame has gone out (the run-down ended with ``stop_when_ended``, or
        ``stop_at`` was reached)."""
        return self._stop_at_samples is not None and \
            self.clock.frame_start_sample(self._frame_index) >= self._stop_at_samples

    # --- what a supervisor reads and asks for (any thread) ------------------------------
    @property
    def vitals(self) -> Vitals:
        now = time.monotonic()
        wait = self._voice_wait
        failing = self._render_failing_since
        rate = self.clock.sample_rate_hz
        return Vitals(
            running=self._running, frame_index=self._frame_index,
            last_frame_at_s=self._last_frame_at,
            show_time_s=self.clock.frame_start_sample(self._frame_index) / rate,
            frames_delivered=getattr(self, "_delivered", 0),
            frames_dropped=getattr(self, "_dropped", 0), frames_held=self._held,
            voice_waiting_s=now - wait[1] if wait is not None else 0.0,
            voice_waiting_text=wait[0].text if wait is not None else "",
            voice_failures_in_row=self._voice_failures_in_row,
            render_failing_s=now - failing if failing is not None else 0.0,
            busy_stage=self._busy_stage,
            busy_s=now - self._busy_since if self._busy_stage else 0.0,
            restarts=dict(self.restarts))

    def restart_voice(self, reason: str) -> None:
        """A fresh voice worker (the old one hangs or keeps failing): the due line is tried
        again once, and skipped, with a Problem, if it was tried again already."""
        self._requests.put(("voice", "", reason))

    def restart_renderer(self, reason: str) -> None:
        """A fresh renderer (GL context); the held picture goes out meanwhile."""
        self._requests.put(("renderer", "", reason))

    def restart_engine(self, reason: str) -> None:
        """Everything again but the show state, the clock and the outputs: a fresh voice
        worker, renderer and face; the sentence being said is cut and said again, at the same
        product and queue position, in the same mode."""
        self._requests.put(("engine", "", reason))

    def restart_output(self, name: str, reason: str) -> None:
        """Open a down output (``OutputHealth.name``) again from its spec."""
        self._requests.put(("output", name, reason))

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="live-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def run_frames(self, n_frames: int) -> None:
        """Run ``n_frames`` on the calling thread, unpaced (tests, benchmarks, headless runs).

        Needs ``realtime=False``: then speech is placed exactly when due, whatever the CPU."""
        if self._realtime:
            raise RuntimeError("run_frames is for engines made with realtime=False")
        if not hasattr(self, "_renderer"):
            self._setup()
        for _ in range(n_frames):
            if self.ended:
                return
            self._frame()

    def close(self) -> None:
        """Release what ``run_frames`` set up (the thread-based ``stop`` does this itself)."""
        if hasattr(self, "_renderer"):
            self._shutdown()
            self._emit(RunEnded(self.clock.frame_start_sample(self._frame_index)))

    # --- the engine thread ----------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        if isinstance(event, Problem):  # the same problem every frame is one message
            deduplicated = self._deduplicate(event)
            if deduplicated is None:
                return
            event = deduplicated
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken subscriber must not stop the show
                _LOG.exception("event subscriber failed on %s", type(event).__name__)

    def _deduplicate(self, problem: Problem) -> Problem | None:
        """The problem to report, or None while the same one was reported less than
        ``PROBLEM_REPEAT_S`` of show time ago; a report after a quiet spell says how often it
        came meanwhile. The table is bounded (``PROBLEM_TABLE_SIZE``, least recently seen
        out), so a fault that persists all day costs a report every few seconds, no memory."""
        key = problem_key(problem)
        now = self.clock.frame_start_sample(self._frame_index)
        window = self.clock.s_to_samples(PROBLEM_REPEAT_S)
        with self._problems_lock:
            seen = self._problems_seen.get(key)
            if seen is None:
                self._problems_seen[key] = _Seen(now)
                while len(self._problems_seen) > PROBLEM_TABLE_SIZE:
                    self._problems_seen.popitem(last=False)
                return problem
            self._problems_seen.move_to_end(key)
            if now - seen.reported_at_samples < window:
                seen.repeats += 1
                return None
            repeats, since = seen.repeats, seen.reported_at_samples
            seen.reported_at_samples, seen.repeats = now, 0
        if not repeats:
            return problem
        since_s = (now - since) / self.clock.sample_rate_hz
        return replace(problem, message=f"{problem.message} (again: {repeats} more times in "
                       f"the last {since_s:.0f} s)",
                       args=(*problem.args, ("repeats", str(repeats)),
                             ("since_s", f"{since_s:.0f}")))

    @property
    def problems_remembered(self) -> int:
        """Entries of the (bounded) table that deduplicates problems."""
        with self._problems_lock:
            return len(self._problems_seen)

    def _setup(self) -> None:
        from studio.voice.registry import load_voice

        # A likeness without consent on record, or a changed package, never goes on air.
        self._avatar_ids = likeness_identifiers(self._show.host, self._show.base_dir)

        voice_problem: Problem | None = None
        tts_given = self._tts is not None
        if self._tts is None:
            host = self._show.host
            try:
                # One intra-op thread: the frame loop has the other core.
                self._tts = load_voice(host.voice, base_dir=self._show.base_dir,
                                       speaking_rate=host.speaking_rate,
                                       language=self._show.show.language, threads=1,
                                       pronunciations=self._show.pronunciations)
            except StudioError as exc:
                # Stay on air without a voice: the host idles, the cards and label show, and
                # the operator can take over or fix the show file.
                self._tts = _Mute()
                voice_problem = Problem(f"the voice cannot be loaded: {exc}",
                                        "the host stays on air without speaking; fix [host] "
                                        "voice in the show file and open it again",
                                        code="voice.load_failed", args=(("error", str(exc)),))
        self._standby = render_standby(self.width_px, self.height_px)
        self._face = FaceMotion(self.clock, seed=show_seed(self._show))
        self._renderer = self._new_renderer(self._show)
        self._mute = isinstance(self._tts, _Mute)
        if voice_problem is not None:
            self._emit(voice_problem)
        self._core = ProgramCore(self.clock, Pacing.for_show(self._show), self._show.show.title,
                                 self._product_name, keep_segments=KEEP_SEGMENTS,
                                 on_sentence=lambda ts, audio: self._face.add_speech(
                                     ts.phonemes, audio, ts.start_samples))
        self._synth = _Synthesizer(self._tts, self._emit, prepare=self._core.level)
        if self._tts_factory is None and not self._mute and tts_given is False:
            host, show = self._show.host, self._show
            self._tts_factory = lambda: load_voice(
                host.voice, base_dir=show.base_dir, speaking_rate=host.speaking_rate,
                language=show.show.language, threads=1, pronunciations=show.pronunciations)
        self._mic_limiter = TruePeakLimiter(self.clock.sample_rate_hz)
        self._mic_leveller = MicLeveller(self.clock.sample_rate_hz)
        self._levelled_mic: AudioInput | None = None
        self._placed: deque[Placement] = deque()  # the line being said, and the one to come
        self._last_started = -1
        self._paused = False
        self._puppet = PuppetFace(self.clock.sample_rate_hz, threaded=self._realtime)
        self._inputs = LiveInputs(self.clock.sample_rate_hz, realtime=self._realtime,
                                  puppet=self._puppet, emit=self._emit)
        self._mix = self._switcher.mix(0, 0)
        self._human_card: ProductSegment | None = None  # a product a human on air went to
        self._card_seen: tuple[ProductSegment | None, str | None] = (None, None)
        self._format = ProgramFormat(self.width_px, self.height_px, self.fps,
                                     self.clock.sample_rate_hz)
        self._present: deque[ProgramFrame] = deque()  # realtime frames wait for their sound
        self._health: tuple[OutputHealth, ...] = ()
        self._parts_noted: dict[str, int] = {}  # recording name -> parts already announced
        self.present_delay_frames = 0
        self._meter_peak = 0.0
        self._meter_energy = 0.0
        self._meter_samples = 0
        self._volume = (1.0, False)
        for output in self._outputs:
            self._open_output(output, 0)
        self._dropped = 0
        self._delivered = 0
        self._delivery_times: deque[float] = deque(maxlen=int(float(self.fps)) * 2)
        self._shown_product: str | bool | None = False
        self._ended_emitted = False
        self._last_rgba: npt.NDArray[np.uint8] = self._standby  # the last good picture
        self._render_failures = 0
        self._queue_dirty = True
        # The host's face also warms the face tracker up (mediapipe builds its graph on the
        # first face it sees).
        self._inputs.warm_rgb = self._warm_rgb
        if self._camera_wanted is not None:
            self._inputs.open_now(InputKind.CAMERA, self._camera_wanted)
        if self._mic_wanted is not None:
            self._inputs.open_now(InputKind.MIC, self._mic_wanted)
        if self.mode is not Mode.AI:
            self._emit(ModeChanged(self.mode.value, Mode.AI.value, 0, time.time(), 0.0,
                                   self._resume_point(None)))
            self._inputs.missing_for(self.mode)

    def _new_renderer(self, show: Show) -> FrameRenderer:
        """A renderer (GL context) with its cards drawn and its shaders compiled."""
        renderer = self._renderer_factory(show, self.width_px, self.height_px, self.clock,
                                          self._face)
        renderer.on_problem = lambda message: self._emit(Problem(
            message, "fix the product (image, text) in the queue; the show goes on meanwhile",
            code="product.render_failed", args=(("error", message),)))
        for product in show.products:  # now, not mid-show: a card takes ~0.1 s to draw
            with contextlib.suppress(StudioError):  # reported when the product comes on air
                renderer.card_image(product.id)  # an unreadable image: told now
        # Draw one picture now: llvmpipe compiles each shader on its first use (a few hundred
        # ms), which must not happen on air.
        # (Its face comes from a spare FaceMotion: the host's own idle life is stateful, and
        # must start at frame 0 exactly as the offline render's does.)
        warm_face = FaceMotion(self.clock).params_at_frame(0)
        renderer.draw(FrameState(0, 0, warm_face, None, 0.0))
        compositor = renderer.compositor
        self._warm_rgb = np.ascontiguousarray(compositor.read_rgba()[:, :, :3])
        compositor.read_yuv420p()
        compositor.set_camera(self._standby)  # the camera layer's first upload, now
        compositor.invalidate()
        return renderer

    def _run(self) -> None:
        try:
            self._run_paced()
        finally:
            self._running = False
            self._emit(RunEnded(self.clock.frame_start_sample(self._frame_index),
                                error=self.failed))
            self._done.set()

    def _run_paced(self) -> None:
        try:
            self._setup()
        except StudioError as exc:
            self.failed = f"the show cannot go on air: {exc}"
            self._emit(Problem(f"the show cannot go on air: {exc}", "fix the problem and "
                               "open the show again",
                               code="show.start_failed", args=(("error", str(exc)),)))
            return
        except Exception as exc:
            _LOG.exception("engine start failed")
            self.failed = f"the engine could not start: {exc}"
            self._emit(Problem(f"the engine could not start: {exc}",
                               code="engine.start_failed", args=(("error", str(exc)),)))
            return
        self._t0_ns = self._wall.now_ns()
        self._running = True
        if self._realtime:
            threading.Thread(target=self._stand_in, name="live-stand-in", daemon=True).start()
        rate = self.clock.sample_rate_hz
        try:
            while not self._stop.is_set() and not self.ended:
                index = self._frame_index
                late = False
                if self._realtime and self._pacer() is None and index > 0:
                    # A frame a little late is still shown (the renderer runs faster than
                    # real time and catches up); only a stall past the slack drops frames.
                    give_up_ns = self._t0_ns + (self.clock.frame_start_sample(
                        index + LATE_FRAMES) * 1_000_000_000 // rate)
                    late = self._wall.now_ns() > give_up_ns
                try:
                    self._frame(render=not late)
                except Exception as exc:
                    self._frame_failed(exc)
                if not self._realtime:
                    continue
                if self._pacer() is not None:
                    if not self._wait_for_audio_device():
                        # The device stopped consuming: carry on, paced by the system clock.
                        self._t0_ns = self._wall.now_ns() - (self.clock.frame_start_sample(
                            self._frame_index) * 1_000_000_000 // rate)
                else:
                    self._wall.sleep_until_ns(self._due_ns(self._frame_index))
        finally:
            self._shutdown()

    def _due_ns(self, index: int) -> int:
        return self._t0_ns + (self.clock.frame_start_sample(index) * 1_000_000_000
                              // self.clock.sample_rate_hz)

    def _frame_failed(self, exc: Exception) -> None:
        """A frame failed outside the renderer (a bug): the engine restarts itself, unless
        that keeps happening; then the loop stops, and the process (systemd) starts again."""
        _LOG.exception("frame %d failed", self._frame_index)
        if self._delivered_index >= self._frame_index:  # it went out: never send it twice
            self._frame_index = self._delivered_index + 1
        now = time.monotonic()
        failures = self._engine_failures
        if len(failures) == failures.maxlen and now - failures[0] < ENGINE_RESTART_WINDOW_S:
            self._emit(Problem(f"the engine keeps failing ({exc}); it stops",
                               "the service manager starts the show again",
                               code="engine.failed", args=(("error", str(exc)),)))
            self.failed = f"the engine keeps failing: {exc}"
            raise exc
        failures.append(now)
        self._requests.put(("engine", "", f"a frame failed: {type(exc).__name__}: {exc}"))

    # --- restarts (the engine thread) -----------------------------------------------------
    def _service_requests(self) -> None:
        while True:
            try:
                component, name, reason = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                self._restart(component, name, reason)
            except Exception as exc:
                _LOG.exception("restarting the %s failed", component)
                self._emit(Problem(f"the {component} could not be restarted: {exc}",
                                   code="restart.failed",
                                   args=(("component", component), ("error", str(exc)))))

    def _restart(self, component: str, name: str, reason: str) -> None:
        s0 = self.clock.frame_start_sample(self._frame_index)
        what = f"output {name}" if component == "output" else f"the {component}"
        began = time.monotonic()
        if component == "voice":
            self._restart_voice()
        elif component == "renderer":
            self._enter_busy("restart", self._frame_index, None)
            try:
                self._restart_renderer()
            finally:
                self._leave_busy(self._frame_index)
        elif component == "engine":
            self._restart_engine(s0)
        elif component == "output":
            if not self._restart_output(name, s0):
                return
        else:
            raise ValueError(f"no component {component!r} to restart")
        n = self.restarts[component] = self.restarts.get(component, 0) + 1
        took_ms = round((time.monotonic() - began) * 1000)
        _LOG.warning("restarted %s (#%d, %d ms): %s", what, n, took_ms, reason)
        # (Numbered: each restart is its own event, never merged with the one before.)
        self._emit(Problem(f"restarted {what} (#{n}): {reason}", "the show goes on",
                           severity="warning",
                           code="restart.voice" if component == "voice" else
                           "restart.renderer" if component == "renderer" else
                           "restart.engine" if component == "engine" else "restart.output",
                           args=(("component", component), ("name", name),
                                 ("reason", reason), ("count", str(n)),
                                 ("took_ms", str(took_ms)))))

    def _restart_voice(self) -> None:
        wait = self._voice_wait
        line = wait[0] if wait is not None else None
        if line is not None and line in self._voice_retried:
            self._voice_retried.discard(line)
            with self._program_lock:
                if self._program.peek_next_line() == line:
                    self._program.next_line()
            self._voice_wait = None
            self._emit(Problem(f"the voice did not say {line.text!r} (tried twice); "
                               "it is skipped", "the show goes on with the next line",
                               code="voice.line_skipped", args=(("text", line.text),)))
        elif line is not None:
            self._voice_retried.add(line)
            if len(self._voice_retried) > 64:  # bounded whatever happens
                self._voice_retried.clear()
            self._voice_wait = (line, time.monotonic())  # the fresh worker's time starts now
        self._synth.abandon()
        self._voice_failures_in_row = 0
        tts = self._tts
        assert tts is not None
        self._synth = _Synthesizer(tts, self._emit, prepare=self._core.level,
                                   loader=self._tts_factory)

    def _restart_renderer(self) -> None:
        old = self._renderer
        with self._program_lock:
            show = self._program.current_show()
        renderer = self._new_renderer(show)  # if this raises, the old one stays
        renderer.products.update(old.products)  # edits made on air
        self._renderer = renderer
        with contextlib.suppress(Exception):
            old.close()
        renderer.compositor.gl.make_current()

    def _restart_engine(self, s0: int) -> None:
        """The sentence on air is cut (a short fade) and said again from its start by a
        fresh voice worker; a fresh renderer and face; the show state, the mode, the clock
        and the outputs stay."""
        interrupted = self._cut(s0)
        if interrupted is not None:
            with self._program_lock:
                self._program.resume_from(interrupted)
        self._core.hold_until(s0)
        self._placed.clear()
        self._voice_wait = None

        def rebuild() -> None:
            old_face, self._face = self._face, FaceMotion(self.clock, seed=show_seed(self._show))
            try:
                self._restart_renderer()
            except Exception:
                self._face = old_face  # the old renderer stays, with the face it draws
                raise

        self._enter_busy("restart", self._frame_index, None)
        try:
            rebuild()
        finally:
            self._leave_busy(self._frame_index)
        self._restart_voice()
        self._shown_product = False  # the teleprompter gets the script again
        self._queue_dirty = True

    def _restart_output(self, name: str, s0: int) -> bool:
        dead = [o for o in self._outputs if o.name == name and not o.alive]
        if not dead:
            return False  # it came back by itself, or it is gone
        for output in dead:
            self._outputs.remove(output)
            # Closing a stuck output can take its join timeout: not on the frame loop.
            threading.Thread(target=self._close_quietly, args=(output,), daemon=True,
                             name=f"close-{output.kind}").start()
        opened = self._open_output(build_output(dead[0].spec), s0)
        self._renderer.compositor.invalidate()
        return opened

    @staticmethod
    def _close_quietly(output: Output) -> None:
        with contextlib.suppress(Exception):
            output.close()

    # --- the stand-in: the held picture while the frame loop is busy too long -------------
    def _enter_busy(self, stage: str, index: int, audio: AudioChunk | None) -> None:
        """This thread goes into work that may take long (a frame's render, a restart)."""
        with self._feed_lock:
            self._busy_stage = stage
            self._busy_index = index
            self._busy_audio = audio  # the frame's sound, read already (None: not yet)
            self._busy_since = time.monotonic()

    def _leave_busy(self, index: int) -> bool:
        """Back from the work; False if the stand-in sent frame ``index`` meanwhile."""
        with self._feed_lock:
            self._busy_stage = ""
            self._busy_audio = None
            return self._frame_index == index

    def _stand_in(self) -> None:
        """While the frame loop is busy (a render over its time, one that hangs, a restart)
        and no picture has gone out for ``STAND_IN_AFTER_PERIODS`` frame periods, send the
        held picture and the program's sound at the frame rate in its place: the outputs
        never wait longer than that, no timestamp is skipped. Only while it is busy, and
        under the feed lock, so one thread at a time feeds the outputs. A render that comes
        back after the stand-in sent its frame is not lost: its picture is the held one."""
        period_s = 1.0 / float(self.fps)
        after_s = STAND_IN_AFTER_PERIODS * period_s
        next_at: float | None = None
        wake_s = period_s / 8
        while not self._stop.wait(wake_s) and self._running:
            wake_s = period_s / 8
            with self._feed_lock:
                now = time.monotonic()
                if self._busy_stage and next_at is None and self._sent_at:
                    # Wake when the wait would pass the limit, not up to a poll later.
                    wake_s = min(wake_s, max(0.0005, self._sent_at + after_s - now))
                if not self._busy_stage:
                    next_at = None
                    continue
                if next_at is None:
                    # Before the first picture (shaders compile, the voice loads) nothing
                    # is on air to freeze: the standby picture only if that takes long.
                    if now - self._sent_at < after_s if self._sent_at else \
                            now - self._busy_since < FIRST_PICTURE_WAIT_S:
                        continue
                elif now < next_at:
                    continue
                try:
                    self._stand_in_frame()
                except Exception:
                    _LOG.exception("the stand-in frame failed")
                # At the frame rate from its first frame: behind (a busy CPU), it catches up
                # with the next frames at once, unless it is a second behind.
                next_at = now + period_s if next_at is None or now - next_at > 1.0 \
                    else next_at + period_s

    def _stand_in_frame(self) -> None:
        """One frame of the held picture (feed lock held, the frame loop busy)."""
        index = self._frame_index
        s0 = self.clock.frame_start_sample(index)
        s1 = self.clock.frame_start_sample(index + 1)
        audio = self._busy_audio if self._busy_audio is not None and \
            self._busy_index == index else self._core.audio_between(s0, s1)
        rgba = self._held_picture()
        self._last_rgba = rgba
        self._held += 1
        self._delivered += 1
        self._delivery_times.append(time.monotonic())
        self._delivered_index = index
        self._deliver(ProgramFrame(index, s0, rgba, None, self._mix.label,
                                   self._mix.mode.value), audio)
        self._frame_index = index + 1
        self._last_frame_at = time.monotonic()

    def _held_picture(self) -> npt.NDArray[np.uint8]:
        """The last good picture (the standby picture before there is one)."""
        good = self._last_good_rgba
        return self._standby if good is None else good

    def _pacer(self) -> Output | None:
        """The sound device whose clock paces the show, if one is playing."""
        return next((o for o in self._outputs if o.paces and o.alive), None)

    def _wait_for_audio_device(self) -> bool:
        """Wait until the device has played down to the target; False if it went away.

        A device that stops consuming (its server quit, it was unplugged) does not stop the
        show: after one frame period with no sample played, the next frame goes out on the
        system clock, and so on, until the device plays again or has been still for
        ``DEVICE_STALL_S``; then it is reported lost and the system clock paces the show."""
        pacer = self._pacer()
        assert pacer is not None
        target = self.clock.s_to_samples(AUDIO_TARGET_S)
        period_s = 1.0 / float(self.fps)
        moved_at = time.monotonic()
        last_level = pacer.buffered_samples()
        while last_level > target and not self._stop.is_set():
            time.sleep(0.002)
            level = pacer.buffered_samples()
            now = time.monotonic()
            if level < last_level:
                moved_at, last_level = now, level
                self._device_still_since = None
                continue
            if self._device_still_since is None:
                self._device_still_since = moved_at
            if not pacer.alive or now - self._device_still_since > DEVICE_STALL_S:
                self._device_still_since = None
                pacer.lost("the device stopped playing (unplugged, or its server quit)")
                self._emit(Problem(
                    f"{pacer.name}: the audio device stopped playing (unplugged, or its "
                    "server quit)", "the show goes on, paced by the system clock; the output "
                    "opens the device again by itself when it is back",
                                   code="audio.device_stopped", args=(("name", pacer.name),)))
                self._present_delay_changed()
                return False
            if now - moved_at >= period_s:
                return True  # still for a frame period: the next frame on the system clock
        return True

    # --- outputs ----------------------------------------------------------------------------
    def _open_output(self, output: Output, s0: int) -> bool:
        try:
            if isinstance(output, FileOutput):
                output.avatar = dict(self._avatar_ids)
            output.open(self._format, s0)
            if isinstance(output, AudioDeviceOutput):
                output.set_volume(*self._volume)
            if isinstance(output, FileOutput):
                self._recording_started(output, output.path, s0)
        except Exception as exc:
            if not isinstance(exc, StudioError):  # a bug, not the operator's setup
                _LOG.exception("output %s failed to start", output.name)
            reason = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
            output.set_state(OutputState.DOWN, reason)
            self._emit(Problem(f"output {output.name} cannot start: {exc}",
                               "the show goes on with the other outputs",
                               code="output.start_failed",
                               args=(("name", output.name), ("error", str(exc)))))
            return False
        finally:
            if output not in self._outputs:
                self._outputs.append(output)
            self._present_delay_changed()
        return True

    def _close_output(self, output: Output, forget: bool = True) -> None:
        try:
            output.close()
        except Exception as exc:
            _LOG.exception("output %s failed to close", output.name)
            output.set_state(OutputState.DOWN, f"could not be finished: {exc}")
            self._emit(Problem(f"output {output.name} could not be finished: {exc}",
                               code="output.finish_failed",
                               args=(("name", output.name), ("error", str(exc)))))
        if forget and output in self._outputs:
            self._outputs.remove(output)
        if output is self._recording:
            self._recording = None
        self._present_delay_changed()

    def _present_delay_changed(self) -> None:
        """Realtime pictures (preview, virtual camera) wait as long as the sound device
        takes to play what the engine sends, so picture and sound leave together."""
        pacer = self._pacer()
        delay = 0
        if pacer is not None:
            latency = self.clock.s_to_samples(AUDIO_TARGET_S) + pacer.latency_samples()
            delay = max(0, round(latency * float(self.fps) / self.clock.sample_rate_hz))
        self.present_delay_frames = delay

    def _deliver(self, frame: ProgramFrame | None, audio: AudioChunk) -> None:
        """Hand this frame's picture (None: dropped) and sound to every output."""
        for output in self._outputs:
            if output.alive:
                self._feed(output, output.send_audio, audio)
                if frame is not None and not output.realtime:
                    self._feed(output, output.send_video, frame)
        if frame is not None:
            self._sent_at = time.monotonic()
            self._present.append(frame)
        self._present_due()

    def _present_due(self) -> None:
        """Show the realtime pictures whose sound is being heard now. With a sound device
        the engine runs ahead by the device's buffer; each picture waits until the DAC
        plays its first sample (PortAudio's DAC time), within half a frame. Before the
        device has played, and without one, the fixed ``present_delay_frames`` rule holds."""
        pacer = self._pacer()
        half_frame_s = 0.5 / float(self.fps)
        while self._present:
            heard_at = pacer.heard_at_monotonic_s(self._present[0].pts_samples) \
                if pacer is not None else None
            if heard_at is None:
                if len(self._present) <= self.present_delay_frames:
                    break
            elif heard_at - time.monotonic() > half_frame_s and \
                    len(self._present) <= MAX_PRESENT_DELAY_FRAMES:
                break
            shown = self._present.popleft()
            self._emit(FrameDelivered(shown.index, shown.pts_samples, shown.rgba, shown.mode,
                                      shown.synthetic))
            for output in self._outputs:
                if output.realtime and output.alive:
                    self._feed(output, output.send_video, shown)

    @staticmethod
    def _feed(output: Output, send: Callable[[_Item], None], item: _Item) -> None:
        """Hand one item to an output; an exception takes that output down, not the show."""
        try:
            send(item)
        except Exception as exc:
            _LOG.exception("output %s failed", output.name)
            output.set_state(OutputState.DOWN, f"{type(exc).__name__}: {exc}")

    def _meter(self, audio: AudioChunk) -> None:
        samples = audio.samples
        if samples.size:
            self._meter_peak = max(self._meter_peak, float(np.abs(samples).max()))
            self._meter_energy += float(np.dot(samples, samples))
            self._meter_samples += int(samples.size)
        if self._frame_index % METER_EVERY_FRAMES == 0 and self._meter_samples:
            rms = (self._meter_energy / self._meter_samples) ** 0.5

            def db(value: float) -> float:
                return 20 * float(np.log10(value)) if value > 1e-9 else float("-inf")

            self._emit(AudioMeter(db(self._meter_peak), db(rms), audio.pts_samples))
            self._meter_peak = self._meter_energy = 0.0
            self._meter_samples = 0

    def _audio_devices(self) -> list[AudioDeviceOutput]:
        return [o for o in self._outputs if isinstance(o, AudioDeviceOutput) and o.alive]

    def _check_outputs(self) -> None:
        health = tuple(o.health() for o in self._outputs)
        if health != self._health:
            old = {h.name: h for h in self._health}
            for h in health:
                before = old.get(h.name)
                if h.state == OutputState.DOWN and before is not None \
                        and before.state != OutputState.DOWN:
                    self._emit(Problem(f"output {h.name} is down: {h.reason}",
                                       "the show goes on with the other outputs",
                                       code="output.down",
                                       args=(("name", h.name), ("reason", h.reason))))
                elif h.state == OutputState.DEGRADED and before is not None \
                        and before.state != OutputState.DEGRADED and h.reason:
                    # A stream reconnecting, a full disk: the output says what and when it
                    # comes back; the other outputs are not affected.
                    self._emit(Problem(f"output {h.name}: {h.reason}",
                                       "the show goes on; the output recovers by itself",
                                       severity="warning", code="output.degraded",
                                       args=(("name", h.name), ("reason", h.reason),
                                             ("state_code", h.code))))
            self._health = health
            self._emit(OutputsChanged(health))
        self._note_new_parts()

    def _note_new_parts(self) -> None:
        """A recording that went on in a new file (after a full disk) is on record too."""
        s0 = self.clock.frame_start_sample(self._frame_index)
        for output in self._outputs:
            if not isinstance(output, FileOutput) or len(output.parts) <= 1:
                continue
            seen = self._parts_noted.get(output.name, 1)
            for path in output.parts[seen:]:
                self._recording_started(output, path, s0)
            self._parts_noted[output.name] = len(output.parts)

    def _recording_started(self, output: FileOutput, path: Path, s0: int) -> None:
        """On record (the as-run log): a recording's file and its tags as FileOutput writes
        them."""
        self._emit(RecordingStarted(output.name, str(path.resolve()), s0,
                                    tuple(output.tags().items())))

    @property
    def outputs(self) -> tuple[OutputHealth, ...]:
        return tuple(o.health() for o in list(self._outputs))

    def _shutdown(self) -> None:
        for output in list(self._outputs):
            self._close_output(output, forget=False)  # listed, with how each ended
        self._check_outputs()
        self._inputs.close()
        self._puppet.close()
        self._synth.close()
        self._renderer.close()

    def _frame(self, render: bool = True) -> None:
        self._service_requests()  # a restart may send held frames: the index is read after
        index = self._frame_index
        s0 = self.clock.frame_start_sample(index)
        s1 = self.clock.frame_start_sample(index + 1)
        try:
            self._inputs.swap()
            self._apply_commands(s0)
            self._schedule_speech(s0, s1)
        except Exception as exc:
            _LOG.exception("command or speech scheduling failed")
            self._emit(Problem(f"internal error while scheduling speech: {exc}",
                               code="engine.speech_failed", args=(("error", str(exc)),)))
        self._emit_started(s1)
        audio = self._core.audio_between(s0, s1)
        mix = self._mix = self._switcher.mix(s0, s1, synthetic_voice=bool(audio.samples.any()))
        audio = self._with_microphone(audio)
        rgba = self._last_rgba
        yuv: npt.NDArray[np.uint8] | None = None
        lossless = any(o.policy == FramePolicy.LOSSLESS and o.alive for o in self._outputs)
        if render or lossless:  # a recording gets every frame, the last picture if late
            if render:
                self._enter_busy("render", index, audio)
                try:
                    rgba, yuv = self._render(index, s0, mix)
                    self._render_failing_since = None
                    self._last_good_rgba = rgba
                except Exception as exc:
                    if self._render_failures % RENDER_FAILURE_LOG_EVERY == 0:  # not per frame
                        _LOG.exception("frame %d failed", index)
                    self._render_failures += 1
                    if self._render_failing_since is None:
                        self._render_failing_since = time.monotonic()
                    self._emit(Problem(f"frame {index} could not be rendered: {exc}",
                                       "the output holds the last good picture meanwhile",
                                       code="frame.render_failed",
                                       args=(("index", str(index)), ("error", str(exc)))))
                    rgba, yuv = self._held_picture(), None  # never black
                    self._held += 1
                finally:
                    mine = self._leave_busy(index)
                if not mine:  # it took so long that the stand-in sent this frame (and more)
                    self._after_frame(index, s0, audio)
                    return
                self._last_rgba = rgba
                self._delivered += 1
                self._delivery_times.append(time.monotonic())
            else:
                self._dropped += 1
            self._delivered_index = index
            self._deliver(ProgramFrame(index, s0, rgba, yuv, mix.label, mix.mode.value), audio)
        else:
            self._dropped += 1
            self._delivered_index = index
            self._deliver(None, audio)
        self._after_frame(index, s0, audio)
        self._frame_index = index + 1
        self._last_frame_at = time.monotonic()

    def _after_frame(self, index: int, s0: int, audio: AudioChunk) -> None:
        """What follows every frame, whoever sent it: the queue, the meter, the status."""
        if self._queue_dirty:
            self._queue_dirty = False
            with self._program_lock:
                entries = self._program.entries()
            self._emit(QueueChanged(entries))
        self._meter(audio)
        if index % STATUS_EVERY_FRAMES == 0:
            self._check_outputs()
            changed = self._inputs.check(
                self.mode, s0 / self.clock.sample_rate_hz,
                periodic=index % (STATUS_EVERY_FRAMES * 3) == 0)
            if changed is not None:
                self._emit(changed)
            self._emit(self._status(s0))

    def _with_microphone(self, audio: AudioChunk) -> AudioChunk:
        """The program's sound: the AI's voice plus the microphone while a human is on air
        (20 ms fades at a switch). The microphone is read every frame, on air or not, so its
        buffer never fills up and the audio-to-face model is warm when the puppet goes on."""
        mic = self._inputs.mic
        if mic is None:
            return audio
        n = audio.n_samples
        try:
            samples = mic.read(audio.pts_samples, n)
        except Exception as exc:
            _LOG.exception("microphone %s failed", mic.name)
            self._emit(Problem(f"microphone {mic.name} failed: {exc}",
                               "the program goes on without it; choose the microphone again",
                               code="mic.failed", args=(("name", mic.name), ("error", str(exc)))))
            self._inputs.drop(InputKind.MIC)
            return audio
        self._puppet.hear(samples)
        if mic is not self._levelled_mic:  # another microphone: its level is learnt afresh
            self._mic_leveller = MicLeveller(self.clock.sample_rate_hz)
            self._levelled_mic = mic
        samples = self._mic_leveller.process(samples)  # the human as loud as the AI's voice
        if not self._switcher.mic_audible(audio.pts_samples, n):
            return audio
        mixed = audio.samples + samples * self._switcher.mic_gains(audio.pts_samples, n)
        # The program's true-peak ceiling holds for the human's voice too. The microphone's
        # next samples are not known yet, so this limiter looks ahead within the frame only.
        limited = self._mic_limiter.process(audio.pts_samples, mixed, ())
        return AudioChunk(audio.pts_samples, limited, audio.sample_rate_hz)

    def _render(self, index: int, s0: int, mix: Mix) -> tuple[npt.NDArray[np.uint8],
                                                            npt.NDArray[np.uint8] | None]:
        pinned = self._program.pinned
        segment = self._core.segment_at(s0)
        chosen = self._human_card
        if chosen is not None:  # until the AI, back on air, brings up a card of its own
            if segment is not None and segment.start_samples >= chosen.start_samples:
                self._human_card = None
            else:
                segment = chosen
        is_pinned = pinned is not None and (segment is None or pinned != segment.product_id)
        if is_pinned:
            segment = ProductSegment(pinned, "", 0, 0)
        self._note_card(segment, s0, is_pinned)
        # An avatar that hears the voice gets the program's sound as it goes on air (the
        # microphone too while a human speaks), then the speech placed ahead of it.
        on_air = self._busy_audio
        if on_air is not None and self._busy_index == index:
            self._renderer.heard(on_air)
        # The AI's face moves on, always.
        state = self._renderer.state_at(index, segment, ahead=self._core.mixer.peek)
        rate = self.clock.sample_rate_hz
        # Read every frame, on air or not: a file standing in for the camera then plays in
        # step with the one standing in for the microphone (both from the show's start).
        device = self._inputs.camera
        camera = device.frame_at(s0, rate) if device is not None else None
        face = state.face
        if mix.puppet > 0.0:
            puppet = self._puppet.face_at(camera, s0 / rate, face, 1.0 / float(self.fps))
            face = blend(face, puppet, mix.puppet)
        if mix.camera > 0.0:  # the human, or the standby picture while there is no camera
            self._renderer.compositor.set_camera(camera.rgb if camera is not None
                                                 else self._standby)
        state = replace(state, face=face, camera_alpha=mix.camera, label=mix.label)
        self._renderer.draw(state)
        compositor = self._renderer.compositor
        wants_yuv = any(o.wants_yuv and o.alive for o in self._outputs)
        yuv = compositor.read_yuv420p() if wants_yuv else None
        return compositor.read_rgba(), yuv

    # --- speech -----------------------------------------------------------------------------
    def _schedule_speech(self, s0: int, s1: int) -> None:
        """Place the next line as the offline render would: its card part-way into the pause,
        its speech (and face motion) ``LOOKAHEAD_S`` before the last line ends."""
        core = self._core
        while self._placed and self._placed[0].end_samples <= s0:
            self._placed.popleft()
        if self.mode is not Mode.AI or self._paused or self._mute or \
                not core.wants_next_line(s1):
            self._voice_wait = None
            return
        if self._placed and self._placed[-1].start_samples >= s0:
            self._voice_wait = None
            return  # the next line is placed and waits for its time
        with self._program_lock:
            line = self._program.peek_next_line()
            if line is None:
                self._program.next_line()  # commit the move to the end of the run-down
        if line is None:
            self._voice_wait = None
            if not self._ended_emitted and self._program.ended:
                self._ended_emitted = True
                self._queue_dirty = True
                _, end = core.end_of_show()  # the last card fades out after the tail
                if self._stop_when_ended:
                    self.stop_at(end)
                self._emit(ShowEnded(end))
            return
        self._ended_emitted = False
        self._synth.request(line)
        if s1 > core.card_time(line):  # its card comes up during the pause, as rendered
            core.announce(line)
        clip = self._synth.take(line)
        wait = self._voice_wait
        if wait is None or wait[0] != line:
            self._voice_wait = (line, time.monotonic())  # due now: the supervisor times it
        while clip is None and not self._realtime:  # unpaced runs wait: deterministic output
            if not self._requests.empty():
                return  # ... unless a supervisor restarts something (the voice: it hangs)
            time.sleep(0.002)
            self._synth.request(line)  # asked again if the cache had to let it go
            clip = self._synth.take(line)
        if clip is None:
            return  # still synthesising: the host stays alive, idle, until it is ready
        if clip is False and line not in self._voice_retried:
            self._voice_retried.add(line)  # it raised: tried once more before it is skipped
            self._voice_failures_in_row += 1
            self._voice_wait = (line, time.monotonic())  # the second try gets its full time
            self._synth.request(line)
            return
        self._voice_wait = None
        self._voice_retried.discard(line)
        with self._program_lock:
            committed = self._program.next_line()
            assert committed == line, "the plan changed between peek and commit"
            after = self._program.peek_next_line()
        if clip is False:
            self._voice_failures_in_row += 1
            return
        self._voice_failures_in_row = 0
        assert isinstance(clip, SpeechClip)
        self._place(line, clip, max(core.earliest_start(line), s0))
        if after is not None:
            self._synth.request(after)

    def _note_card(self, segment: ProductSegment | None, s0: int, pinned: bool) -> None:
        """A product's card came on screen: ``ProductShown`` (at the segment's card time,
        as the offline render shows it; at this frame when pinned or swapped in place)."""
        pid = segment.product_id if segment is not None else None
        last_segment, last_pid = self._card_seen
        self._card_seen = (segment, pid)
        if segment is None or pid is None or (
                pid == last_pid and (pinned or segment is last_segment)):
            return
        product = self._renderer.products.get(pid)
        if product is None:
            return
        by = "pinned" if pinned else "human" if segment is self._human_card else "ai"
        at = s0 if pinned or segment is last_segment else segment.start_samples
        self._emit(ProductShown(product, at, by))

    def _product_name(self, product_id: str) -> str:
        return self._program.product(product_id).name

    def _place(self, line: ScriptLine, clip: SpeechClip, start: int) -> None:
        # (An interrupt's fade makes new samples: the clip stays as synthesised, so a line
        # taken back can be placed again as it is.)
        self._placed.append(self._core.place(line, clip, start))
        self._queue_dirty = True

    def _emit_started(self, s1: int) -> None:
        """Tell the teleprompter about a sentence when it goes on air (a line placed ahead
        may still be taken back)."""
        for placement in self._placed:
            start = placement.start_samples
            if start >= s1 or start <= self._last_started:
                continue
            self._last_started = start
            self._sentence_started(placement)

    def _sentence_started(self, placement: Placement) -> None:
        line, clip, start = placement.line, placement.clip, placement.start_samples
        product_id = line.product_id
        if line.kind == LineKind.SCRIPT and product_id != self._shown_product:
            self._shown_product = product_id
            with self._program_lock:
                script = tuple(self._program.current_script())
                title = self._program.product(product_id).name if product_id else ""
            self._emit(ScriptShown(product_id, title, script))
        words = tuple(WordTiming(w.text, w.start_samples + start, w.end_samples + start)
                      for w in clip.words)
        index = line.sentence_index if line.kind == LineKind.SCRIPT else -1
        self._emit(SentenceStarted(product_id, line.kind.value, index, line.text, start,
                                   placement.end_samples, words))

    def _take_back_pending(self, at: int) -> None:
        """The operator changed the plan: lines placed but not started yet go back to the
        program (nothing of them was heard), so the change takes effect at this boundary."""
        while self._placed and self._placed[-1].start_samples >= at:
            pending = self._placed.pop()
            self._core.retract(pending)
            self._face.cut_speech(pending.start_samples)
            self._synth.put_back(pending.line, pending.clip)
            with self._program_lock:
                self._program.resume_from(pending.line)

    def _cut(self, at: int) -> ScriptLine | None:
        """Fade out what is being said from ``at``; returns the interrupted line. Lines placed
        to come after it go back to the program."""
        self._take_back_pending(at)
        playing = self._placed.pop() if self._placed else None
        if playing is None or playing.end_samples <= at:
            return None
        self._core.cut(playing, at, self.clock.s_to_samples(FADE_S))
        self._face.cut_speech(at)
        line = playing.line
        self._emit(SentenceCut(line.product_id, line.kind.value, line.text,
                               playing.start_samples, at))
        return line

    # --- commands ---------------------------------------------------------------------------
    def _apply_commands(self, s0: int) -> None:
        while self._scheduled and self._scheduled[0][0] <= s0:
            self._commands.put(heapq.heappop(self._scheduled)[2])
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                self._apply(command, s0)
            except (KeyError, ValueError, StudioError) as exc:
                self._emit(Problem(f"{type(command).__name__} refused: {exc}",
                                   severity="warning",
                                   code="command.refused",
                                   args=(("command", type(command).__name__), ("error", str(exc)))))
            self._queue_dirty = True

    def _apply(self, c: cmd.Command, s0: int) -> None:
        program = self._program
        if isinstance(c, cmd.ToggleTakeover):
            c = cmd.SetMode(Mode.AI if self.mode is not Mode.AI else
                            (c.to or self._takeover_mode))
        if isinstance(c, cmd.TogglePause):
            c = cmd.SetPaused(not self._paused)
        match c:
            case cmd.SetMode(mode=mode):
                self._set_mode(Mode(mode), s0)
            case cmd.SetCrossfade(seconds=seconds):
                self._switcher.set_crossfade(seconds)
            case cmd.SetCamera(spec=spec):
                self._inputs.request(InputKind.CAMERA, spec)
            case cmd.SetMicrophone(spec=spec):
                self._inputs.request(InputKind.MIC, spec)
            case cmd.CalibrateFace():
                if self._inputs.camera is None:
                    raise ValueError("there is no camera to calibrate the face with")
                self._puppet.calibrate()
            case cmd.Interject(text=text, interrupt=interrupt):
                if not text.strip():
                    raise ValueError("an interjection needs some text")
                self._take_back_pending(s0)
                with self._program_lock:
                    if interrupt:
                        cut = self._cut(s0)
                        if cut is not None:
                            program.resume_from(cut)
                    program.interject(text, first=interrupt)
            case cmd.InterruptNow() | cmd.SkipSentence():
                self._cut(s0)
            case cmd.NextProduct(now=now):
                self._take_back_pending(s0)
                with self._program_lock:
                    target = program.next_product()
                if now:
                    self._cut(s0)
                self._human_chose(target, s0)
            case cmd.GoToProduct(product_id=pid, now=now):
                self._take_back_pending(s0)
                with self._program_lock:
                    program.go_to(pid)
                if now:
                    self._cut(s0)
                self._human_chose(pid, s0)
            case cmd.SetSkipped(product_id=pid, skipped=skipped):
                self._take_back_pending(s0)
                with self._program_lock:
                    program.set_skipped(pid, skipped)
            case cmd.ReorderQueue(product_ids=ids):
                self._take_back_pending(s0)
                with self._program_lock:
                    program.reorder(ids)
            case cmd.PinProduct(product_id=pid):
                with self._program_lock:
                    program.pin(pid)
            case cmd.UpsertProduct(product=product):
                self._take_back_pending(s0)
                with self._program_lock:
                    program.upsert(product)
                self._renderer.products[product.id] = product
                self._renderer.forget_card(product.id)
                if product.id == self._shown_product:
                    self._shown_product = False  # re-send the edited script
            case cmd.SetPaused(paused=paused):
                if paused:
                    self._take_back_pending(s0)
                self._paused = paused
            case cmd.SetStandbyImage(path=path):
                self._standby = render_standby(self.width_px, self.height_px, path)
            case cmd.StartRecording(path=path):
                if self._recording is not None and self._recording.alive:
                    raise ValueError(f"already recording to {self._recording.name}")
                recording = build_output(OutputSpec("file", str(path)))
                if self._open_output(recording, s0):
                    self._recording = recording
                self._renderer.compositor.invalidate()
            case cmd.StopRecording():
                if self._recording is not None:
                    self._close_output(self._recording)
            case cmd.AddOutput(spec=spec):
                if any(o.spec == spec and o.alive for o in self._outputs):
                    raise ValueError(f"{spec.display} is already running")
                self._outputs = [o for o in self._outputs if o.spec != spec]  # a dead one
                self._open_output(build_output(spec), s0)
                self._renderer.compositor.invalidate()
            case cmd.SetAudioVolume(volume=volume, muted=muted):
                if not 0.0 <= volume <= 2.0:
                    raise ValueError(f"volume {volume} is out of range 0..2")
                self._volume = (volume, muted)
                for device in self._audio_devices():
                    device.set_volume(volume, muted)
            case cmd.PlayTestTone(seconds=seconds):
                devices = self._audio_devices()
                if not devices:
                    raise ValueError("no sound device is playing; add the audio output first")
                for device in devices:
                    device.play_test_tone(seconds)
            case cmd.RemoveOutput(spec=spec):
                for output in [o for o in self._outputs if o.spec == spec]:
                    self._close_output(output)

    # --- modes and inputs ----------------------------------------------------------------
    def _set_mode(self, mode: Mode, s0: int) -> None:
        previous = self.mode
        if mode == previous:
            return
        interrupted: ScriptLine | None = None
        if previous is Mode.AI:  # the AI stops mid-sentence; it says it again from the start
            interrupted = self._cut(s0)
            if interrupted is not None:
                with self._program_lock:
                    self._program.resume_from(interrupted)
        else:
            self._take_back_pending(s0)
        self._switcher.switch(mode, s0)
        if mode is not Mode.AI:
            self._takeover_mode = mode
        self._core.hold_until(s0)
        resume = self._resume_point(interrupted)
        self._emit(ModeChanged(mode.value, previous.value, s0, time.time(),
                               self._switcher.crossfade_s, resume))
        _LOG.info("mode: %s -> %s at %.3f s (crossfade %.0f ms)%s", previous.value,
                  mode.value, s0 / self.clock.sample_rate_hz, self._switcher.crossfade_s * 1000,
                  f"; the AI resumes at {resume.text!r}" if resume is not None else "")
        self._inputs.missing_for(mode)

    def _human_chose(self, product_id: str | None, s0: int) -> None:
        """A human on air moved to a product: its card comes up now (the AI, when back,
        presents that product next)."""
        if self.mode is not Mode.AI and product_id is not None:
            self._human_card = ProductSegment(product_id, self._product_name(product_id), s0,
                                              s0)

    def _resume_point(self, interrupted: ScriptLine | None) -> ResumePoint | None:
        with self._program_lock:
            line = interrupted or self._program.peek_next_line()
        if line is None:
            return None
        index = line.sentence_index if line.kind == LineKind.SCRIPT else -1
        return ResumePoint(line.product_id, line.kind.value, index, line.text)

    @property
    def inputs(self) -> tuple[InputHealth, ...]:
        return self._inputs.health if hasattr(self, "_inputs") else ()

    # --- status -----------------------------------------------------------------------------
    def _status(self, s0: int) -> Status:
        times = self._delivery_times
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 and \
            times[-1] > times[0] else 0.0
        rate = self.clock.sample_rate_hz
        with self._program_lock:
            product_left, show_left = self._program.time_left_s()
        if self._placed:
            speaking_left = sum(max(0, p.end_samples - max(s0, p.start_samples))
                                for p in self._placed) / rate
            product_left += speaking_left
            show_left += speaking_left
        pacer = self._pacer()
        return Status(
            mode=self.mode.value, paused=self._paused,
            recording=self._recording is not None and self._recording.alive,
            fps_target=float(self.fps),
            fps_delivered=round(fps, 2), frames_delivered=self._delivered,
            frames_dropped=self._dropped,
            audio_buffer_ms=(pacer.buffered_samples() * 1000 / rate) if pacer else 0.0,
            audio_underruns=sum(o.underruns for o in self._outputs),
            synthesis_queue=max(0, self._synth.pending),
            execution_provider=getattr(self._tts, "execution_provider", "CPU"),
            elapsed_s=s0 / rate, product_time_left_s=product_left,
            show_time_left_s=show_left)
