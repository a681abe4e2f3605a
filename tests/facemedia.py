"""Test media for puppet mode: a real face (skimage's astronaut photo, public domain) that rolls
and opens its mouth on a known schedule, a speech file from the shipped voice, and a no-face clip.

The face is a photo, not a drawing, so mediapipe tracks it as it would a webcam; the truth
(roll, mouth opening per frame) is what the tests compare the tracker and the avatar against.
Roll > 0 turns the face clockwise on screen (FaceParams' convention).
"""

from __future__ import annotations

import itertools
import math
import wave
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from studio.face.tracking import keep_qt_environment

with keep_qt_environment():
    import cv2

if TYPE_CHECKING:
    from studio.voice.piper_tts import PiperTTS

Rgb = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]

# Landmarks of the photo as mediapipe finds them (source pixels of the 512x512 image).
FACE_CENTRE_SRC = (224.0, 125.0)   # between the eyes and the chin: the roll pivot
FACE_HEIGHT_SRC = 106.0            # forehead (landmark 10) to chin (152)
# Lower inner lip, corner to corner (landmarks 78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308):
# the cut the mouth opens along (the teeth stay with the upper lip, the lower lip moves down).
_CUT_X = np.array([203.3, 206.4, 209.0, 212.6, 217.3, 223.0, 228.6, 233.3, 237.1, 239.9, 243.4])
_CUT_Y = np.array([139.9, 143.2, 145.5, 147.7, 149.3, 150.1, 149.7, 148.5, 146.6, 144.6, 141.5])
_MOUTH_CX = 223.3
_MOUTH_HALF_W = 21.0
_CHIN_Y = 177.4
_CHIN_FADE = 45.0           # below the chin the drop fades out over this many source px
_OPEN_MAX_SRC = 12.0        # lower-lip drop at mouth_open = 1 (source px, ~0.11 face height)
# Eye lids, corner to corner: the image-left eye (landmarks 33..133) and the image-right one
# (362..263); x, upper-lid y, lower-lid y.
_EYES = (
    (np.array([195.2, 197.2, 199.4, 202.8, 206.3, 209.7, 212.2, 213.3]),
     np.array([100.9, 99.2, 98.1, 97.6, 98.1, 99.9, 102.3, 103.7]),
     np.array([100.9, 103.0, 103.8, 104.3, 104.3, 104.0, 103.9, 103.7])),
    (np.array([237.0, 238.4, 241.2, 244.7, 248.3, 251.9, 253.9, 255.8]),
     np.array([104.9, 103.7, 101.6, 100.0, 99.7, 100.6, 102.1, 104.3]),
     np.array([104.9, 105.3, 105.8, 106.4, 106.7, 106.4, 105.8, 104.3])),
)
_LID_SKIN_SRC = 7.0   # source px of lid skin above the upper lid that slides down over the eye
_LASH = np.array([70.0, 45.0, 35.0])
_WARP_BOX = (150, 135, 300, 240)   # x0, y0, x1, y1: source region the mouth warp touches
_MOUTH_DARK = np.array([52.0, 16.0, 20.0])
_BACKGROUND = np.array([118.0, 124.0, 130.0])
# Head-and-shoulders ellipse of the photo kept over the neutral background.
_KEEP_C, _KEEP_R, _KEEP_FEATHER = (225.0, 150.0), (100.0, 128.0), 14.0


