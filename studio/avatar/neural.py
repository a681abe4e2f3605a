"""Neural avatar plug-ins: image-based talking-head models in ONNX that users bring.

A plug-in is a folder with ``model.json`` (the manifest, :class:`Manifest`), the ONNX model and
a portrait (the source image). Two kinds:

- ``wav2lip``: a face crop of the portrait + a mel window of the voice -> the crop with a
  speaking mouth; only the crop's lower half (the mouth) is blended back.
- ``liveportrait``: the crop + a motion vector (named FaceParams fields: jaw, lips, blinks,
  head pose) -> the re-posed crop, blended back whole.

Per frame the avatar builds the model's inputs as the manifest says (size, channels, colour
order RGB/BGR, layout NCHW/NHWC, normalisation), runs the model on onnxruntime (TensorRT ->
CUDA -> CPU as :mod:`studio.core.accel` requests them; the provider in use is shown in
``execution_provider`` and a GPU that was asked for and not used is a WARNING, never silent),
maps the output back to RGB pixels, blends it into the portrait with a feathered mask (the
weight rises smoothly over ``feather_px``, so there is no step at the crop's edge), and draws
the portrait as one texture (only the changed rows re-uploaded) into the host's rectangle.

The mel window is computed from the program's sound: a wav2lip avatar asks for the sound
around each frame (``audio_window_s``, from the manifest's ``"mel"`` settings and
``sizes.mel_frames``) and the engine hands it with the frame (the render and the live engine
alike: :class:`studio.avatar.base.FrameAudio`); :mod:`studio.avatar.mel` turns it into the
mel spectrogram exactly as Wav2Lip's ``audio.py`` does (its settings are the defaults).

The licence is part of the manifest and is shown (``licence_notice``, logged on load, in
:func:`plugin_notices`); a non-commercial licence gives a warning such as
"CC-BY-NC-4.0: not for commercial streams".
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from studio.avatar.base import (
    NO_AUDIO_WINDOW,
    AvatarKind,
    AvatarNotice,
    AvatarRefused,
    FrameAudio,
    register_avatar_kind,
)
from studio.avatar.mel import MelSpec, MelWindow
from studio.core.accel import (
    available_providers,
    log_provider_once,
    requested_providers,
    short_provider_name,
)
from studio.core.rects import Rect
from studio.face.params import FaceParams

if TYPE_CHECKING:
    from studio.show.model import Host

_LOG = logging.getLogger("studio.avatar.neural")

MANIFEST = "model.json"
F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
FACE_FIELDS = tuple(f.name for f in fields(FaceParams))
DEFAULT_MOTION = ("jaw_open", "lip_pucker", "lip_stretch", "smile", "blink_left",
                  "blink_right", "head_yaw_rad", "head_pitch_rad", "head_roll_rad")
MIN_SOURCE_SIDE_PX = 64
MAX_SOURCE_SIDE_PX = 2048
_ORT_TYPES = {"float32": "tensor(float)", "float16": "tensor(float16)",
              "uint8": "tensor(uint8)"}
_NP_TYPES: dict[str, Any] = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8}
_ONNX_ELEM = {1: "float32", 10: "float16", 2: "uint8"}


# ---------------------------------------------------------------------------- the manifest
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Normalisation(_Strict):
    """Pixels (0..1) or mel features (dB) to model values: ``(x * scale - mean) / std`` (mean
    and std one number or one per channel, in the model's colour order), or ``range``:
    ``source_range`` (default 0..1 for pixels; for mel ``[mel.min_level_db, 0]`` dB, the mel
    clipped to it first, Wav2Lip's ``_normalize``) mapped linearly onto ``range``. Outputs
    are mapped back the same way."""

    scale: float = 1.0
    mean: float | list[float] = 0.0
    std: float | list[float] = 1.0
    range: tuple[float, float] | None = None
    source_range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Normalisation:
        if self.range is not None and (self.scale != 1.0 or self.mean != 0.0 or self.std != 1.0):
            raise ValueError("give either range or scale/mean/std, not both")
        stds = self.std if isinstance(self.std, list) else [self.std]
        if any(s == 0 for s in stds) or self.scale == 0:
            raise ValueError("std and scale must not be 0")
        if self.range is not None and self.range[0] == self.range[1]:
            raise ValueError("range needs two different ends, e.g. [-1, 1]")
        return self


Role = Literal["face", "source", "mel", "motion", "image"]


class TensorSpec(_Strict):
    name: Annotated[str, Field(min_length=1)]
    role: Role
    shape: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=4)]
    dtype: Literal["float32", "float16", "uint8"] = "float32"
    colour_order: Literal["RGB", "BGR"] = "RGB"
    layout: Literal["NCHW", "NHWC", "mel_time", "time_mel", "NK"] = "NCHW"
    normalisation: Normalisation = Normalisation()

    @model_validator(mode="after")
    def _consistent(self) -> TensorSpec:
        image = self.role in ("face", "source", "image")
        if image and self.layout not in ("NCHW", "NHWC"):
            raise ValueError(f"an image tensor's layout is NCHW or NHWC, not {self.layout}")
        if image and len(self.shape) != 4:
            raise ValueError(f"an image tensor's shape has 4 numbers (N, C, H, W for NCHW), "
                             f"got {self.shape}")
        if self.role == "mel" and self.layout not in ("mel_time", "time_mel"):
            raise ValueError("a mel tensor's layout is mel_time (…, 80, frames) or time_mel "
                             "(…, frames, 80)")
        if self.role == "motion" and (self.layout != "NK" or len(self.shape) != 2):
            raise ValueError("a motion tensor has layout NK and shape [1, K]")
        if self.shape[0] != 1:
            raise ValueError(f"the batch size (first number of shape) must be 1, got "
                             f"{self.shape[0]}")
        return self

    @property
    def hw(self) -> tuple[int, int]:
        return ((self.shape[2], self.shape[3]) if self.layout == "NCHW"
                else (self.shape[1], self.shape[2]))

    @property
    def channels(self) -> int:
        return self.shape[1] if self.layout == "NCHW" else self.shape[3]


class Sizes(_Strict):
    crop_px: Annotated[int, Field(ge=8, le=2048)]
    mel_frames: Annotated[int, Field(ge=1, le=512)] | None = None


class Crop(_Strict):
    """The crop of the portrait the model sees: ``box_px`` (x, y, w, h) as given, or the face
    box found by mediapipe's face mesh grown by ``padding`` (a fraction of the face's size per
    side, ``[top, right, bottom, left]`` or one number) and made square."""

    box_px: tuple[int, int, int, int] | None = None
    padding: float | tuple[float, float, float, float] = 0.15
    square: bool = True


class Blend(_Strict):
    region: Literal["lower_half", "full"] | None = None
    feather_px: Annotated[int, Field(ge=0, le=256)] = 8


class MotionEntry(_Strict):
    param: str
    scale: float = 1.0
    offset: float = 0.0

    @model_validator(mode="after")
    def _known(self) -> MotionEntry:
        if self.param not in FACE_FIELDS:
            raise ValueError(f"{self.param!r} is not a face parameter; use one of "
                             f"{', '.join(FACE_FIELDS)}")
        return self


class Manifest(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["wav2lip", "liveportrait"]
    licence: Annotated[str, Field(min_length=1, max_length=2000)]
    licence_url: str = ""
    commercial_use: bool | None = None
    model: Annotated[str, Field(min_length=1)]
    source_image: Annotated[str, Field(min_length=1)]
    inputs: Annotated[list[TensorSpec], Field(min_length=1)]
    outputs: Annotated[list[TensorSpec], Field(min_length=1)]
    sizes: Sizes
    crop: Crop = Crop()
    blend: Blend = Blend()
    motion: list[MotionEntry] | None = None
    mel: MelSpec | None = None  # how the mel window is computed (wav2lip; Wav2Lip's defaults)

    @model_validator(mode="after")
    def _roles(self) -> Manifest:
        need = {"wav2lip": ("face", "mel"), "liveportrait": ("source", "motion")}[self.kind]
        roles: list[str] = [t.role for t in self.inputs]
        for role in need:
            if roles.count(role) != 1:
                raise ValueError(f"a {self.kind} model takes exactly one input with role "
                                 f"{role!r} (inputs have roles {roles}); inputs need roles "
                                 f"{' and '.join(need)}")
        extra = [r for r in roles if r not in need]
        if extra:
            raise ValueError(f"inputs role {extra[0]!r} is not one a {self.kind} model takes "
                             f"(use {' and '.join(need)})")
        images = [t for t in self.outputs if t.role == "image"]
        if len(images) != 1:
            raise ValueError("exactly one output needs role \"image\" (the generated crop)")
        if images[0].channels != 3:
            raise ValueError(f"outputs {images[0].name!r}: the image output has 3 channels, "
                             f"its shape {images[0].shape} says {images[0].channels}")
        image_in = self.image_input
        if image_in.channels not in ((3, 6) if self.kind == "wav2lip" else (3,)):
            raise ValueError(f"inputs {image_in.name!r}: {image_in.channels} channels; a "
                             f"{self.kind} face input has 3 (the crop)"
                             + (" or 6 (masked crop + reference)" if self.kind == "wav2lip"
                                else ""))
        if image_in.hw != (self.sizes.crop_px, self.sizes.crop_px):
            raise ValueError(f"sizes.crop_px is {self.sizes.crop_px} but inputs "
                             f"{image_in.name!r} is {image_in.hw[0]}x{image_in.hw[1]}; set "
                             f"sizes.crop_px to the input's size")
        if self.kind == "wav2lip":
            mel = self.input_for("mel")
            bins, frames = ((mel.shape[-2], mel.shape[-1]) if mel.layout == "mel_time"
                            else (mel.shape[-1], mel.shape[-2]))
            n_mels = self.mel_spec.n_mels
            if bins != n_mels:
                raise ValueError(
                    f"inputs {mel.name!r} takes {bins} mel bands but mel.n_mels is {n_mels}"
                    + (" (Wav2Lip's default)" if self.mel is None else "")
                    + f"; set \"mel\": {{\"n_mels\": {bins}}} or fix the input's shape")
            if self.sizes.mel_frames is None:
                raise ValueError(f"sizes.mel_frames is missing; set it to {frames}, the "
                                 f"frames of inputs {mel.name!r}")
            if self.sizes.mel_frames != frames:
                raise ValueError(f"sizes.mel_frames is {self.sizes.mel_frames} but inputs "
                                 f"{mel.name!r} holds {frames} frames; make them equal")
        else:
            if self.mel is not None:
                raise ValueError("mel: a liveportrait model does not hear the voice (it takes "
                                 "motion); remove \"mel\"")
            k = self.input_for("motion").shape[1]
            if len(self.motion_entries) != k:
                raise ValueError(
                    f"motion lists {len(self.motion_entries)} face parameters but inputs "
                    f"{self.input_for('motion').name!r} takes K={k}; list exactly {k} in "
                    f"\"motion\" (e.g. {{\"param\": \"jaw_open\"}})")
        return self

    @property
    def mel_spec(self) -> MelSpec:
        return self.mel if self.mel is not None else MelSpec()

    def input_for(self, role: str) -> TensorSpec:
        return next(t for t in self.inputs if t.role == role)

    @property
    def image_input(self) -> TensorSpec:
        return self.input_for("face" if self.kind == "wav2lip" else "source")

    @property
    def image_output(self) -> TensorSpec:
        return next(t for t in self.outputs if t.role == "image")

    @property
    def motion_entries(self) -> list[MotionEntry]:
        if self.motion is not None:
            return self.motion
        return [MotionEntry(param=p) for p in DEFAULT_MOTION]

    @property
    def blend_region(self) -> str:
        if self.blend.region is not None:
            return self.blend.region
        return "lower_half" if self.kind == "wav2lip" else "full"

    @property
    def non_commercial(self) -> bool:
        if self.commercial_use is not None:
            return not self.commercial_use
        return bool(re.search(r"(^|[-_ ])NC([-_ ]|$)|non[- ]?commercial|research only",
                              self.licence, re.IGNORECASE))

    @property
    def licence_notice(self) -> str:
        return self.notice.text

    @property
    def notice(self) -> AvatarNotice:
        """The licence as the user is told it (``studio check``, the window, the log)."""
        url = f" ({self.licence_url})" if self.licence_url else ""
        args = (("name", self.name), ("licence", self.licence), ("url", url))
        if self.non_commercial:
            return AvatarNotice(
                f"{self.licence}: not for commercial streams{url}; the model {self.name!r} "
                f"may not be used for selling; get a commercial licence from its authors or "
                f"use another model", "avatar.licence_non_commercial", args, warning=True)
        return AvatarNotice(f"{self.name}: licence {self.licence}{url}", "avatar.licence",
                            args)


_RETIRED = {
    "mel_hops_per_frame": "the mel window is computed from the voice on the engine's clock "
                          "now (place it with \"mel\": {\"offset_ms\": …}); remove it",
}
_FIX_MISSING = {
    "name": "add \"name\": \"My model\"",
    "kind": "add \"kind\": \"wav2lip\" or \"liveportrait\"",
    "licence": "add \"licence\": the model's licence (an SPDX id like \"MIT\" or its terms)",
    "model": "add \"model\": the ONNX file's name in this folder",
    "source_image": "add \"source_image\": the portrait's file name in this folder",
    "inputs": "list the model's inputs (name, role, shape, dtype, …)",
    "outputs": "list the model's outputs (name, role, shape, …)",
    "sizes": "add \"sizes\": {\"crop_px\": N, …}",
    "crop_px": "add the crop's size in pixels, the image input's height and width",
}


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "tagged-")) or part in ("float", "list[float]"):
            continue
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def _format_errors(path: Path, exc: ValidationError) -> list[str]:
    out: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = _loc(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            parent = _loc(loc[:-1]) if len(loc) > 1 else "the manifest"
            msg = (f"{key!r} in {parent} is no longer read: {_RETIRED[key]}" if key in _RETIRED
                   else f"unknown key {key!r} in {parent}; check its spelling or remove it")
        elif kind == "missing":
            key = str(loc[-1])
            msg = f"{where}: missing; {_FIX_MISSING.get(key, f'add {key!r}')}"
        else:
            text = str(err["msg"]).removeprefix("Value error, ")
            msg = f"{where}: {text}" if where != "(top level)" else text
        out.append(f"{path}: {msg}")
    return out


def read_manifest(folder: Path) -> tuple[Manifest | None, list[str]]:
    """The manifest, or None and what is wrong with it."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [f"{folder}: no {MANIFEST}; a neural avatar folder needs a manifest"]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{path}: cannot be read ({exc})"]
    except json.JSONDecodeError as exc:
        return None, [f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} "
                      f"({exc.msg}); fix the syntax"]
    if not isinstance(data, dict):
        return None, [f"{path}: expected a JSON object {{\"name\": …}}, got "
                      f"{type(data).__name__}"]
    try:
        return Manifest.model_validate(data), []
    except ValidationError as exc:
        return None, _format_errors(path, exc)


