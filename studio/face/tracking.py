"""Face tracking for puppet mode: mediapipe's face mesh (478 landmarks with irises) → FaceParams.

Everything is measured relative to a neutral face (the median of the first frames with a face,
or of the frames after ``calibrate()``), so a tilted webcam or a resting smile reads as zero.
Head pose is the rotation (Kabsch) that carries the neutral's rigid landmarks (forehead, nose,
eye corners, cheeks) onto the current ones; every other feature is measured in the face's own
frame (current landmarks rotated back, scale normalised), so turning the head does not open the
mouth. Angles follow FaceParams' screen conventions in the camera image as given: the face
turning clockwise in the image rolls the avatar clockwise, the eye on the image's left drives the
avatar's eye on the image's left. (Mirror the frame first for a selfie view.) A One-Euro filter
per parameter removes jitter while keeping fast motion (speech) nearly lag free.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from studio.core.errors import DependencyError, UserInputError
from studio.face.params import FaceParams

N_LANDMARKS = 478
CALIBRATION_FRAMES = 8
"""Frames with a face whose median becomes the neutral."""

# Landmarks that move with the skull only (no lids, brows, lips or jaw).
RIGID = np.array([1, 2, 4, 5, 6, 168, 197, 195, 10, 151, 9, 8, 33, 133, 362, 263, 234, 454,
                  127, 356, 116, 345, 50, 280, 98, 327, 129, 358, 64, 294])
# "Left"/"right" below mean the image's left/right (the viewer's), not the person's.

_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")


@contextlib.contextmanager
def keep_qt_environment() -> Iterator[None]:
    """Import OpenCV (mediapipe does) without letting it repoint Qt: the opencv-contrib wheel
    mediapipe pulls in sets QT_QPA_PLATFORM_PLUGIN_PATH to its own Qt plugins when imported,
    which breaks the studio window and any Qt program started from it (OBS in the tests)."""
    saved = {name: os.environ.get(name) for name in _QT_VARIABLES}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

class EyeLandmarks(NamedTuple):
    outer: int
    inner: int
    upper: tuple[int, ...]
    lower: tuple[int, ...]
    iris: int
    brow: tuple[int, ...]


EYE_L = EyeLandmarks(33, 133, (160, 159, 158), (144, 145, 153), 468, (70, 63, 105, 66, 107))
EYE_R = EyeLandmarks(263, 362, (387, 386, 385), (373, 374, 380), 473, (300, 293, 334, 296, 336))
UPPER_INNER_LIP = (82, 13, 312)
LOWER_INNER_LIP = (87, 14, 317)
UPPER_OUTER_LIP = (0, 37, 267)
LOWER_OUTER_LIP = (17, 84, 314)
MOUTH_CORNERS = (61, 291)

# Full-scale changes, in units of the neutral outer-eye-corner distance (the face's width unit).
JAW_FULL_GAP = 0.25      # inner-lip gap growth at jaw_open = 1 (a wide-open "ah")
BROW_FULL = 0.10         # brow lift above the eye at brow_raise = 1
SMILE_FULL = 0.07        # mouth corners rising (in the face frame) at smile = 1
STRETCH_FULL = 0.20      # mouth width growth (fraction of neutral width) at lip_stretch = 1
JAW_WIDENS = 0.10         # the corner landmarks spread this much (fraction) as the lips part
PUCKER_FULL = 0.18       # mouth width shrink (fraction) at lip_pucker = 1
PRESS_FULL = 0.45        # lip thickness loss (fraction) at lip_press = 1
MAX_ZERO_TURN_RAD = math.radians(20.0)  # beyond this the closed-mouth zero is not updated
BLINK_OPEN, BLINK_SHUT = 0.80, 0.30   # eye-aspect ratio over neutral: still open / fully shut
GAZE_X_FULL, GAZE_Y_FULL = 0.20, 0.12  # iris offset (fraction of eye width) at gaze = ±1

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TrackedFace:
    """One tracked frame: avatar parameters, landmark pixels in the input frame, confidence 0..1
    (the share of landmarks inside the frame times how large the face is; the legacy face-mesh
    graph reports no per-face score)."""

    params: FaceParams
    landmarks_px: npt.NDArray[np.float32]
    confidence: float


class OneEuro:
    """One-Euro filter (Casiez et al. 2012): the cutoff rises with speed, so slow drift is
    smoothed hard (no jitter) and quick moves pass almost unfiltered (low lag)."""

    def __init__(self, min_cutoff_hz: float, beta: float, d_cutoff_hz: float = 1.0) -> None:
        self.min_cutoff_hz, self.beta, self.d_cutoff_hz = min_cutoff_hz, beta, d_cutoff_hz
        self._x: float | None = None
        self._dx = 0.0
        self._t_s = 0.0

    @staticmethod
    def _alpha(cutoff_hz: float, dt_s: float) -> float:
        tau = 1.0 / (2.0 * math.pi * cutoff_hz)
        return 1.0 / (1.0 + tau / dt_s)

    def __call__(self, x: float, t_s: float) -> float:
        if self._x is None:
            self._x, self._t_s = x, t_s
            return x
        dt_s = t_s - self._t_s
        if not dt_s > 0.0:
            dt_s = 1.0 / 30.0  # repeated or backwards timestamps: assume one camera frame
        self._t_s = t_s
        dx = (x - self._x) / dt_s
        self._dx += self._alpha(self.d_cutoff_hz, dt_s) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * abs(self._dx)
        self._x += self._alpha(cutoff, dt_s) * (x - self._x)
        return self._x

    def reset(self) -> None:
        self._x, self._dx = None, 0.0


# One-Euro settings per FaceParams field: the mouth and lids must keep up with speech and
# blinks, the head may be smoothed more.
_FILTERS: dict[str, tuple[float, float, float]] = {
    # (min cutoff Hz, beta per unit/s, derivative cutoff Hz)
    "jaw_open": (4.0, 8.0, 4.0), "lip_pucker": (3.0, 4.0, 4.0), "lip_press": (3.0, 4.0, 4.0),
    "lip_stretch": (3.0, 4.0, 4.0), "smile": (2.0, 2.0, 2.0), "tongue_up": (3.0, 4.0, 4.0),
    "blink_left": (6.0, 8.0, 4.0), "blink_right": (6.0, 8.0, 4.0),
    "brow_raise": (2.0, 2.0, 2.0),
    "head_yaw_rad": (1.0, 6.0, 2.0), "head_pitch_rad": (1.0, 6.0, 2.0),
    "head_roll_rad": (1.0, 6.0, 2.0),
    "gaze_x": (2.0, 2.0, 2.0), "gaze_y": (2.0, 2.0, 2.0), "breath": (1.0, 0.5, 1.0),
}


def _kabsch(neutral: FloatArray, current: FloatArray) -> FloatArray:
    """Rotation R (3x3) with current ≈ R @ neutral, both centred (n, 3)."""
    h = neutral.T @ current
    u, _, vt = np.linalg.svd(h)
    d = 1.0 if np.linalg.det(vt.T @ u.T) >= 0.0 else -1.0
    return np.asarray(vt.T @ np.diag([1.0, 1.0, d]) @ u.T, dtype=np.float64)


def euler_from_rotation(r: FloatArray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) with R = Rz(roll) Rx(pitch) Ry(yaw), the avatar's order, in image axes
    (x right, y down, z toward the camera): yaw > 0 moves the nose right, pitch > 0 down, roll
    > 0 turns clockwise on screen."""
    pitch = math.asin(max(-1.0, min(1.0, -float(r[2, 1]))))
    yaw = math.atan2(-float(r[2, 0]), float(r[2, 2]))
    roll = math.atan2(-float(r[0, 1]), float(r[1, 1]))
    return yaw, pitch, roll


