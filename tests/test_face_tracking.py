"""Face tracking on a real face: the astronaut photo rolled and opening its mouth on a known
schedule, encoded with PyAV and decoded back, tracked by the real mediapipe face mesh."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from studio.core.errors import UserInputError
from studio.face.tracking import CALIBRATION_FRAMES, FaceTracker, OneEuro, TrackedFace
from tests import facemedia

FPS = 25.0
HOLD_S = 0.6  # neutral face first: what the automatic calibration sees


def _roll_deg(t_s: float) -> float:
    return 0.0 if t_s < HOLD_S else 12.0 * math.sin(2.0 * math.pi * (t_s - HOLD_S) / 2.0)


def _mouth_open(t_s: float) -> float:
    return 0.0 if t_s < HOLD_S else 0.5 - 0.5 * math.cos(2.0 * math.pi * (t_s - HOLD_S) / 1.3)


def _decode(path: Path) -> list[npt.NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return [np.asarray(f.to_ndarray(format="rgb24"), dtype=np.uint8)
                for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def moving_face(tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[facemedia.FaceTruth, list[npt.NDArray[np.uint8]]]:
    path = tmp_path_factory.mktemp("face") / "face.mp4"
    truth = facemedia.write_face_video(path, duration_s=4.6, fps=FPS, roll_deg=_roll_deg,
                                       mouth_open=_mouth_open, size_px=(640, 360))
    frames = _decode(path)
    assert len(frames) == truth.t_s.size
    return truth, frames


@pytest.fixture(scope="module")
def tracked(moving_face: tuple[facemedia.FaceTruth, list[npt.NDArray[np.uint8]]]
            ) -> list[TrackedFace]:
    truth, frames = moving_face
    with FaceTracker() as tracker:
        out = [tracker.track(f, float(t)) for f, t in zip(frames, truth.t_s, strict=True)]
    assert all(o is not None for o in out), "the face was lost in the test video"
    return [o for o in out if o is not None]


def _series(tracked: list[TrackedFace], name: str) -> npt.NDArray[np.float64]:
    return np.array([getattr(t.params, name) for t in tracked], dtype=np.float64)


def test_roll_follows_the_known_rotation(
        moving_face: tuple[facemedia.FaceTruth, list[npt.NDArray[np.uint8]]],
        tracked: list[TrackedFace]) -> None:
    truth, _ = moving_face
    roll_deg = np.degrees(_series(tracked, "head_roll_rad"))
    err = np.abs(roll_deg - truth.roll_deg)[CALIBRATION_FRAMES:]
    assert err.max() < 2.0, f"roll off by up to {err.max():.2f}°"
    # Clockwise on screen is positive, as FaceParams says: the peak is at +12°, not -12°.
    assert roll_deg[np.argmax(truth.roll_deg)] > 10.0
    # An in-plane rotation must not read as turning or nodding.
    for name in ("head_yaw_rad", "head_pitch_rad"):
        assert np.degrees(np.abs(_series(tracked, name))).max() < 4.0, name


def test_jaw_follows_the_mouth(
        moving_face: tuple[facemedia.FaceTruth, list[npt.NDArray[np.uint8]]],
        tracked: list[TrackedFace]) -> None:
    truth, _ = moving_face
    jaw = _series(tracked, "jaw_open")
    assert np.corrcoef(jaw, truth.mouth_open)[0, 1] > 0.9
    closed, wide = truth.mouth_open < 0.02, truth.mouth_open > 0.9
    assert jaw[closed].mean() < 0.05 and jaw[closed].max() < 0.12
    assert jaw[wide].mean() > 0.4
    # Opening the jaw is not a smile or a pucker.
    assert _series(tracked, "smile").max() < 0.2
    assert _series(tracked, "lip_pucker").max() < 0.2


def test_open_eyes_do_not_blink(tracked: list[TrackedFace]) -> None:
    for name in ("blink_left", "blink_right"):
        assert _series(tracked, name).max() < 0.05, name
    for name in ("gaze_x", "gaze_y"):
        assert np.abs(_series(tracked, name)).max() < 0.35, name


def test_landmarks_are_frame_pixels(tracked: list[TrackedFace]) -> None:
    first = tracked[0]
    assert first.landmarks_px.shape == (478, 2) and first.landmarks_px.dtype == np.float32
    # The generator puts the face centre at (w/2, 0.45 h) of the 640x360 frame.
    centre = first.landmarks_px.mean(axis=0)
    assert abs(centre[0] - 320) < 20 and abs(centre[1] - 162) < 25
    assert 0.5 < first.confidence <= 1.0


@pytest.mark.parametrize("mirror", [False, True])
def test_a_closed_eye_blinks_on_its_side_of_the_image(mirror: bool) -> None:
    """The eye on the image's left drives blink_left (the avatar's eye on the image's left)."""
    def frame(t_s: float, eyes: tuple[float, float]) -> npt.NDArray[np.uint8]:
        f = facemedia.face_frame(t_s, roll_deg=0.0, mouth_open=0.0,
                                 eyes_closed=eyes[::-1] if mirror else eyes)
        return np.ascontiguousarray(f[:, ::-1]) if mirror else f

    with FaceTracker() as tracker:
        for i in range(CALIBRATION_FRAMES):
            tracker.track(frame(i / FPS, (0.0, 0.0)), i / FPS)
        for eyes, side in (((1.0, 0.0), "left"), ((0.0, 1.0), "right")):
            t0 = 1.0 if side == "left" else 2.0
            for i in range(4):
                face = tracker.track(frame(t0 + i / FPS, eyes), t0 + i / FPS)
            assert face is not None
            shut, other = ((face.params.blink_left, face.params.blink_right) if side == "left"
                           else (face.params.blink_right, face.params.blink_left))
            assert shut > 0.7 and other < 0.15, (side, face.params)
            assert abs(face.params.gaze_y) < 0.35


