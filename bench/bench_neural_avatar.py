"""Neural avatar plug-in overhead per frame beyond the model's own time. Prints one JSON object.

    .venv/bin/python bench/bench_neural_avatar.py [--frames 120] [--size 1280x720]

Builds two plug-ins with models of the real signatures that cost next to nothing (a
Wav2Lip-style 96x96 face + 80x16 mel -> 96x96 crop, a LivePortrait-style 256x256 source +
motion -> 256x256 frame: a few element-wise ops), on a 512x512 portrait (skimage's astronaut),
and draws them in a Compositor at ``--size`` for ``--frames`` speaking frames: the wav2lip
model hears the real voice (a Piper sentence, handed over as the engine does: the program's
sound around each frame), so its mel window is computed from audio every frame (Wav2Lip's
settings). Reports per frame (mean, p95) the model's run, the plug-in's own work (input
building with the mel window, output decoding, resize and feathered blend, texture upload,
draw call) and the whole compose including the GPU's work (glFinish), with the execution
provider in use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _model(path: Path, kind: str) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if kind == "wav2lip":
        inits = [numpy_helper.from_array(np.array([3], np.int64), "s"),
                 numpy_helper.from_array(np.array([6], np.int64), "e"),
                 numpy_helper.from_array(np.array([1], np.int64), "a")]
        nodes = [helper.make_node("Slice", ["face", "s", "e", "a"], ["ref"]),
                 helper.make_node("ReduceMean", ["mel"], ["m"], axes=[1, 2, 3], keepdims=1),
                 helper.make_node("Add", ["ref", "m"], ["out"])]
        ins = [helper.make_tensor_value_info("face", TensorProto.FLOAT, [1, 6, 96, 96]),
               helper.make_tensor_value_info("mel", TensorProto.FLOAT, [1, 1, 80, 16])]
        outs = [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 96, 96])]
    else:
        inits = [numpy_helper.from_array(np.full((9, 3), 0.1, np.float32), "w"),
                 numpy_helper.from_array(np.array([1, 3, 1, 1], np.int64), "shape")]
        nodes = [helper.make_node("MatMul", ["motion", "w"], ["t"]),
                 helper.make_node("Reshape", ["t", "shape"], ["tint"]),
                 helper.make_node("Add", ["source", "tint"], ["frame"])]
        ins = [helper.make_tensor_value_info("source", TensorProto.FLOAT, [1, 3, 256, 256]),
               helper.make_tensor_value_info("motion", TensorProto.FLOAT, [1, 9])]
        outs = [helper.make_tensor_value_info("frame", TensorProto.FLOAT, [1, 3, 256, 256])]
    model = helper.make_model(helper.make_graph(nodes, kind, ins, outs, inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def _plugin(folder: Path, kind: str) -> Path:
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True)
    Image.fromarray(data.astronaut()).save(  # type: ignore[no-untyped-call]
        folder / "portrait.png")
    _model(folder / "model.onnx", kind)
    common: dict[str, Any] = {"name": f"bench {kind}", "kind": kind, "licence": "MIT",
                              "model": "model.onnx", "source_image": "portrait.png"}
    if kind == "wav2lip":
        manifest = {**common,
                    "inputs": [{"name": "face", "role": "face", "shape": [1, 6, 96, 96]},
                               {"name": "mel", "role": "mel", "shape": [1, 1, 80, 16],
                                "layout": "mel_time", "normalisation": {"range": [-4, 4]}}],
                    "outputs": [{"name": "out", "role": "image", "shape": [1, 3, 96, 96]}],
                    "sizes": {"crop_px": 96, "mel_frames": 16},
                    "crop": {"box_px": [150, 30, 180, 180]}, "blend": {"feather_px": 10}}
    else:
        manifest = {**common,
                    "inputs": [{"name": "source", "role": "source", "shape": [1, 3, 256, 256],
                                "normalisation": {"range": [-1, 1]}},
                               {"name": "motion", "role": "motion", "shape": [1, 9],
                                "layout": "NK"}],
                    "outputs": [{"name": "frame", "role": "image", "shape": [1, 3, 256, 256],
                                 "normalisation": {"range": [-1, 1]}}],
                    "sizes": {"crop_px": 256},
                    "crop": {"box_px": [130, 10, 220, 220]}, "blend": {"feather_px": 16}}
    (folder / "model.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _stats(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"mean": round(statistics.fmean(s), 3), "p95": round(s[int(0.95 * (len(s) - 1))], 3)}


def _speech() -> np.ndarray:
    """Sentences from the shipped Piper voice, looped: the program's sound (48 kHz)."""
    from studio.voice.piper_tts import PiperTTS

    clip = PiperTTS("en_US-joe-medium").synthesize(
        "Hello everyone, welcome back. This mug is only ten dollars today, so buy two!")
    return np.tile(np.asarray(clip.audio, np.float32), 4)


def _around(program: np.ndarray, start: int, window_s: tuple[float, float]) -> Any:
    from studio.avatar.base import FrameAudio
    from studio.core.media import AudioChunk

    a, b = start - int(window_s[0] * 48_000) - 1, start + int(window_s[1] * 48_000) + 1
    out = np.zeros(b - a, np.float32)
    lo, hi = max(a, 0), min(b, len(program))
    if lo < hi:
        out[lo - a:hi - a] = program[lo:hi]
    return FrameAudio(start, AudioChunk(a, out, 48_000))


def _run(folder: Path, size: tuple[int, int], frames: int, program: np.ndarray
         ) -> dict[str, Any]:
    from vispy.gloo import gl

    from studio.avatar.neural import NeuralAvatar
    from studio.compose.compositor import Compositor
    from studio.face.params import FaceParams
    from studio.show.model import Stage

    comp = Compositor(size[0], size[1], Stage(), lambda: NeuralAvatar(folder))
    avatar = comp._avatar
    assert isinstance(avatar, NeuralAvatar)
    keys = ("prepare_ms", "model_ms", "blend_ms", "upload_ms", "draw_ms")
    got: dict[str, list[float]] = {k: [] for k in (*keys, "overhead_ms", "compose_ms")}
    for i in range(frames + 5):
        t = i / 30.0
        params = FaceParams(jaw_open=float(abs(np.sin(t * 9))), smile=0.3,
                            blink_left=float(i % 45 < 3), blink_right=float(i % 45 < 3),
                            head_yaw_rad=0.1 * float(np.sin(t)))
        audio = _around(program, (i + 30) * 1600, avatar.audio_window_s)
        t0 = time.perf_counter()
        comp.compose(params, card_alpha=0.0, audio=audio)
        comp.gl.make_current()
        gl.glFinish()
        compose_ms = (time.perf_counter() - t0) * 1000.0
        if i < 5:  # warm-up
            continue
        times = avatar.times
        for k in keys:
            got[k].append(getattr(times, k))
        got["overhead_ms"].append(times.overhead_ms)
        got["compose_ms"].append(compose_ms)
    provider = avatar.execution_provider
    comp.close()
    return {"provider": provider, **{k: _stats(v) for k, v in got.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    out: dict[str, Any] = {"frames": args.frames, "size": args.size, "portrait_px": "512x512"}
    program = _speech()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("wav2lip", "liveportrait"):
            out[kind] = _run(_plugin(Path(tmp) / kind, kind), (w, h), args.frames, program)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