# ---------------------------------------------------------------------------- the model file
def _declared_io(model_path: Path) -> tuple[dict[str, tuple[str, list[int | None]]],
                                            dict[str, tuple[str, list[int | None]]]]:
    """The ONNX graph's inputs and outputs: name -> (dtype, dims; None for a free dim)."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}

    def read(values: Any) -> dict[str, tuple[str, list[int | None]]]:
        out: dict[str, tuple[str, list[int | None]]] = {}
        for v in values:
            if v.name in inits:
                continue
            t = v.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                    for d in t.shape.dim]
            out[v.name] = (_ONNX_ELEM.get(t.elem_type, f"onnx type {t.elem_type}"), dims)
        return out

    return read(model.graph.input), read(model.graph.output)


def _shape_text(dims: list[int | None]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def _io_problems(manifest: Manifest, model_path: Path) -> list[str]:
    try:
        inputs, outputs = _declared_io(model_path)
    except Exception as exc:
        return [f"{model_path}: not a readable ONNX model ({str(exc).splitlines()[0][:200]}); "
                f"export the model to ONNX again or fix \"model\" in {MANIFEST}"]
    out: list[str] = []
    for group, specs, declared in (("inputs", manifest.inputs, inputs),
                                   ("outputs", manifest.outputs, outputs)):
        for i, spec in enumerate(specs):
            where = f"{MANIFEST}: {group}[{i}] {spec.name!r}"
            if spec.name not in declared:
                out.append(f"{where}: the model has no {group[:-1]} of that name (it has "
                           f"{', '.join(map(repr, declared)) or 'none'}); use one of those")
                continue
            dtype, dims = declared[spec.name]
            if len(dims) != len(spec.shape) or any(
                    d is not None and d != s for d, s in zip(dims, spec.shape, strict=False)):
                fixed = [s if d is None else d for d, s in zip(dims, spec.shape, strict=False)]
                fix = (f"set \"shape\": {fixed}" if len(dims) == len(spec.shape)
                       else f"give it {len(dims)} numbers")
                out.append(f"{where}.shape: {spec.shape} does not match the model's declared "
                           f"{_shape_text(dims)}; {fix} (and sizes to match)")
            if dtype != spec.dtype:
                out.append(f"{where}.dtype: {spec.dtype} but the model declares {dtype}; set "
                           f"\"dtype\": \"{dtype}\"")
        if group == "inputs":
            named = {s.name for s in specs}
            for name in declared:
                if name not in named:
                    out.append(f"{MANIFEST}: the model also takes input {name!r} (shape "
                               f"{_shape_text(declared[name][1])}); declare it in inputs")
    return out


def _load_source(path: Path) -> tuple[U8 | None, str]:
    """The portrait as RGBA uint8, or None and why not."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8)
    except FileNotFoundError:
        return None, "no such file"
    except (UnidentifiedImageError, OSError) as exc:
        return None, f"not an image PIL can read ({exc}); use a JPG or PNG"
    h, w = rgba.shape[:2]
    if min(h, w) < MIN_SOURCE_SIDE_PX:
        return None, (f"{w}x{h} is too small; use a portrait of at least "
                      f"{MIN_SOURCE_SIDE_PX} px a side (512 or more is better)")
    if max(h, w) > MAX_SOURCE_SIDE_PX:
        k = MAX_SOURCE_SIDE_PX / max(h, w)
        rgba = _resize(rgba, (max(1, round(h * k)), max(1, round(w * k))))
    return np.ascontiguousarray(rgba), ""