def test_jaw_follows_speech(tmp_path: Path, piper_voice: Any) -> None:
    """A face 'saying' a sentence (mouth from the speech's loudness): the tracked jaw follows."""
    audio, rate_hz = facemedia.write_speech_wav(
        tmp_path / "speech.wav", "Hello, this mug costs thirty nine yuan today.", tts=piper_voice)
    mouth = facemedia.mouth_open_from_speech(audio, rate_hz, FPS)
    assert mouth.max() > 0.8 and mouth.min() < 0.05
    truth = facemedia.write_face_video(
        tmp_path / "talk.mp4", duration_s=mouth.size / FPS, fps=FPS, roll_deg=lambda t: 0.0,
        mouth_open=lambda t: float(mouth[min(round(t * FPS), mouth.size - 1)]))
    with FaceTracker() as tracker:
        faces = [tracker.track(f, float(t))
                 for f, t in zip(_decode(tmp_path / "talk.mp4"), truth.t_s, strict=True)]
    jaw = np.array([f.params.jaw_open if f is not None else np.nan for f in faces])
    assert not np.isnan(jaw).any()
    assert np.corrcoef(jaw, truth.mouth_open)[0, 1] > 0.85


def test_no_face_gives_none_and_the_face_comes_back(tmp_path: Path) -> None:
    path = tmp_path / "empty.mkv"
    facemedia.write_no_face_video(path, duration_s=0.4, fps=FPS)
    with FaceTracker() as tracker:
        face = facemedia.face_frame(0.0, roll_deg=0.0, mouth_open=0.0)
        assert tracker.track(face, 0.0) is not None
        for i, frame in enumerate(_decode(path)):
            assert tracker.track(frame, 0.04 * (i + 1)) is None
        back = tracker.track(facemedia.face_frame(1.0, roll_deg=5.0, mouth_open=0.0), 1.0)
    assert back is not None
    assert abs(math.degrees(back.params.head_roll_rad) - 5.0) < 2.0


def _settle(tracker: FaceTracker, roll_deg: float, t0_s: float, n: int = 12,
            size_px: tuple[int, int] = (640, 360), mirror: bool = False) -> TrackedFace:
    last: TrackedFace | None = None
    for i in range(n):
        t_s = t0_s + i / FPS
        frame = facemedia.face_frame(t_s, roll_deg=roll_deg, mouth_open=0.0, size_px=size_px)
        last = tracker.track(np.ascontiguousarray(frame[:, ::-1]) if mirror else frame, t_s)
        assert last is not None
    assert last is not None
    return last


