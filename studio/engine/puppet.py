"""Puppet mode: the operator's face and voice drive the avatar.

The tracked face (head pose, blinks, gaze, brows, mouth) drives the avatar while the camera
sees a face. When the face is lost, or there is no camera, the avatar does not freeze: its
head and eyes ease back to the host's own idle life and its lips follow the operator's voice
through the audio-to-face model. Every hand-over between the two eases over ``FACE_EASE_S``.

Live, the tracker runs on its own thread (the second core), always on the newest camera
picture, so a slow frame of tracking never holds up a frame of the program; the avatar uses
the newest result. Unpaced runs (tests, renders) track on the calling thread: exact frames.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from studio.core.clock import lower_thread_priority
from studio.core.errors import StudioError
from studio.face.params import MOUTH_FIELDS, NEUTRAL, FaceParams, blend
from studio.inputs.base import CapturedFrame

if TYPE_CHECKING:
    from studio.face.a2f import A2FStream
    from studio.face.tracking import FaceTracker

_LOG = logging.getLogger("studio.puppet")

FACE_EASE_S = 0.3
"""Face found or lost: the avatar eases between the tracked face and its idle life this fast."""
FACE_LOST_WARN_S = 1.0
"""No face for this long while the puppet is on air is worth telling the operator."""


class _TrackingThread:
    """Tracks the newest picture handed to it; older ones waiting are skipped."""

    def __init__(self, tracker: FaceTracker) -> None:
        self._tracker = tracker
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: tuple[CapturedFrame, float] | None = None
        self._calibrate = False
        self._closed = False
        self.result: tuple[int, FaceParams | None] | None = None  # (sequence, face)
        self.last_ms = 0.0
        self._thread = threading.Thread(target=self._run, name="face-tracking", daemon=True)
        self._thread.start()

    def submit(self, frame: CapturedFrame, t_s: float) -> None:
        with self._lock:
            self._pending = (frame, t_s)
            self._wake.notify()

    def calibrate(self) -> None:
        with self._lock:
            self._calibrate = True

    def _run(self) -> None:
        lower_thread_priority(2)  # the frame loop comes first
        while True:
            with self._lock:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                assert self._pending is not None
                (frame, t_s), self._pending = self._pending, None
                calibrate, self._calibrate = self._calibrate, False
            try:
                if calibrate:
                    self._tracker.calibrate()
                found = self._tracker.track(frame.rgb, t_s)
                face = None if found is None else found.params
            except Exception:
                _LOG.exception("face tracking failed on a frame")
                face = None
            with self._lock:
                self.result = (frame.sequence, face)
                self.last_ms = self._tracker.last_ms

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=5)


class PuppetFace:
    """Per-frame avatar face from the camera's tracked face, or idle life plus the voice."""

    def __init__(self, sample_rate_hz: int, *, threaded: bool = True) -> None:
        self._rate = sample_rate_hz
        self._threaded = threaded
        self._tracker: FaceTracker | None = None
        self._worker: _TrackingThread | None = None
        self._tracker_failed = False
        self._a2f: A2FStream | None = None
        self.a2f_provider = ""
        self._last_sequence = -1
        self._tracked: FaceParams | None = None
        self._held: FaceParams | None = None  # the last tracked face, eased away from when lost
        self._face_weight = 0.0
        self._voice_mouth = NEUTRAL
        self.tracking_ms = 0.0
        self.face_sequence = -1  # the camera picture behind the face on the avatar now
        self.face_found: bool | None = None
        self.lost_since_s: float | None = None
        self.problem: str | None = None  # why tracking or the voice model is unavailable

    # --- set-up ----------------------------------------------------------------------------
    def load_tracker(self, warm_rgb: npt.NDArray[np.uint8] | None = None) -> None:
        """Load the face tracker now, not when the puppet goes on air: mediapipe builds its
        graph on the first face it sees (over half a second here), so ``warm_rgb`` (a picture
        with a face: the avatar's own) is tracked once, then the neutral is reset."""
        if self._tracker is not None or self._tracker_failed:
            return
        try:
            from studio.face.tracking import FaceTracker

            tracker = FaceTracker()
            if warm_rgb is not None:
                tracker.track(np.ascontiguousarray(warm_rgb), 0.0)
                tracker.calibrate()
        except Exception as exc:
            self._tracker_failed = True
            self.problem = f"face tracking cannot start: {exc}"
            if isinstance(exc, StudioError):
                _LOG.warning("%s", self.problem)
            else:
                _LOG.exception("face tracker failed to load")
            return
        self._tracker = tracker
        if self._threaded:
            self._worker = _TrackingThread(tracker)

    def load_voice_model(self) -> None:
        if self._a2f is not None:
            return
        try:
            from studio.face.a2f import AudioToFace

            model = AudioToFace()
            self._a2f = model.stream(self._rate)
            self.a2f_provider = model.execution_provider
            _LOG.info("audio-to-face model on %s (sound to mouth %.0f ms)",
                      model.execution_provider, model.latency_s * 1000)
        except Exception as exc:
            self.problem = f"the audio-to-face model cannot load: {exc}"
            if isinstance(exc, StudioError):
                _LOG.warning("%s", self.problem)
            else:
                _LOG.exception("audio-to-face model failed to load")

    def calibrate(self) -> None:
        if self._worker is not None:
            self._worker.calibrate()
        elif self._tracker is not None:
            self._tracker.calibrate()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None

    # --- per frame ---------------------------------------------------------------------------
    def hear(self, samples: npt.NDArray[np.float32]) -> None:
        """The microphone's samples for this frame (always fed, so the model is warm)."""
        if self._a2f is not None and samples.size:
            self._a2f.push(samples)
            self._voice_mouth = self._a2f.mouth()

    def _track(self, frame: CapturedFrame | None, t_s: float) -> None:
        if frame is None or self._tracker is None:
            self._tracked = None
            return
        if frame.sequence != self._last_sequence:
            self._last_sequence = frame.sequence
            if self._worker is not None:
                self._worker.submit(frame, t_s)
            else:
                found = self._tracker.track(frame.rgb, t_s)
                self.tracking_ms = self._tracker.last_ms
                self._tracked = None if found is None else found.params
                self.face_sequence = frame.sequence
        if self._worker is not None and self._worker.result is not None:
            self.face_sequence, self._tracked = self._worker.result
            self.tracking_ms = self._worker.last_ms

    def face_at(self, frame: CapturedFrame | None, t_s: float, idle: FaceParams,
                frame_s: float) -> FaceParams:
        """The avatar's face for the frame at ``t_s``; ``idle`` is the host's idle life (head,
        blinks, breath) used while no face is tracked."""
        self._track(frame, t_s)
        found = self._tracked is not None
        self.face_found = found if (self._tracker is not None and frame is not None) else None
        if found:
            self.lost_since_s = None
        elif self.lost_since_s is None:
            self.lost_since_s = t_s
        step = frame_s / FACE_EASE_S
        self._face_weight = min(1.0, self._face_weight + step) if found else \
            max(0.0, self._face_weight - step)
        voice = replace(idle, **{name: getattr(self._voice_mouth, name)
                                 for name in MOUTH_FIELDS})
        if self._tracked is not None:
            self._held = self._tracked
        return blend(voice, self._held or voice, self._face_weight)

    def lost_for_s(self, t_s: float) -> float:
        return 0.0 if self.lost_since_s is None else t_s - self.lost_since_s