def _resize(img: npt.NDArray[Any], hw: tuple[int, int]) -> npt.NDArray[Any]:
    from studio.face.tracking import keep_qt_environment

    with keep_qt_environment():
        import cv2
    h, w = hw
    if img.shape[0] == h and img.shape[1] == w:
        return img
    shrink = h < img.shape[0] and w < img.shape[1]
    out: npt.NDArray[Any] = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink
                                       else cv2.INTER_LINEAR)
    if out.ndim == 2 and img.ndim == 3:
        out = out[:, :, None]
    return out


_FACE_BOXES: dict[tuple[str, int, int], tuple[float, float, float, float] | None] = {}


def _face_box(path: Path, rgb: U8) -> tuple[float, float, float, float] | None:
    """The face's landmark box (x0, y0, x1, y1) by mediapipe's face mesh; None: no face."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _FACE_BOXES:
        from studio.face.tracking import FaceTracker

        with FaceTracker(smoothing=False) as tracker:
            face = tracker.track(np.ascontiguousarray(rgb[:, :, :3]), 0.0)
        if face is None:
            _FACE_BOXES[key] = None
        else:
            p = face.landmarks_px
            _FACE_BOXES[key] = (float(p[:, 0].min()), float(p[:, 1].min()),
                                float(p[:, 0].max()), float(p[:, 1].max()))
    return _FACE_BOXES[key]


def _crop_box(manifest: Manifest, path: Path, rgba: U8) -> tuple[Rect | None, str]:
    """The crop in the portrait's pixels (x, y, w, h), or None and why not."""
    h, w = rgba.shape[:2]
    crop = manifest.crop
    if crop.box_px is not None:
        x, y, bw, bh = crop.box_px
        if bw < 8 or bh < 8 or x < 0 or y < 0 or x + bw > w or y + bh > h:
            return None, (f"crop.box_px {list(crop.box_px)} is not inside the {w}x{h} portrait "
                          f"(or smaller than 8 px); give a box inside it, or leave box_px out "
                          f"to crop around the face found")
        return (x, y, bw, bh), ""
    box = _face_box(path, rgba)
    if box is None:
        return None, ("no face found in the portrait; use a front-facing photo with the whole "
                      "face visible, or give crop.box_px")
    x0, y0, x1, y1 = box
    fw, fh = x1 - x0, y1 - y0
    pad = crop.padding if isinstance(crop.padding, tuple) else (crop.padding,) * 4
    top, right, bottom, left = pad
    x0, x1 = x0 - left * fw, x1 + right * fw
    y0, y1 = y0 - top * fh, y1 + bottom * fh
    if crop.square:
        side = min(round(max(x1 - x0, y1 - y0)), w, h)
        bx = min(max(round((x0 + x1 - side) / 2), 0), w - side)
        by = min(max(round((y0 + y1 - side) / 2), 0), h - side)
        bw = bh = side
    else:
        bx, by = max(0, round(x0)), max(0, round(y0))
        bw, bh = min(w, round(x1)) - bx, min(h, round(y1)) - by
    if min(bw, bh) < 32:
        return None, (f"the face is only {bw}x{bh} px in the portrait; use a closer photo "
                      f"(the face at least 128 px wide)")
    return (bx, by, bw, bh), ""