def test_calibrate_rezeros_the_pose() -> None:
    with FaceTracker() as tracker:
        _settle(tracker, 0.0, 0.0)
        tilted = _settle(tracker, 10.0, 1.0)
        assert abs(math.degrees(tilted.params.head_roll_rad) - 10.0) < 1.5
        tracker.calibrate()
        rezeroed = _settle(tracker, 10.0, 2.0)
        assert abs(math.degrees(rezeroed.params.head_roll_rad)) < 1.0
        assert rezeroed.params.jaw_open < 0.05


def test_mirrored_odd_size_and_large_frames() -> None:
    # Mirrored (a selfie view): the clockwise turn in the image is what the avatar copies.
    with FaceTracker() as tracker:
        _settle(tracker, 0.0, 0.0, size_px=(641, 359), mirror=True)
        turned = _settle(tracker, 10.0, 1.0, size_px=(641, 359), mirror=True)
    assert abs(math.degrees(turned.params.head_roll_rad) + 10.0) < 1.5
    assert turned.landmarks_px[:, 0].max() < 641 and turned.landmarks_px[:, 1].max() < 359
    # 1280x720 is downscaled for mediapipe; landmarks still come back in the frame's pixels.
    with FaceTracker(max_side_px=640) as tracker:
        big = _settle(tracker, 0.0, 0.0, n=2, size_px=(1280, 720))
    centre = big.landmarks_px.mean(axis=0)
    assert abs(centre[0] - 640) < 40 and abs(centre[1] - 324) < 50


def test_turns_read_with_the_avatars_signs() -> None:
    """yaw > 0: the face turns to the viewer's right; pitch > 0: down (FaceParams). The media is
    a flat photo turned in perspective, which mediapipe reads as a small turn: signs only."""
    def pose(yaw_deg: float, pitch_deg: float) -> tuple[float, float]:
        with FaceTracker(smoothing=False) as tracker:
            for i in range(CALIBRATION_FRAMES):
                tracker.track(facemedia.face_frame(i / FPS, roll_deg=0.0, mouth_open=0.0), i / FPS)
            face = tracker.track(facemedia.face_frame(1.0, roll_deg=0.0, mouth_open=0.0,
                                                      yaw_deg=yaw_deg, pitch_deg=pitch_deg), 1.0)
        assert face is not None
        return math.degrees(face.params.head_yaw_rad), math.degrees(face.params.head_pitch_rad)

    yaw0, pitch0 = pose(0.0, 0.0)
    assert pose(30.0, 0.0)[0] - yaw0 > 0.5 and pose(-30.0, 0.0)[0] - yaw0 < -0.5
    assert pose(0.0, 30.0)[1] - pitch0 > 0.5 and pose(0.0, -30.0)[1] - pitch0 < -0.5


def test_bad_frames_say_what_to_do() -> None:
    with FaceTracker() as tracker, pytest.raises(UserInputError, match="rgb24"):
        tracker.track(np.zeros((360, 640), dtype=np.uint8), 0.0)
    with pytest.raises(UserInputError, match="max_side_px"):
        FaceTracker(max_side_px=8)


def test_one_euro_removes_jitter_but_keeps_moves() -> None:
    rng = np.random.default_rng(3)
    f = OneEuro(1.0, 6.0)
    still = [f(0.01 * float(rng.normal()), i / 30.0) for i in range(60)]
    assert np.std(still[10:]) < 0.004  # raw jitter is 0.01
    moved = [f(1.0, (60 + i) / 30.0) for i in range(4)]
    assert moved[-1] > 0.8  # a step is mostly through within ~0.1 s


def test_tracking_leaves_qt_pointed_at_our_plugins() -> None:
    """mediapipe's OpenCV repoints Qt at its own plugins when imported; the window (and OBS,
    started from it) would then fail to start. A fresh process, so the import is the first."""
    import subprocess
    import sys

    code = ("import os, numpy as np\n"
            "from studio.face.tracking import FaceTracker\n"
            "t = FaceTracker(max_side_px=64)\n"
            "t.track(np.zeros((120, 160, 3), np.uint8), 0.0)\n"
            "print(repr(os.environ.get('QT_QPA_PLATFORM_PLUGIN_PATH')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "None"
