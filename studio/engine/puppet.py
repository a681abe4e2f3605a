"""Puppet mode: the operator's face and voice drive the avatar.

The tracked face (head pose, blinks, gaze, brows, mouth) drives the avatar while the camera
sees a face. When the face is lost, or there is no camera, the avatar does not freeze: its
head and eyes ease back to the host's own idle life and its lips follow the operator's voice
through the audio-to-face model. Every hand-over between the two eases over ``FACE_EASE_S``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from studio.core.errors import StudioError
from studio.face.params import MOUTH_FIELDS, NEUTRAL, FaceParams, blend
from studio.inputs.base import CapturedFrame

_LOG = logging.getLogger("studio.puppet")

FACE_EASE_S = 0.3
"""Face found or lost: the avatar eases between the tracked face and its idle life this fast."""
FACE_LOST_WARN_S = 1.0
"""No face for this long while the puppet is on air is worth telling the operator."""


class PuppetFace:
    """Per-frame avatar face from the camera's tracked face, or idle life plus the voice."""

    def __init__(self, sample_rate_hz: int) -> None:
        self._rate = sample_rate_hz
        self._tracker: object | None = None  # studio.face.tracking.FaceTracker, made lazily
        self._tracker_failed = False
        self._a2f: object | None = None  # studio.face.a2f.A2FStream
        self.a2f_provider = ""
        self._last_sequence = -1
        self._tracked: FaceParams | None = None
        self._held: FaceParams | None = None  # the last tracked face, eased away from when lost
        self._face_weight = 0.0
        self._voice_mouth = NEUTRAL
        self.tracking_ms = 0.0
        self.face_found: bool | None = None
        self.lost_since_s: float | None = None
        self.problem: str | None = None  # why tracking or the voice model is unavailable

    # --- set-up ----------------------------------------------------------------------------
    def load_tracker(self) -> None:
        """Load the face tracker now (mediapipe takes a moment), not when the puppet goes on."""
        if self._tracker is not None or self._tracker_failed:
            return
        try:
            from studio.face.tracking import FaceTracker

            self._tracker = FaceTracker()
        except Exception as exc:
            self._tracker_failed = True
            self.problem = f"face tracking cannot start: {exc}"
            if isinstance(exc, StudioError):
                _LOG.warning("%s", self.problem)
            else:
                _LOG.exception("face tracker failed to load")

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
        if self._tracker is not None:
            self._tracker.calibrate()  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()  # type: ignore[attr-defined]
            self._tracker = None

    # --- per frame ---------------------------------------------------------------------------
    def hear(self, samples: npt.NDArray[np.float32]) -> None:
        """The microphone's samples for this frame (always fed, so the model is warm)."""
        if self._a2f is not None and samples.size:
            self._a2f.push(samples)  # type: ignore[attr-defined]
            self._voice_mouth = self._a2f.mouth()  # type: ignore[attr-defined]

    def face_at(self, frame: CapturedFrame | None, t_s: float, idle: FaceParams,
                frame_s: float, *, track: bool = True) -> FaceParams:
        """The avatar's face for the frame at ``t_s``; ``idle`` is the host's idle life (head,
        blinks, breath) used while no face is tracked. ``track``: run the tracker on a new
        camera frame (only the puppet on air needs it)."""
        tracker = self._tracker
        if frame is None or tracker is None:
            self._tracked = None
        elif track and frame.sequence != self._last_sequence:
            self._last_sequence = frame.sequence
            result = tracker.track(frame.rgb, t_s)  # type: ignore[attr-defined]
            self.tracking_ms = float(getattr(tracker, "last_ms", 0.0))
            self._tracked = None if result is None else result.params
        found = self._tracked is not None
        self.face_found = found if (tracker is not None and frame is not None) else None
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