@dataclass(frozen=True, slots=True)
class _Shape:
    """Scale-free measurements of one face in its own frame (neutral-aligned)."""

    gap: float
    mouth_w: float
    lip_thick: float
    corner_lift: float
    ear_l: float
    ear_r: float
    brow_l: float
    brow_r: float
    iris_l: tuple[float, float]
    iris_r: tuple[float, float]


def _mean(p: FloatArray, idx: tuple[int, ...]) -> FloatArray:
    return np.asarray(p[list(idx)].mean(axis=0), dtype=np.float64)


def _eye(p: FloatArray, eye: EyeLandmarks) -> tuple[float, float, tuple[float, float]]:
    """Eye-aspect ratio, brow height over the eye (face widths) and the iris offset
    (fractions of eye width, x toward the image right, y down)."""
    outer, inner = p[eye.outer], p[eye.inner]
    width = float(np.linalg.norm(outer[:2] - inner[:2])) + 1e-9
    opening = float(np.mean([np.linalg.norm(p[u][:2] - p[lo][:2])
                             for u, lo in zip(eye.upper, eye.lower, strict=True)]))
    centre = 0.5 * (outer + inner)
    brow = float(centre[1] - _mean(p, eye.brow)[1])
    iris = (p[eye.iris] - centre) / width
    return opening / width, brow, (float(iris[0]), float(iris[1]))