@lru_cache(maxsize=1)
def _photo() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The astronaut photo (float RGB) and its soft head-and-shoulders mask."""
    import skimage.data

    rgb = skimage.data.astronaut().astype(np.float32)
    yy, xx = np.mgrid[0:rgb.shape[0], 0:rgb.shape[1]].astype(np.float32)
    r = np.hypot((xx - _KEEP_C[0]) / _KEEP_R[0], (yy - _KEEP_C[1]) / _KEEP_R[1])
    edge = (r - 1.0) * min(_KEEP_R) / _KEEP_FEATHER
    mask = np.clip(0.5 - edge, 0.0, 1.0).astype(np.float32)
    return rgb, mask


def _open_mouth(rgb: npt.NDArray[np.float32], mouth_open: float) -> npt.NDArray[np.float32]:
    """Drop the lower lip and chin by a smooth lens-shaped amount, dark mouth in the gap."""
    drop_src = _OPEN_MAX_SRC * min(max(mouth_open, 0.0), 1.0)
    if drop_src <= 0.0:
        return rgb
    x0, y0, x1, y1 = _WARP_BOX
    out = rgb.copy()
    xs = np.arange(x0, x1, dtype=np.float64)
    cut = np.interp(xs, _CUT_X, _CUT_Y, left=_CUT_Y[0], right=_CUT_Y[-1])
    rows = np.arange(y0, y1, dtype=np.float64)
    map_y = np.tile(rows[:, None], (1, xs.size))
    gap_alpha = np.zeros_like(map_y)
    for j, x in enumerate(xs):
        ys_fine = cut[j] + np.arange(0.0, y1 + _CHIN_FADE - cut[j], 0.25)
        # The jaw widens below the lips: narrow (corner to corner) at the cut, wider at the chin.
        depth = np.clip((ys_fine - cut[j]) / (_CHIN_Y - cut[j]), 0.0, 1.0)
        half_w = _MOUTH_HALF_W * (1.0 + 1.6 * np.sqrt(depth))
        u = np.clip(np.abs(x - _MOUTH_CX) / half_w, 0.0, 1.0)
        wx = (1.0 - u * u) ** (0.6 + 1.4 * depth)
        fade = np.clip((ys_fine - _CHIN_Y) / _CHIN_FADE, 0.0, 1.0)
        wy = 0.5 * (1.0 + np.cos(math.pi * fade))
        drop = drop_src * wx * wy
        if drop.max() <= 1e-3:
            continue
        # Where each source row at or below the cut lands (monotonic: the drop's slope > -1).
        srcs, fwd = ys_fine, ys_fine + drop
        top = cut[j] + float(drop[0])  # the lower lip's new top edge
        mapped = np.interp(rows, fwd, srcs)
        col = np.where(rows <= cut[j], rows, np.where(rows < top, cut[j], mapped))
        map_y[:, j] = col
        gap_alpha[:, j] = (np.clip(rows - cut[j] + 0.5, 0.0, 1.0)
                           * np.clip(top - rows + 0.5, 0.0, 1.0) * min(float(drop[0]), 1.0))
    map_x = np.tile(xs[None, :], (rows.size, 1)).astype(np.float32)
    warped = cv2.remap(rgb, map_x, map_y.astype(np.float32), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    a = gap_alpha[:, :, None].astype(np.float32)
    out[y0:y1, x0:x1] = warped * (1.0 - a) + _MOUTH_DARK.astype(np.float32) * a
    return out


def _close_eye(rgb: npt.NDArray[np.float32], eye: int, closed: float) -> npt.NDArray[np.float32]:
    """Slide the upper lid (the skin above it stretched) down over the eye by ``closed`` 0..1
    of its opening, a lash line at its edge."""
    c = min(max(closed, 0.0), 1.0)
    if c <= 0.0:
        return rgb
    ex, eu, el = _EYES[eye]
    x0, x1 = math.floor(ex[0]) - 1, math.ceil(ex[-1]) + 2
    y0, y1 = math.floor(eu.min() - _LID_SKIN_SRC) - 1, math.ceil(el.max()) + 2
    xs = np.arange(x0, x1, dtype=np.float64)
    rows = np.arange(y0, y1, dtype=np.float64)[:, None]
    up = np.interp(xs, ex, eu)[None, :]
    lo = np.interp(xs, ex, el)[None, :]
    edge = up + c * np.maximum(lo - up, 0.0)          # the lid's new edge
    top = up - _LID_SKIN_SRC                          # skin above this stays put
    stretched = top + (rows - top) * (up - top) / np.maximum(edge - top, 1e-6)
    map_y = np.where((rows >= top) & (rows <= edge), stretched, rows)
    map_x = np.broadcast_to(xs[None, :], map_y.shape).astype(np.float32)
    out = rgb.copy()
    warped = cv2.remap(rgb, map_x, map_y.astype(np.float32), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    lash = np.clip(1.0 - np.abs(rows - edge) / 1.2, 0.0, 1.0) * 0.8 * c
    inside = ((xs > ex[0]) & (xs < ex[-1]))[None, :]
    a = (lash * inside)[:, :, None].astype(np.float32)
    out[y0:y1, x0:x1] = warped * (1.0 - a) + _LASH.astype(np.float32) * a
    return out


def face_frame(t_s: float, *, roll_deg: float, mouth_open: float,
               size_px: tuple[int, int] = (640, 360),
               eyes_closed: tuple[float, float] = (0.0, 0.0), yaw_deg: float = 0.0,
               pitch_deg: float = 0.0) -> Rgb:
    """One webcam-like frame: the photo's face, rolled ``roll_deg`` (clockwise on screen) about
    the face centre, mouth opened by ``mouth_open`` (0..1), on a neutral background;
    ``eyes_closed`` lowers the lids of the image-left and image-right eye (0 open, 1 shut).
    ``yaw_deg``/``pitch_deg`` turn the (flat) photo in perspective, yaw > 0 toward the viewer's
    right, pitch > 0 down: a plane has no nose to turn, so only their signs are a truth.

    ``t_s`` only adds a faint, deterministic sensor grain, so no two frames are identical."""
    w, h = size_px
    rgb, mask = _photo()
    src = _open_mouth(rgb, mouth_open)
    for eye, closed in enumerate(eyes_closed):
        src = _close_eye(src, eye, closed)
    scale = 0.42 * h / FACE_HEIGHT_SRC
    a = math.radians(roll_deg)
    ca, sa = math.cos(a) * scale, math.sin(a) * scale
    cx, cy = FACE_CENTRE_SRC
    ox, oy = w / 2.0, 0.45 * h
    # out = o + s R (p - c), R clockwise on screen for y-down coordinates.
    m = np.array([[ca, -sa, ox - (ca * cx - sa * cy)],
                  [sa, ca, oy - (sa * cx + ca * cy)]], dtype=np.float64)
    face = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    keep = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)[:, :, None]
    out: npt.NDArray[Any] = face * keep + _background(w, h) * (1.0 - keep)
    if yaw_deg or pitch_deg:
        out = cv2.warpPerspective(out, _turn(yaw_deg, pitch_deg, (ox, oy), float(w)), (w, h),
                                  flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    grain = np.random.default_rng(round(t_s * 1000.0) & 0xFFFFFFFF).normal(
        0.0, 0.6, size=(h, w, 1)).astype(np.float32)
    return np.clip(out + grain, 0.0, 255.0).round().astype(np.uint8)


def _turn(yaw_deg: float, pitch_deg: float, centre_px: tuple[float, float],
          distance_px: float) -> npt.NDArray[np.float64]:
    """Homography of the image plane turned about the face centre, seen by a pinhole camera
    ``distance_px`` away (focal length the same): the side turning away gets smaller."""
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(y), 0.0, 0.0], [0.0, 1.0, 0.0], [math.sin(y), 0.0, 0.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(p), 0.0], [0.0, math.sin(p), 0.0]])
    # Columns: where the plane's u and v axes go in 3D (x right, y down, z away from the camera).
    u_axis, v_axis = ry[:, 0], rx[:, 1]
    d = distance_px
    m = np.array([[d * u_axis[0], d * v_axis[0], 0.0],
                  [d * u_axis[1], d * v_axis[1], 0.0],
                  [u_axis[2], v_axis[2], d]])
    cx, cy = centre_px
    to_c = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    back = np.array([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]])
    return np.asarray(back @ m @ to_c, dtype=np.float64)


def _background(w: int, h: int) -> npt.NDArray[np.float32]:
    """A plain wall: grey with a soft vertical gradient (nothing mediapipe could call a face)."""
    ramp = np.linspace(1.06, 0.92, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(_BACKGROUND.astype(np.float32) * ramp, (h, w, 3))


def background_frame(size_px: tuple[int, int] = (640, 360)) -> Rgb:
    """The same framing with nobody in it (the operator stepped away)."""
    w, h = size_px
    return np.clip(_background(w, h), 0.0, 255.0).round().astype(np.uint8)


@dataclass(frozen=True)
class FaceTruth:
    """What each frame of a generated face video shows."""

    t_s: FloatArray
    roll_deg: FloatArray
    mouth_open: FloatArray
    fps: float
    size_px: tuple[int, int]


def _write_video(path: Path, frames: Callable[[int], Rgb], n_frames: int, fps: float,
                 size_px: tuple[int, int]) -> None:
    from fractions import Fraction

    import av

    w, h = size_px
    if w % 2 or h % 2:
        raise ValueError(f"video size {w}x{h} must be even for yuv420p; use face_frame() for odd "
                         "sizes")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast", "g": str(max(1, round(fps)))}
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(frames(i), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def write_face_video(path: Path, *, duration_s: float, fps: float,
                     roll_deg: Callable[[float], float], mouth_open: Callable[[float], float],
                     size_px: tuple[int, int] = (640, 360)) -> FaceTruth:
    """Encode the moving face (libx264 crf 12, yuv420p: near lossless) and return its truth."""
    n = max(1, round(duration_s * fps))
    t = np.arange(n, dtype=np.float64) / fps
    roll = np.array([float(roll_deg(float(x))) for x in t])
    mouth = np.clip(np.array([float(mouth_open(float(x))) for x in t]), 0.0, 1.0)
    _write_video(Path(path), lambda i: face_frame(float(t[i]), roll_deg=float(roll[i]),
                                                  mouth_open=float(mouth[i]), size_px=size_px),
                 n, fps, size_px)
    return FaceTruth(t_s=t, roll_deg=roll, mouth_open=mouth, fps=fps, size_px=size_px)


def write_no_face_video(path: Path, *, duration_s: float, fps: float,
                        size_px: tuple[int, int] = (640, 360)) -> None:
    """The empty background, for the "face lost" case."""
    still = background_frame(size_px)
    rng = np.random.default_rng(7)

    def frame(_: int) -> Rgb:
        grain = rng.normal(0.0, 0.6, size=still.shape)
        return np.clip(still + grain, 0, 255).round().astype(np.uint8)

    _write_video(Path(path), frame, max(1, round(duration_s * fps)), fps, size_px)


def write_speech_wav(path: Path, text: str, *,
                     tts: PiperTTS | None = None) -> tuple[npt.NDArray[np.float32], int]:
    """Speak ``text`` with the shipped voice and write it as 48 kHz 16-bit mono wav."""
    from studio.voice.piper_tts import PiperTTS

    voice = tts if tts is not None else PiperTTS("en_US-joe-medium")
    clip = voice.synthesize(text)
    audio = np.asarray(clip.audio, dtype=np.float32)
    rate_hz = 48_000
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate_hz)
        wav.writeframes(pcm.tobytes())
    return audio, rate_hz


def mouth_open_from_speech(audio: npt.NDArray[np.float32], sample_rate_hz: int,
                           fps: float) -> FloatArray:
    """Per-frame mouth opening 0..1 from the speech's loudness (RMS per frame in dB, -35 dB
    below the loud frames = closed, lightly smoothed), so a face video can 'say' the speech."""
    x = np.asarray(audio, dtype=np.float64)
    n = max(1, math.ceil(x.size * fps / sample_rate_hz))
    edges = np.minimum((np.arange(n + 1) * sample_rate_hz / fps).round().astype(int), x.size)
    rms = np.array([math.sqrt(float(np.mean(x[a:b] ** 2))) if b > a else 0.0
                    for a, b in itertools.pairwise(edges)])
    ref = float(np.percentile(rms, 95)) if np.any(rms > 0) else 1.0
    db = 20.0 * np.log10(np.maximum(rms, 1e-9) / max(ref, 1e-9))
    level = np.clip((db + 35.0) / 35.0, 0.0, 1.0)
    kernel = np.array([0.25, 0.5, 0.25])
    smooth = np.convolve(np.pad(level, 1, mode="edge"), kernel, mode="valid")
    return np.clip(smooth, 0.0, 1.0) ** 1.5