def plugin_problems(folder: Path) -> list[str]:
    """Everything that stops this plug-in going on air (``studio check``'s list)."""
    manifest, problems = read_manifest(folder)
    if manifest is None:
        return problems
    model_path = folder / manifest.model
    if not model_path.is_file():
        problems.append(f"{folder / MANIFEST}: model: {manifest.model!r} is not a file in "
                        f"{folder}; put the ONNX file there or fix the name")
    else:
        problems += [f"{folder / p}" if p.startswith(MANIFEST) else p
                     for p in _io_problems(manifest, model_path)]
    source_path = folder / manifest.source_image
    rgba, why = _load_source(source_path)
    if rgba is None:
        problems.append(f"{source_path}: source_image: {why}")
    else:
        box, why = _crop_box(manifest, source_path, rgba)
        if box is None:
            problems.append(f"{folder / MANIFEST}: {why}")
    return problems


def plugin_notices(folder: Path) -> list[AvatarNotice]:
    """What the user must be shown about the plug-in (its licence), problems or not."""
    manifest, _ = read_manifest(folder)
    return [] if manifest is None else [manifest.notice]


def is_plugin(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


# ---------------------------------------------------------------------------- pre/post-processing
def normalise(x: F32, norm: Normalisation, default_source: tuple[float, float]) -> F32:
    """Pixels (…, C) or features to model values (channels last)."""
    if norm.range is not None:
        a, b = norm.source_range or default_source
        lo, hi = norm.range
        out = lo + (x - a) * ((hi - lo) / (b - a))
    else:
        mean = np.asarray(norm.mean, np.float32)
        std = np.asarray(norm.std, np.float32)
        out = (x * norm.scale - mean) / std
    return np.asarray(out, np.float32)


def denormalise(y: F32, norm: Normalisation) -> F32:
    """Model output values (…, C) back to 0..1 pixels."""
    if norm.range is not None:
        a, b = norm.source_range or (0.0, 1.0)
        lo, hi = norm.range
        out = a + (y - lo) * ((b - a) / (hi - lo))
    else:
        mean = np.asarray(norm.mean, np.float32)
        std = np.asarray(norm.std, np.float32)
        out = (y * std + mean) / norm.scale
    return np.asarray(out, np.float32)


def _channel_values(v: float | list[float], n: int) -> F32 | float:
    if isinstance(v, list):
        if len(v) not in (1, 3, n):
            raise AvatarRefused(f"normalisation lists {len(v)} values for {n} channels; give "
                                f"one number or one per channel")
        arr = np.asarray(v, np.float32)
        return np.tile(arr, n // arr.size) if arr.size in (1, 3) and n % arr.size == 0 else arr
    return float(v)


def _in_model_order(norm: Normalisation, n: int) -> Normalisation:
    """Per-channel mean/std tiled to ``n`` channels (6: masked crop + reference)."""
    if isinstance(norm.mean, list) or isinstance(norm.std, list):
        mean, std = _channel_values(norm.mean, n), _channel_values(norm.std, n)
        return norm.model_copy(update={
            "mean": mean.tolist() if isinstance(mean, np.ndarray) else mean,
            "std": std.tolist() if isinstance(std, np.ndarray) else std})
    return norm


def _swap_groups(x: F32) -> F32:
    """RGB <-> BGR for each group of three channels (channels last)."""
    return np.concatenate([x[..., c * 3:(c + 1) * 3][..., ::-1]
                           for c in range(x.shape[-1] // 3)], axis=-1)


def _to_tensor(rgb: F32, spec: TensorSpec) -> npt.NDArray[Any]:
    """(H, W, C) pixels 0..1 in RGB order -> the model's tensor: colour order, then the
    normalisation (its per-channel values are in the model's order), layout, dtype."""
    x = _swap_groups(rgb) if spec.colour_order == "BGR" else rgb
    x = normalise(x, _in_model_order(spec.normalisation, x.shape[-1]), (0.0, 1.0))[None]
    if spec.layout == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    return _cast(x, spec.dtype)


def _cast(x: npt.NDArray[Any], dtype: str) -> npt.NDArray[Any]:
    if dtype == "uint8":
        out: npt.NDArray[Any] = np.clip(np.rint(x), 0, 255).astype(np.uint8)
        return out
    return np.asarray(np.ascontiguousarray(x, dtype=_NP_TYPES[dtype]))


def _from_tensor(y: npt.NDArray[Any], spec: TensorSpec) -> F32:
    """The model's image output -> (H, W, 3) RGB pixels 0..1."""
    a = np.asarray(y, np.float32).reshape(spec.shape)[0]
    if spec.layout == "NCHW":
        a = a.transpose(1, 2, 0)
    a = denormalise(np.ascontiguousarray(a), spec.normalisation)
    if spec.colour_order == "BGR":
        a = a[:, :, ::-1]
    return np.asarray(np.clip(a, 0.0, 1.0), np.float32)


def _smoothstep(t: F32) -> F32:
    t = np.clip(t, 0.0, 1.0)
    return np.asarray(t * t * (3.0 - 2.0 * t), np.float32)


def feather_mask(h: int, w: int, region: str, feather_px: int) -> F32:
    """(h, w) blend weights: 1 inside the region, falling smoothly to 0 at its edges over
    ``feather_px`` (0: a hard edge)."""
    ys = np.arange(h, dtype=np.float32) + 0.5
    xs = np.arange(w, dtype=np.float32) + 0.5
    top = h / 2.0 if region == "lower_half" else 0.0
    dy = np.minimum(ys - top, h - ys)
    dx = np.minimum(xs, w - xs)
    d = np.minimum(dy[:, None], dx[None, :])
    if feather_px <= 0:
        return np.asarray(d > 0, np.float32)
    return _smoothstep(d / float(feather_px))


# ---------------------------------------------------------------------------- running the model
@dataclass
class FrameTimes:
    """Where the last frame's time went (ms): the model, and the plug-in's own work."""

    prepare_ms: float = 0.0
    model_ms: float = 0.0
    blend_ms: float = 0.0
    upload_ms: float = 0.0
    draw_ms: float = 0.0

    @property
    def overhead_ms(self) -> float:
        return self.prepare_ms + self.blend_ms + self.upload_ms + self.draw_ms


def open_session(model_path: Path, name: str) -> tuple[Any, str, str]:
    """(session, provider in use, what to show): TensorRT -> CUDA -> CPU as requested; a
    provider asked for and not used is a WARNING and shown, never a silent fallback."""
    import onnxruntime

    wanted = requested_providers()
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = min(4, os.cpu_count() or 1)
    note = ""
    try:
        session = onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                               providers=wanted)
    except Exception as exc:
        if wanted == ["CPUExecutionProvider"]:
            raise AvatarRefused(
                f"neural avatar {name!r}: onnxruntime cannot load {model_path} "
                f"({str(exc).splitlines()[0][:200]}); export the model again") from None
        note = f"{short_provider_name(wanted[0])} failed: {str(exc).splitlines()[0][:200]}"
        session = onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                               providers=["CPUExecutionProvider"])
    in_use = list(session.get_providers())
    provider = log_provider_once(f"neural avatar {name!r}", in_use)
    if not note and provider != wanted[0]:
        note = (f"{short_provider_name(wanted[0])} failed: onnxruntime could not start it "
                f"(check the CUDA/cuDNN/TensorRT libraries onnxruntime-gpu needs)")
    if not note and provider == "CPUExecutionProvider":
        if os.environ.get("LIVEHOST_EP", "").lower() == "cpu":
            note = "forced by LIVEHOST_EP=cpu"
        elif not any(p in available_providers() for p in ("CUDAExecutionProvider",
                                                           "TensorrtExecutionProvider")):
            note = "no GPU provider in this onnxruntime; install onnxruntime-gpu for CUDA"
    if note and "failed" in note:
        _LOG.warning("neural avatar %r: %s; running on %s", name, note,
                     short_provider_name(provider))
    shown = short_provider_name(provider)
    return session, provider, f"{shown} ({note})" if note else shown


class NeuralAvatar:
    """A neural plug-in as the host: the portrait, re-generated around the face per frame."""

    def __init__(self, folder: Path, host: Host | None = None) -> None:
        problems = plugin_problems(folder)
        if problems:
            raise AvatarRefused("; ".join(problems))
        manifest, _ = read_manifest(folder)
        assert manifest is not None
        self.folder = folder
        self.manifest = manifest
        rgba, _ = _load_source(folder / manifest.source_image)
        assert rgba is not None
        box, _ = _crop_box(manifest, folder / manifest.source_image, rgba)
        assert box is not None
        self.crop_box_px: Rect = box
        self._alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
        self._source = rgba[:, :, :3].astype(np.float32) / 255.0  # straight RGB 0..1
        self.licence_notice = manifest.licence_notice
        if manifest.non_commercial:
            _LOG.warning("neural avatar: %s", self.licence_notice)
        else:
            _LOG.info("neural avatar: %s", self.licence_notice)
        self._session, self.provider, self.execution_provider = open_session(
            folder / manifest.model, manifest.name)
        x, y, w, h = box
        side = manifest.sizes.crop_px
        crop = self._source[y:y + h, x:x + w]
        self._crop_in = _resize(crop, (side, side)).astype(np.float32)
        self._mask = feather_mask(h, w, manifest.blend_region, manifest.blend.feather_px)
        rows = np.nonzero(self._mask.max(axis=1) > 0)[0]
        self._rows = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, 0)
        self._static_inputs = self._image_inputs()
        self._mel: MelWindow | None = None
        self.audio_window_s: tuple[float, float] = NO_AUDIO_WINDOW
        if manifest.kind == "wav2lip":
            self._mel = MelWindow(manifest.mel_spec, manifest.sizes.mel_frames or 1)
            self.audio_window_s = self._mel.audio_window_s
        self._last_key: bytes | None = None
        self._run_failed = False
        self._frame = self._premultiplied(self._source, self._alpha)  # (H, W, 4) uint8
        self._dirty_rows: tuple[int, int] | None = None
        self.times = FrameTimes()
        self._texture: Any = None
        self._program: Any = None
        self._size: tuple[int, int] | None = None

    # --- model inputs ------------------------------------------------------------------------
    def _image_inputs(self) -> dict[str, npt.NDArray[Any]]:
        spec = self.manifest.image_input
        crop = self._crop_in
        if spec.channels == 6:  # Wav2Lip: the crop with its lower half blacked out + reference
            masked = crop.copy()
            masked[crop.shape[0] // 2:] = 0.0
            crop = np.concatenate([masked, crop], axis=2)
        return {spec.name: _to_tensor(crop, spec)}

    def mel_window(self, audio: FrameAudio | None) -> F32:
        """The mel window (mel_frames, n_mels) as the model gets it, normalised: from the
        program's sound around the frame (None: silence)."""
        assert self._mel is not None
        db = self._mel.compute(audio)
        spec = self.manifest.input_for("mel")
        norm = spec.normalisation
        source = self.manifest.mel_spec.default_source_range
        if norm.range is not None:  # clipped to what it maps, as Wav2Lip's _normalize does
            a, b = norm.source_range or source
            db = np.clip(db, min(a, b), max(a, b))
        return normalise(db, norm, source)

    def _inputs(self, params: FaceParams, audio: FrameAudio | None
                ) -> tuple[dict[str, npt.NDArray[Any]], bytes]:
        m = self.manifest
        feeds = dict(self._static_inputs)
        if m.kind == "wav2lip":
            spec = m.input_for("mel")
            x = self.mel_window(audio)  # (T, M)
            if spec.layout == "mel_time":
                x = x.T
            feeds[spec.name] = _cast(x.reshape(spec.shape), spec.dtype)
            key = feeds[spec.name].tobytes()
        else:
            spec = m.input_for("motion")
            vec = np.array([[getattr(params, e.param) * e.scale + e.offset
                             for e in m.motion_entries]], np.float32)
            feeds[spec.name] = _cast(vec, spec.dtype)
            key = feeds[spec.name].tobytes()
        return feeds, key

    def generate(self, params: FaceParams, audio: FrameAudio | None = None) -> None:
        """Run the model for ``params`` (liveportrait) or the program's sound around the
        frame (wav2lip; None: silence) and blend its crop into the frame (CPU side)."""
        t0 = time.perf_counter()
        feeds, key = self._inputs(params, audio)
        t1 = time.perf_counter()
        if key == self._last_key:  # the same inputs as last frame: the same picture
            self.times = FrameTimes(prepare_ms=(t1 - t0) * 1e3)
            return
        self._last_key = key
        out_spec = self.manifest.image_output
        try:
            out = self._session.run([out_spec.name], feeds)[0]
        except Exception as exc:  # the live output keeps the last picture, never crashes
            if not self._run_failed:
                _LOG.warning("neural avatar %r: the model failed (%s); showing the last "
                             "picture until it runs again", self.manifest.name,
                             str(exc).splitlines()[0][:200])
            self._run_failed = True
            self._last_key = None
            return
        self._run_failed = False
        t2 = time.perf_counter()
        x, y, w, h = self.crop_box_px
        r0, r1 = self._rows
        gen = _resize(_from_tensor(out, out_spec), (h, w))[r0:r1]
        src = self._source[y + r0:y + r1, x:x + w]
        m = self._mask[r0:r1, :, None]
        rgb = src + (gen - src) * m
        self._frame[y + r0:y + r1, x:x + w] = self._premultiplied(
            rgb, self._alpha[y + r0:y + r1, x:x + w])
        self._dirty_rows = (y + r0, y + r1) if self._dirty_rows is None else (
            min(self._dirty_rows[0], y + r0), max(self._dirty_rows[1], y + r1))
        t3 = time.perf_counter()
        self.times = FrameTimes(prepare_ms=(t1 - t0) * 1e3, model_ms=(t2 - t1) * 1e3,
                                blend_ms=(t3 - t2) * 1e3)

    @staticmethod
    def _premultiplied(rgb: F32, alpha: F32) -> U8:
        out = np.empty((*rgb.shape[:2], 4), np.uint8)
        out[:, :, :3] = np.clip(np.rint(rgb * alpha * 255.0), 0, 255).astype(np.uint8)
        out[:, :, 3:] = np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)
        return out

    @property
    def frame_rgba(self) -> U8:
        """The portrait as last generated (premultiplied RGBA, the portrait's pixels)."""
        return self._frame

    # --- placement ---------------------------------------------------------------------------
    def image_rect_px(self, rect_px: Rect) -> tuple[float, float, float, float]:
        """Where the portrait goes: fitted inside the host's rect, centred, standing on its
        bottom edge (x, y, w, h, fractional pixels)."""
        rx, ry, rw, rh = rect_px
        ih, iw = self._source.shape[:2]
        k = min(rw / iw, rh / ih)
        w, h = iw * k, ih * k
        return (rx + (rw - w) / 2.0, ry + rh - h, w, h)

    def _to_screen(self, box: tuple[float, float, float, float], rect_px: Rect,
                   margin_px: float = 0.0) -> Rect:
        ix, iy, iw, _ = self.image_rect_px(rect_px)
        k = iw / self._source.shape[1]
        x0 = math.floor(ix + box[0] * k - margin_px)
        y0 = math.floor(iy + box[1] * k - margin_px)
        x1 = math.ceil(ix + (box[0] + box[2]) * k + margin_px)
        y1 = math.ceil(iy + (box[1] + box[3]) * k + margin_px)
        rx, ry, rw, rh = rect_px
        x0, y0 = max(x0, rx), max(y0, ry)
        x1, y1 = min(x1, rx + rw), min(y1, ry + rh)
        return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def damage_rect_px(self, params: FaceParams, rect_px: Rect) -> Rect:
        if self._size != (rect_px[2], rect_px[3]):
            return rect_px
        x, y, w, _ = self.crop_box_px
        r0, r1 = self._rows
        k = self.image_rect_px(rect_px)[2] / self._source.shape[1]
        return self._to_screen((x, y + r0, w, r1 - r0), rect_px, margin_px=2.0 + 1.0 / k)

    def mouth_rect_px(self, rect_px: Rect) -> Rect:
        x, y, w, h = self.crop_box_px
        return self._to_screen((x + w * 0.25, y + h * 0.6, w * 0.5, h * 0.25), rect_px)

    # --- drawing -----------------------------------------------------------------------------
    def draw(self, params: FaceParams, rect_px: Rect, frame_size_px: tuple[int, int],
             audio: FrameAudio | None = None) -> None:
        """Generate this frame's face and draw the portrait into ``rect_px`` (premultiplied
        alpha over the bound framebuffer; the blend function is restored)."""
        from vispy import gloo

        self.generate(params, audio)
        t0 = time.perf_counter()
        if self._program is None:
            self._build()
        if self._dirty_rows is not None:
            r0, r1 = self._dirty_rows
            self._texture.set_data(np.ascontiguousarray(self._frame[r0:r1]), offset=(r0, 0))
            self._dirty_rows = None
        t1 = time.perf_counter()
        self._size = (rect_px[2], rect_px[3])
        self._program["u_rect"] = self.image_rect_px(rect_px)
        self._program["u_frame"] = (float(frame_size_px[0]), float(frame_size_px[1]))
        gloo.set_state(blend=True, depth_test=False, cull_face=False)
        gloo.set_blend_func("one", "one_minus_src_alpha", "one", "one_minus_src_alpha")
        self._program.draw("triangle_strip")
        gloo.set_blend_func("src_alpha", "one_minus_src_alpha", "one", "one_minus_src_alpha")
        t2 = time.perf_counter()
        self.times.upload_ms = (t1 - t0) * 1e3
        self.times.draw_ms = (t2 - t1) * 1e3

    def _build(self) -> None:
        from vispy import gloo

        self._texture = gloo.Texture2D(self._frame, interpolation="linear")
        self._dirty_rows = None
        self._program = gloo.Program(_VERT, _FRAG)
        self._program["a_corner"] = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
        self._program["u_tex"] = self._texture


_VERT = """
attribute vec2 a_corner;          // (0,0) top-left .. (1,1) bottom-right
uniform vec4 u_rect;              // x, y (from top), w, h in pixels
uniform vec2 u_frame;             // frame size in pixels
varying vec2 v_uv;
void main() {
    vec2 px = u_rect.xy + a_corner * u_rect.zw;
    gl_Position = vec4(px.x / u_frame.x * 2.0 - 1.0, 1.0 - px.y / u_frame.y * 2.0, 0.0, 1.0);
    v_uv = a_corner;
}
"""
_FRAG = """
uniform sampler2D u_tex;
varying vec2 v_uv;
void main() {
    gl_FragColor = texture2D(u_tex, v_uv);   // premultiplied RGBA
}
"""


def _load(folder: Path, host: Host) -> NeuralAvatar:
    return NeuralAvatar(folder, host)


register_avatar_kind(AvatarKind("neural", probe=is_plugin, check=plugin_problems, load=_load,
                                 notices=plugin_notices))