def _shape(p: FloatArray) -> _Shape:
    """Measure ``p`` (478x3, face frame, unit = outer-eye-corner distance of the neutral)."""
    gap = float(_mean(p, LOWER_INNER_LIP)[1] - _mean(p, UPPER_INNER_LIP)[1])
    c0, c1 = p[MOUTH_CORNERS[0]], p[MOUTH_CORNERS[1]]
    mouth_w = float(np.linalg.norm(c1 - c0))
    thick = float((_mean(p, UPPER_INNER_LIP)[1] - _mean(p, UPPER_OUTER_LIP)[1])
                  + (_mean(p, LOWER_OUTER_LIP)[1] - _mean(p, LOWER_INNER_LIP)[1]))
    corner_lift = -0.5 * float(c0[1] + c1[1])  # above the skull's centre (opening the jaw
    # moves the lower lip, not the corners, so this reads smiles only)
    ear_l, brow_l, iris_l = _eye(p, EYE_L)
    ear_r, brow_r, iris_r = _eye(p, EYE_R)
    return _Shape(gap, mouth_w, thick, corner_lift, ear_l, ear_r, brow_l, brow_r, iris_l, iris_r)


def _clip01(x: float) -> float:
    return 0.0 if not x > 0.0 else min(x, 1.0)


def _clip11(x: float) -> float:
    return max(-1.0, min(1.0, x))


class FaceTracker:
    """Track one face per frame; ``track`` returns None when there is no face."""

    def __init__(self, *, max_side_px: int = 640, smoothing: bool = True) -> None:
        if max_side_px < 64:
            raise UserInputError(f"max_side_px={max_side_px} is too small to find a face; "
                                 "use 64 or more (640 is a good default)")
        self.max_side_px = int(max_side_px)
        self.smoothing = smoothing
        self.last_ms = 0.0
        self._mesh: Any = None
        self._neutral: FloatArray | None = None   # (478, 3) face-frame landmarks
        self._neutral_shape: _Shape | None = None
        self._samples: list[FloatArray] = []
        self._closed_gap = math.inf  # the most closed mouth seen since calibration
        self._filters = {f.name: OneEuro(*_FILTERS[f.name]) for f in fields(FaceParams)}

    def _open(self) -> Any:
        if self._mesh is None:
            try:
                with keep_qt_environment():
                    import mediapipe as mp
                face_mesh = mp.solutions.face_mesh
            except (ImportError, AttributeError) as exc:
                raise DependencyError(
                    f"face tracking needs mediapipe's face mesh ({exc}); install it with "
                    "`.venv/bin/pip install mediapipe==0.10.14`") from exc
            self._mesh = face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                            refine_landmarks=True, min_detection_confidence=0.5,
                                            min_tracking_confidence=0.5)
        return self._mesh

    def calibrate(self) -> None:
        """Make the next frames with a face (their median) the neutral pose and expression."""
        self._neutral, self._neutral_shape, self._samples = None, None, []
        self._closed_gap = math.inf
        self._reset_filters()

    @property
    def calibrated(self) -> bool:
        return self._neutral is not None and len(self._samples) >= CALIBRATION_FRAMES

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _reset_filters(self) -> None:
        for f in self._filters.values():
            f.reset()

    def track(self, rgb: npt.NDArray[np.uint8], t_s: float) -> TrackedFace | None:
        """Landmarks and FaceParams for one RGB frame taken at ``t_s`` (seconds, for the
        smoothing); None when no face is in it (the smoothing restarts at the next face)."""
        start = time.perf_counter()
        try:
            return self._track(rgb, t_s)
        finally:
            self.last_ms = (time.perf_counter() - start) * 1000.0

    def _track(self, rgb: npt.NDArray[np.uint8], t_s: float) -> TrackedFace | None:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise UserInputError(f"face tracking needs an RGB uint8 frame (h, w, 3), got "
                                 f"{rgb.dtype} {rgb.shape}; convert the camera frame to rgb24")
        h, w = rgb.shape[:2]
        small: npt.NDArray[Any] = rgb
        if max(h, w) > self.max_side_px:
            with keep_qt_environment():
                import cv2

            k = self.max_side_px / max(h, w)
            small = cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))),
                               interpolation=cv2.INTER_AREA)
        result = self._open().process(np.ascontiguousarray(small))
        faces = result.multi_face_landmarks
        if not faces:
            self._reset_filters()
            return None
        lm = faces[0].landmark
        norm = np.array([(p.x, p.y, p.z) for p in lm], dtype=np.float64)
        # Pixels of the input frame; z (mediapipe: + away from the camera, x's scale) flipped to
        # point toward the camera.
        pts = np.column_stack([norm[:, 0] * w, norm[:, 1] * h, -norm[:, 2] * w])
        landmarks_px = pts[:, :2].astype(np.float32)
        inside = float(np.mean((norm[:, 0] >= 0) & (norm[:, 0] <= 1)
                               & (norm[:, 1] >= 0) & (norm[:, 1] <= 1)))
        eye_px = float(np.linalg.norm(pts[EYE_L.outer, :2] - pts[EYE_R.outer, :2]))
        confidence = inside * min(1.0, eye_px / 40.0)
        params = self._params(pts)
        if self.smoothing:
            values = {k: self._filters[k](v, t_s) for k, v in params.as_dict().items()}
            params = FaceParams(**values)
        return TrackedFace(params=params, landmarks_px=landmarks_px, confidence=confidence)

    def _normalise(self, pts: FloatArray) -> FloatArray:
        """Centre on the rigid landmarks and scale to unit outer-eye-corner distance."""
        centred = pts - pts[RIGID].mean(axis=0)
        unit = float(np.linalg.norm(centred[EYE_L.outer] - centred[EYE_R.outer]))
        return np.asarray(centred / max(unit, 1e-9), dtype=np.float64)

    def _params(self, pts: FloatArray) -> FaceParams:
        cur = self._normalise(pts)
        if len(self._samples) < CALIBRATION_FRAMES:
            self._add_sample(cur)
        neutral, ns = self._neutral, self._neutral_shape
        assert neutral is not None and ns is not None
        r = _kabsch(neutral[RIGID], cur[RIGID])
        yaw, pitch, roll = euler_from_rotation(r)
        s = _shape(cur @ r)  # rows: R^T p, the face turned back to the neutral's frame
        # The jaw's zero is the most closed mouth seen (not the median), so an operator who is
        # already talking while the neutral is taken still closes to 0; turned-away frames,
        # where the lips are foreshortened, do not count.
        if abs(yaw) < MAX_ZERO_TURN_RAD and abs(pitch) < MAX_ZERO_TURN_RAD:
            self._closed_gap = min(self._closed_gap, s.gap)
        jaw = _clip01((s.gap - min(ns.gap, self._closed_gap)) / JAW_FULL_GAP)
        width = s.mouth_w / max(ns.mouth_w, 1e-9) - 1.0
        smile = _clip01((s.corner_lift - ns.corner_lift) / SMILE_FULL)
        stretch = _clip01((width - JAW_WIDENS * jaw) / STRETCH_FULL - 0.5 * smile)
        pucker = _clip01(-width / PUCKER_FULL)
        thin = 1.0 - s.lip_thick / max(ns.lip_thick, 1e-9)
        press = _clip01(thin / PRESS_FULL) * (1.0 - min(1.0, 3.0 * jaw))  # only when closed

        def blink(ear: float, ear0: float) -> float:
            ratio = ear / max(ear0, 1e-9)
            return _clip01((BLINK_OPEN - ratio) / (BLINK_OPEN - BLINK_SHUT))

        blink_l, blink_r = blink(s.ear_l, ns.ear_l), blink(s.ear_r, ns.ear_r)
        brow = _clip01(0.5 * ((s.brow_l - ns.brow_l) + (s.brow_r - ns.brow_r)) / BROW_FULL)
        # Gaze from the open eye(s): a closing lid drags the iris landmark down with it.
        w_l, w_r = 1.0 - blink_l + 1e-6, 1.0 - blink_r + 1e-6
        gx = (w_l * (s.iris_l[0] - ns.iris_l[0]) + w_r * (s.iris_r[0] - ns.iris_r[0])) / (w_l + w_r)
        gy = (w_l * (s.iris_l[1] - ns.iris_l[1]) + w_r * (s.iris_r[1] - ns.iris_r[1])) / (w_l + w_r)
        open_eyes = 1.0 - min(blink_l, blink_r)
        return FaceParams(
            jaw_open=jaw, lip_pucker=pucker, lip_press=press, lip_stretch=stretch, smile=smile,
            blink_left=blink_l, blink_right=blink_r, brow_raise=brow,
            head_yaw_rad=yaw, head_pitch_rad=pitch, head_roll_rad=roll,
            gaze_x=_clip11(gx / GAZE_X_FULL) * open_eyes,
            gaze_y=_clip11(-gy / GAZE_Y_FULL) * open_eyes)

    def _add_sample(self, cur: FloatArray) -> None:
        """Grow the neutral: each sample is aligned to the first, the neutral is their median."""
        if self._samples:
            first = self._samples[0]
            cur = cur @ _kabsch(first[RIGID], cur[RIGID])
        self._samples.append(cur)
        self._neutral = np.median(np.stack(self._samples), axis=0)
        self._neutral_shape = _shape(self._neutral)
