"""Neural avatar plug-ins, with small ONNX models of the right signatures built here."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from studio.avatar.base import AvatarRefused, FrameAudio, avatar_problems, resolve_avatar
from studio.avatar.mel import MelSpec, MelWindow
from studio.avatar.neural import NeuralAvatar, plugin_notices, plugin_problems
from studio.core.media import AudioChunk
from studio.face.params import FaceParams
from studio.show.model import Host

CROP = (32, 48, 96, 96)  # x, y, w, h in the 160x200 portrait


# ---------------------------------------------------------------------------- models
def _save(graph: Any, path: Path) -> None:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def wav2lip_model(path: Path, *, keep: float = 1.0, colour: tuple[float, float, float] = (
        0.0, 0.0, 0.0), energy_colour: tuple[float, float, float] = (0.0, 0.0, 0.0),
        lower_half: bool = False, side: int = 96, layout: str = "NCHW",
        mel_gain: float = 4.0, mel_bias: float = 0.0) -> None:
    """face (1,6,S,S) + mel (1,1,80,16) -> (1,3,S,S): the reference crop (channels 3..5) times
    ``keep``, with the masked part (all, or the lower half) painted ``colour + energy_colour *
    e``, e = clip(mel_gain * mean(mel) + mel_bias, 0, 1): brightness follows the mel energy."""
    from onnx import TensorProto, helper, numpy_helper

    face_shape = [1, 6, side, side] if layout == "NCHW" else [1, side, side, 6]
    mask = np.zeros((1, 1, side, side), np.float32)
    mask[:, :, side // 2 if lower_half else 0:] = 1.0
    inits = [
        numpy_helper.from_array(np.array([3], np.int64), "starts"),
        numpy_helper.from_array(np.array([6], np.int64), "ends"),
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
        numpy_helper.from_array(mask, "mask"),
        numpy_helper.from_array((1.0 - mask * (1.0 - keep)).astype(np.float32) if lower_half
                                else np.full_like(mask, keep), "keep"),
        numpy_helper.from_array(np.array(colour, np.float32).reshape(1, 3, 1, 1), "colour"),
        numpy_helper.from_array(np.array(energy_colour, np.float32).reshape(1, 3, 1, 1), "ecol"),
        numpy_helper.from_array(np.array(mel_gain, np.float32), "four"),
        numpy_helper.from_array(np.array(mel_bias, np.float32), "bias"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    ]
    nodes = [
        helper.make_node("Slice", ["face", "starts", "ends", "axes"], ["ref"]),
        helper.make_node("ReduceMean", ["mel"], ["mel_mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Mul", ["mel_mean", "four"], ["e00"]),
        helper.make_node("Add", ["e00", "bias"], ["e0"]),
        helper.make_node("Clip", ["e0", "zero", "one"], ["e"]),
        helper.make_node("Mul", ["ecol", "e"], ["paint_e"]),
        helper.make_node("Add", ["colour", "paint_e"], ["paint"]),
        helper.make_node("Mul", ["paint", "mask"], ["painted"]),
        helper.make_node("Mul", ["ref", "keep"], ["kept"]),
        helper.make_node("Add", ["kept", "painted"], ["out"]),
    ]
    if layout == "NHWC":  # the graph works in NCHW; transpose in and out
        nodes.insert(0, helper.make_node("Transpose", ["face_in"], ["face"], perm=[0, 3, 1, 2]))
        nodes[-1] = helper.make_node("Add", ["kept", "painted"], ["out_nchw"])
        nodes.append(helper.make_node("Transpose", ["out_nchw"], ["out"], perm=[0, 2, 3, 1]))
    face_name = "face_in" if layout == "NHWC" else "face"
    out_shape = [1, 3, side, side] if layout == "NCHW" else [1, side, side, 3]
    graph = helper.make_graph(
        nodes, "wav2lip_test",
        [helper.make_tensor_value_info(face_name, TensorProto.FLOAT, face_shape),
         helper.make_tensor_value_info("mel", TensorProto.FLOAT, [1, 1, 80, 16])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, out_shape)], inits)
    _save(graph, path)


def liveportrait_model(path: Path, weights: np.ndarray, side: int = 256) -> None:
    """source (1,3,S,S) + motion (1,K) -> source + (motion @ weights) as an RGB tint."""
    from onnx import TensorProto, helper, numpy_helper

    k = weights.shape[0]
    inits = [numpy_helper.from_array(weights.astype(np.float32), "w"),
             numpy_helper.from_array(np.array([1, 3, 1, 1], np.int64), "tint_shape")]
    nodes = [helper.make_node("MatMul", ["motion", "w"], ["tint_flat"]),
             helper.make_node("Reshape", ["tint_flat", "tint_shape"], ["tint"]),
             helper.make_node("Add", ["source", "tint"], ["frame"])]
    graph = helper.make_graph(
        nodes, "liveportrait_test",
        [helper.make_tensor_value_info("source", TensorProto.FLOAT, [1, 3, side, side]),
         helper.make_tensor_value_info("motion", TensorProto.FLOAT, [1, k])],
        [helper.make_tensor_value_info("frame", TensorProto.FLOAT, [1, 3, side, side])], inits)
    _save(graph, path)


# ---------------------------------------------------------------------------- folders
def portrait(path: Path, rgb: tuple[int, int, int] = (128, 128, 128),
             size: tuple[int, int] = (160, 200), face_rgb: tuple[int, int, int] | None = None,
             ) -> None:
    img = np.zeros((size[1], size[0], 3), np.uint8)
    img[:] = rgb
    if face_rgb is not None:
        x, y, w, h = CROP
        img[y:y + h, x:x + w] = face_rgb
    Image.fromarray(img).save(path)


def wav2lip_manifest(**over: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "name": "Test lips", "kind": "wav2lip", "licence": "MIT", "model": "model.onnx",
        "source_image": "portrait.png",
        "inputs": [{"name": "face", "role": "face", "shape": [1, 6, 96, 96]},
                   {"name": "mel", "role": "mel", "shape": [1, 1, 80, 16],
                    "layout": "mel_time", "normalisation": {"range": [0, 1]}}],
        "outputs": [{"name": "out", "role": "image", "shape": [1, 3, 96, 96]}],
        "sizes": {"crop_px": 96, "mel_frames": 16},
        "crop": {"box_px": list(CROP)},
        "blend": {"feather_px": 12},
    }
    m.update(over)
    return m


def make_plugin(folder: Path, manifest: dict[str, Any], build: Any = None,
                **portrait_args: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text(json.dumps(manifest), encoding="utf-8")
    portrait(folder / "portrait.png", **portrait_args)
    (build or (lambda p: wav2lip_model(p)))(folder / "model.onnx")
    return folder


def crop_mean(avatar: NeuralAvatar, lower: bool = True) -> np.ndarray:
    """Mean RGB (0..255) of the middle of the crop's lower (or upper) half, as generated."""
    x, y, w, h = avatar.crop_box_px
    rows = slice(y + h * 5 // 8, y + h * 7 // 8) if lower else slice(y + h // 8, y + h * 3 // 8)
    return avatar.frame_rgba[rows, x + w // 4: x + w * 3 // 4, :3].reshape(-1, 3).mean(axis=0)


RATE = 48_000
SPF = RATE // 30  # samples per frame at 30 fps
WAV2LIP_MEL = {"name": "mel", "role": "mel", "shape": [1, 1, 80, 16], "layout": "mel_time",
               "normalisation": {"range": [-4, 4]}}  # Wav2Lip's own mel normalisation


def brightness_model(path: Path, **kw: Any) -> None:
    """The lower half grey at brightness (mean mel + 4) / 8: black in silence, lighter the
    louder the window (Wav2Lip's [-4, 4] mel)."""
    wav2lip_model(path, keep=0.0, energy_colour=(1.0, 1.0, 1.0), lower_half=True,
                  mel_gain=0.125, mel_bias=0.5, **kw)


def around(program: np.ndarray, frame_start: int, window_s: tuple[float, float]) -> FrameAudio:
    """What the engine hands the avatar for the frame starting at ``frame_start`` of a
    program whose sound is ``program`` (from sample 0)."""
    a = frame_start - math.ceil(window_s[0] * RATE)
    b = frame_start + math.ceil(window_s[1] * RATE)
    out = np.zeros(b - a, np.float32)
    lo, hi = max(a, 0), min(b, len(program))
    if lo < hi:
        out[lo - a:hi - a] = program[lo:hi]
    return FrameAudio(frame_start, AudioChunk(a, out, RATE))


@pytest.fixture(scope="module")
def speech(piper_voice: Any) -> np.ndarray:
    """Half a second of silence, then a sentence from the real voice, then a second of
    silence (48 kHz)."""
    clip = piper_voice.synthesize("Hello everyone, this mug is only ten dollars today.")
    voice = np.asarray(clip.audio, np.float32)
    return np.concatenate([np.zeros(RATE // 2, np.float32), voice,
                           np.zeros(RATE, np.float32)])


# ---------------------------------------------------------------------------- manifest checks
def test_a_shape_that_the_model_does_not_declare_is_refused_naming_the_input(
        tmp_path: Path) -> None:
    folder = make_plugin(tmp_path / "p", wav2lip_manifest(),
                         lambda p: wav2lip_model(p, side=128))
    problems = plugin_problems(folder)
    assert any("inputs[0] 'face'.shape: [1, 6, 96, 96] does not match the model's declared "
               "[1, 6, 128, 128]; set \"shape\": [1, 6, 128, 128]" in p for p in problems), problems
    assert any("outputs[0] 'out'.shape" in p for p in problems), problems
    with pytest.raises(AvatarRefused, match=r"'face'\.shape"):
        NeuralAvatar(folder)
    # the show's avatar check reports the same, through the registry
    host = Host(avatar=str(folder))
    kind, _ = resolve_avatar(host, None)
    assert kind is not None and kind.name == "neural"
    assert any("'face'.shape" in p for p in avatar_problems(host, None))


@pytest.mark.parametrize(("change", "expected"), [
    ({"licence_terms": "x"}, "unknown key 'licence_terms' in the manifest; check its spelling"),
    ({"licence": None}, "licence: missing; add \"licence\""),
    ({"kind": "sadtalker"}, "kind: Input should be 'wav2lip' or 'liveportrait'"),
    ({"sizes": {"crop_px": 64, "mel_frames": 16}},
     "sizes.crop_px is 64 but inputs 'face' is 96x96"),
    ({"inputs": [{"name": "face", "role": "face", "shape": [1, 6, 96, 96], "colour": "BGR"},
                 {"name": "mel", "role": "mel", "shape": [1, 1, 80, 16], "layout": "mel_time"}]},
     "unknown key 'colour' in inputs[0]"),
    ({"inputs": [{"name": "face", "role": "face", "shape": [1, 6, 96, 96]},
                 {"name": "spec", "role": "mel", "shape": [1, 1, 80, 16], "layout": "mel_time"}]},
     "inputs[1] 'spec': the model has no input of that name (it has 'face', 'mel')"),
])
def test_a_wrong_manifest_is_refused_with_the_field_and_the_fix(
        tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    manifest = wav2lip_manifest(**change)
    manifest = {k: v for k, v in manifest.items() if v is not None}
    folder = make_plugin(tmp_path / "p", manifest)
    problems = plugin_problems(folder)
    assert any(expected in p for p in problems), problems


def test_bad_json_and_a_missing_model_are_named(tmp_path: Path) -> None:
    folder = make_plugin(tmp_path / "p", wav2lip_manifest(model="missing.onnx"))
    assert any("'missing.onnx' is not a file" in p for p in plugin_problems(folder))
    (folder / "model.json").write_text('{"name": "x",\n "kind": }', encoding="utf-8")
    assert any("not valid JSON at line 2" in p for p in plugin_problems(folder))


# ---------------------------------------------------------------------------- what is shown
def test_colour_order_is_honoured(tmp_path: Path) -> None:
    """A model painting its first channel full: red when it says RGB, blue when BGR."""
    shown = {}
    for order in ("RGB", "BGR"):
        manifest = wav2lip_manifest(outputs=[{"name": "out", "role": "image",
                                              "shape": [1, 3, 96, 96], "colour_order": order}],
                                    blend={"region": "full", "feather_px": 4})
        folder = make_plugin(tmp_path / order, manifest,
                             lambda p: wav2lip_model(p, keep=0.0, colour=(1.0, 0.0, 0.0)))
        avatar = NeuralAvatar(folder)
        avatar.generate(FaceParams())
        shown[order] = crop_mean(avatar, lower=False)
    assert shown["RGB"] == pytest.approx([255, 0, 0], abs=1)
    assert shown["BGR"] == pytest.approx([0, 0, 255], abs=1)


def test_input_colour_order_and_layout_reach_the_model(tmp_path: Path) -> None:
    """An identity model fed a red face: BGR in and RGB out swaps it to blue; BGR both ways
    (in NHWC) gives red back."""
    cases = {("BGR", "RGB", "NCHW"): [0, 0, 255], ("BGR", "BGR", "NHWC"): [255, 0, 0]}
    for (cin, cout, layout), expected in cases.items():
        shape_in = [1, 6, 96, 96] if layout == "NCHW" else [1, 96, 96, 6]
        shape_out = [1, 3, 96, 96] if layout == "NCHW" else [1, 96, 96, 3]
        manifest = wav2lip_manifest(
            inputs=[{"name": "face_in" if layout == "NHWC" else "face", "role": "face",
                     "shape": shape_in, "colour_order": cin, "layout": layout},
                    {"name": "mel", "role": "mel", "shape": [1, 1, 80, 16],
                     "layout": "mel_time"}],
            outputs=[{"name": "out", "role": "image", "shape": shape_out, "colour_order": cout,
                      "layout": layout}], blend={"region": "full", "feather_px": 4})
        folder = make_plugin(tmp_path / f"{cin}{cout}{layout}", manifest,
                             lambda p, lay=layout: wav2lip_model(p, layout=lay),
                             face_rgb=(255, 0, 0))
        avatar = NeuralAvatar(folder)
        avatar.generate(FaceParams())
        assert crop_mean(avatar, lower=False) == pytest.approx(expected, abs=1), (cin, cout)


def test_normalisation_is_applied_both_ways(tmp_path: Path) -> None:
    """A 0.75 grey face through an identity model: normalised to [-1, 1] going in, it comes
    out as 0.5 when the output is read as 0..1, and as 0.75 again when read as [-1, 1]."""
    shown = {}
    for name, out_norm in (("plain", {}), ("tanh", {"range": [-1, 1]})):
        manifest = wav2lip_manifest(
            inputs=[{"name": "face", "role": "face", "shape": [1, 6, 96, 96],
                     "normalisation": {"mean": [0.5, 0.5, 0.5], "std": 0.5}},
                    {"name": "mel", "role": "mel", "shape": [1, 1, 80, 16],
                     "layout": "mel_time"}],
            outputs=[{"name": "out", "role": "image", "shape": [1, 3, 96, 96],
                      "normalisation": out_norm}], blend={"region": "full", "feather_px": 4})
        folder = make_plugin(tmp_path / name, manifest, rgb=(191, 191, 191))
        avatar = NeuralAvatar(folder)
        avatar.generate(FaceParams())
        shown[name] = crop_mean(avatar, lower=False)
    assert shown["plain"] == pytest.approx([128, 128, 128], abs=2)
    assert shown["tanh"] == pytest.approx([191, 191, 191], abs=2)


def test_the_mouth_follows_the_voice_window(tmp_path: Path, speech: np.ndarray) -> None:
    """The model hears the real voice: its mouth region is dark in silence and light while
    the sentence is spoken, whatever the face parameters say; the upper half of the face
    stays the portrait."""
    folder = make_plugin(tmp_path / "p", wav2lip_manifest(
        inputs=[{"name": "face", "role": "face", "shape": [1, 6, 96, 96]}, WAV2LIP_MEL]),
        brightness_model)
    avatar = NeuralAvatar(folder)
    window = avatar.audio_window_s
    assert window[0] == pytest.approx(0.1 + 0.0125 + 0.0250625 + 0.005, abs=1e-4)
    shown = []
    for index in range(len(speech) // SPF):
        avatar.generate(FaceParams(jaw_open=1.0), around(speech, index * SPF, window))
        shown.append(crop_mean(avatar)[0])
    lit = np.array(shown)
    silent_before = lit[:8]  # the first 0.27 s: silence ahead by more than the window
    middle = lit[len(lit) // 2 - 10: len(lit) // 2 + 10]
    silent_after = lit[-15:]
    assert silent_before.max() < 2 and silent_after.max() < 2, (silent_before, silent_after)
    assert middle.mean() > 80, middle
    assert crop_mean(avatar, lower=False) == pytest.approx([128, 128, 128], abs=1)
    # No sound at all (None): silence, a closed mouth.
    avatar.generate(FaceParams(jaw_open=1.0), None)
    assert crop_mean(avatar)[0] < 2


def test_the_mel_window_is_wav2lips(tmp_path: Path) -> None:
    """The mel windows the studio computes frame by frame, from the sound the engine hands
    over (just ``audio_window_s`` of it), are Wav2Lip's mel spectrogram of the whole
    program (its audio.py with hparams.py's settings, computed by librosa 0.11: the golden),
    sliced where Wav2Lip slices it (``offset_ms`` 0: ``int(80 * t)``), or centred."""
    # The golden: tests/golden/neural_avatar/wav2lip_mel.npz, made once with librosa from
    # this signal: resample_poly(x, 1, 3); lfilter([1, -0.97], [1], .); librosa.stft(n_fft
    # 800, hop 200, win 800); filters.mel(16000, 800, 80, 55, 7600) @ |D|;
    # 20 log10(max(1e-5, .)) - 20. (80 frames a second; frame j centred at j / 80 s.)
    t = np.arange(72_000) / 48_000
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 1.3 * t) > 0)
         + 0.1 * np.sin(2 * np.pi * (300 + 2000 * t) * t)
         + 0.2 * np.sin(2 * np.pi * 2500 * t) * (t > 1.0)).astype(np.float32)
    golden = np.load(Path(__file__).parent / "golden" / "neural_avatar" / "wav2lip_mel.npz")
    db = golden["db"]  # (121 frames, 80 bands)
    for offset_ms, first_of_frame_30 in ((0.0, 80), (None, 72)):
        window = MelWindow(MelSpec(offset_ms=offset_ms), 16)
        assert window.first_frame(30 * SPF, RATE) == first_of_frame_30
        checked = 0
        for index in range(2, 40):
            start = index * SPF
            j0 = window.first_frame(start, RATE)
            # Not the clip's edges: its first frames reach before its start (librosa pads
            # the file there; a show is silence before its start) and its last its end.
            if j0 < 2 or j0 + 16 > db.shape[0] - 2:
                continue
            mel = window.compute(around(x, start, window.audio_window_s))
            np.testing.assert_allclose(mel, db[j0:j0 + 16], atol=0.01)
            checked += 1
        assert checked > 25
    # Silence is the floor: min_level_db - ref_level_db, -120 dB; -4 once normalised.
    silence = MelWindow(MelSpec(), 16).compute(around(np.zeros(RATE, np.float32), SPF * 10,
                                                      (0.2, 0.3)))
    assert np.all(silence == pytest.approx(-120.0))
    folder = make_plugin(tmp_path / "p", wav2lip_manifest(
        inputs=[{"name": "face", "role": "face", "shape": [1, 6, 96, 96]}, WAV2LIP_MEL]))
    assert np.all(NeuralAvatar(folder).mel_window(None) == -4.0)


def test_the_manifest_sets_how_the_mel_is_computed(tmp_path: Path) -> None:
    """The mel settings come from the manifest: another sample rate and band count reach
    the window (and the model must take as many bands); bad ones are refused, naming the
    field and the fix."""
    spec = MelSpec(sample_rate_hz=22_050, n_fft=1024, hop_length=256, win_length=1024,
                   n_mels=64, fmax_hz=8000, preemphasis=0.0, magnitude="power")
    window = MelWindow(spec, 10)
    t = np.arange(RATE) / RATE
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    mel = window.compute(around(tone, RATE // 2, window.audio_window_s))
    assert mel.shape == (10, 64)
    from studio.avatar.mel import hz_to_mel

    # The loudest band is the one around 1 kHz.
    edges = np.linspace(hz_to_mel(55.0), hz_to_mel(8000.0), 66)
    peak = int(np.argmax(mel.mean(axis=0)))
    assert edges[peak] <= hz_to_mel(1000.0) <= edges[peak + 2]
    cases = [
        ({"mel": {"n_mels": 64}}, "inputs 'mel' takes 80 mel bands but mel.n_mels is 64; set "
                                  "\"mel\": {\"n_mels\": 80}"),
        ({"mel": {"fmax_hz": 9000}}, "mel: fmax_hz 9000 is above half of sample_rate_hz (8000 "
                                     "Hz); lower fmax_hz or raise sample_rate_hz"),
        ({"mel": {"win_length": 1024}}, "win_length 1024 is longer than n_fft 800"),
        ({"mel": {"hop": 200}}, "unknown key 'hop' in mel; check its spelling"),
        ({"sizes": {"crop_px": 96, "mel_frames": 16, "mel_hops_per_frame": 3}},
         "'mel_hops_per_frame' in sizes is no longer read: the mel window is computed from the "
         "voice"),
    ]
    for i, (change, expected) in enumerate(cases):
        folder = make_plugin(tmp_path / f"bad{i}", wav2lip_manifest(**change))
        problems = plugin_problems(folder)
        assert any(expected in p for p in problems), (expected, problems)


def test_the_blend_has_no_seam(tmp_path: Path) -> None:
    """Across the feather no step between neighbouring pixels is larger than the smooth ramp
    gives; with no feather the same picture has a hard edge (the check can see a seam)."""
    steps = {}
    for feather in (12, 0):
        folder = make_plugin(tmp_path / f"f{feather}", wav2lip_manifest(
            blend={"feather_px": feather}), lambda p: wav2lip_model(
                p, keep=0.0, colour=(1.0, 0.0, 0.0), lower_half=True))
        avatar = NeuralAvatar(folder)
        avatar.generate(FaceParams())
        img = avatar.frame_rgba[:, :, :3].astype(int)
        steps[feather] = max(np.abs(np.diff(img, axis=0)).max(), np.abs(np.diff(img, axis=1)).max())
        x, y, w, h = CROP
        assert img[y + h - 20, x + w // 2] == pytest.approx([255, 0, 0], abs=1)  # painted
        assert img[y + h // 2 - 2, x + w // 2] == pytest.approx([128, 128, 128], abs=1)
        assert img[y + h + 2, x + w // 2] == pytest.approx([128, 128, 128], abs=1)
    # red goes 128 -> 255 and green/blue 128 -> 0 over 12 px: smoothstep's steepest step
    assert steps[12] <= 1.5 * 128 / 12 + 2
    assert steps[0] >= 120


def test_liveportrait_tints_by_motion(tmp_path: Path) -> None:
    weights = np.zeros((3, 3), np.float32)
    weights[0] = (0.5, 0.0, 0.0)  # jaw_open reddens
    weights[2] = (0.0, 0.0, 0.5)  # head yaw blues
    manifest: dict[str, Any] = {
        "name": "Test portrait", "kind": "liveportrait", "licence": "CC-BY-NC-4.0",
        "model": "model.onnx", "source_image": "portrait.png",
        "inputs": [{"name": "source", "role": "source", "shape": [1, 3, 256, 256]},
                   {"name": "motion", "role": "motion", "shape": [1, 3], "layout": "NK"}],
        "outputs": [{"name": "frame", "role": "image", "shape": [1, 3, 256, 256]}],
        "sizes": {"crop_px": 256}, "crop": {"box_px": [32, 48, 256, 256]},
        "motion": [{"param": "jaw_open"}, {"param": "blink_left"},
                   {"param": "head_yaw_rad", "scale": 2.0}],
    }
    folder = make_plugin(tmp_path / "lp", manifest, lambda p: liveportrait_model(p, weights),
                         size=(320, 400))
    avatar = NeuralAvatar(folder)
    avatar.generate(FaceParams())
    assert crop_mean(avatar) == pytest.approx([128, 128, 128], abs=1)
    avatar.generate(FaceParams(jaw_open=1.0))
    assert crop_mean(avatar) == pytest.approx([255, 128, 128], abs=1)
    avatar.generate(FaceParams(head_yaw_rad=0.25))
    assert crop_mean(avatar) == pytest.approx([128, 128, 192], abs=2)
    # K must match: a motion list one short is refused, naming the fix
    bad = dict(manifest, motion=manifest["motion"][:2])
    (folder / "model.json").write_text(json.dumps(bad), encoding="utf-8")
    assert any("motion lists 2 face parameters but inputs 'motion' takes K=3" in p
               for p in plugin_problems(folder))


def test_provider_and_licence_are_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = make_plugin(tmp_path / "mit", wav2lip_manifest())
    with caplog.at_level(logging.INFO, logger="studio.avatar.neural"):
        avatar = NeuralAvatar(folder)
    assert avatar.provider == "CPUExecutionProvider"
    assert avatar.execution_provider.startswith("CPU")
    assert "licence MIT" in avatar.licence_notice
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    nc = make_plugin(tmp_path / "nc", wav2lip_manifest(licence="CC-BY-NC-4.0"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="studio.avatar.neural"):
        avatar = NeuralAvatar(nc)
    assert "CC-BY-NC-4.0: not for commercial streams" in avatar.licence_notice
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("not for commercial streams" in m for m in warned), warned
    notices = plugin_notices(nc)
    assert [n.text for n in notices] == [avatar.licence_notice]
    assert notices[0].warning and notices[0].code == "avatar.licence_non_commercial"
    assert dict(notices[0].args)["licence"] == "CC-BY-NC-4.0"
    assert not plugin_notices(tmp_path / "mit")[0].warning
    assert plugin_problems(nc) == []  # a licence warns; it does not block
    # ... and `studio check` shows it to the user of a show with that plug-in as its host.
    from studio.cli import main

    show = tmp_path / "show.toml"
    show.write_text('[show]\ntitle = "NC"\n[host]\navatar = "nc"\nvoice = "en_US-joe-medium"\n'
                    '[[products]]\nid = "a"\nname = "A"\nprice = 1\ncurrency = "USD"\n'
                    'script = "Hello."\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(show)]) == 0
    assert "note: " in (said := capsys.readouterr().out) and "not for commercial streams" in said


def test_frame_times_are_measured(tmp_path: Path) -> None:
    avatar = NeuralAvatar(make_plugin(tmp_path / "p", wav2lip_manifest()))
    avatar.generate(FaceParams(jaw_open=0.5))
    times = avatar.times
    assert times.model_ms > 0.0 and times.prepare_ms > 0.0 and times.blend_ms > 0.0
    assert times.overhead_ms >= times.prepare_ms + times.blend_ms


def test_crop_from_the_face_and_a_portrait_without_one(tmp_path: Path) -> None:
    from skimage import data

    folder = make_plugin(tmp_path / "p", wav2lip_manifest(crop={"padding": 0.1}))
    Image.fromarray(data.astronaut()).save(folder / "portrait.png")
    avatar = NeuralAvatar(folder)
    x, y, w, h = avatar.crop_box_px
    assert w == h and 100 <= w <= 300  # a square around the astronaut's face
    assert 120 <= x + w / 2 <= 300 and 60 <= y + h / 2 <= 220
    portrait(folder / "portrait.png")  # flat grey: no face
    assert any("no face found in the portrait" in p for p in plugin_problems(folder))


# ---------------------------------------------------------------------------- in the compositor
def test_draws_inside_the_compositor(tmp_path: Path, speech: np.ndarray) -> None:
    from studio.compose.compositor import Compositor
    from studio.show.model import Stage

    folder = make_plugin(tmp_path / "p", wav2lip_manifest(), lambda p: wav2lip_model(
        p, keep=0.0, energy_colour=(1.0, 0.0, 0.0), lower_half=True), rgb=(40, 200, 40))
    tracked = Compositor(320, 180, Stage(), lambda: NeuralAvatar(folder))
    full = Compositor(320, 180, Stage(), lambda: NeuralAvatar(folder))
    avatar = tracked.avatar
    assert isinstance(avatar, NeuralAvatar)
    host = tracked.layout.host_rect_px
    talking = len(speech) // 2 // SPF
    for index in (*range(talking - 8, talking), 5, 6, 7):  # speech, then silence
        audio = around(speech, index * SPF, avatar.audio_window_s)
        tracked.compose(FaceParams(), card_alpha=0.0, audio=audio)
        full.invalidate()
        full.compose(FaceParams(), card_alpha=0.0, audio=audio)
        a, b = tracked.read_rgba(), full.read_rgba()
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1, f"frame {index} differs"
        mx, my, mw, mh = avatar.mouth_rect_px(host)
        mouth = a[my:my + mh, mx:mx + mw, :3].reshape(-1, 3).mean(axis=0)
        if index == talking - 1:
            assert mouth[0] > 150 and mouth[1] < 80, mouth  # the speaking mouth: red
        if index == 7:
            assert mouth[0] < 20, mouth  # silence: dark
    ix, iy, iw, _ = (round(v) for v in avatar.image_rect_px(host))
    frame = tracked.read_rgba()
    body = frame[iy + 4: iy + 20, ix + 4: ix + iw - 4, :3].reshape(-1, 3).mean(axis=0)
    assert body == pytest.approx([40, 200, 40], abs=3)  # the portrait, as it is
    tracked.close()
    full.close()


# ---------------------------------------------------------------------------- on air
LIPS_SHOW = """
[show]
title = "Lips"
language = "en"

[host]
voice = "en_US-joe-medium"
avatar = "lips"

[[products]]
id = "mug"
name = "Mug"
price = 10
currency = "USD"
script = "Hello everyone. This mug is only ten dollars today, so buy two."
"""
SW, SH = 320, 180


def lips_plugin(folder: Path) -> NeuralAvatar:
    make_plugin(folder, wav2lip_manifest(
        inputs=[{"name": "face", "role": "face", "shape": [1, 6, 96, 96]}, WAV2LIP_MEL]),
        brightness_model)
    return NeuralAvatar(folder)


def mouth_light(frames: list[np.ndarray], avatar: NeuralAvatar) -> np.ndarray:
    """The brightness (0..255) of the middle of the generated mouth region on screen."""
    from studio.compose.compositor import StageLayout

    mx, my, mw, mh = avatar.mouth_rect_px(StageLayout.for_frame(SW, SH).host_rect_px)
    rows = slice(my + mh // 4, my + mh * 3 // 4)
    return np.array([float(f[rows, mx:mx + mw, :3].mean()) for f in frames])


def expected_light(program: np.ndarray, n_frames: int, avatar: NeuralAvatar,
                   heard_to_frame_end: bool = False) -> np.ndarray:
    """What the brightness model shows for each frame of ``program`` (the sound heard);
    ``heard_to_frame_end``: only up to the frame's end (a microphone's next samples are not
    known yet)."""
    out = []
    for index in range(n_frames):
        known = program[:(index + 1) * SPF] if heard_to_frame_end else program
        mel = avatar.mel_window(around(known, index * SPF, avatar.audio_window_s))
        out.append(255.0 * min(1.0, max(0.0, (float(mel.mean()) + 4.0) / 8.0)))
    return np.array(out)


def best_lag(a: np.ndarray, b: np.ndarray, reach: int = 5) -> int:
    """The shift (frames) of ``b`` against ``a`` that matches them best."""
    a = (a - a.mean()) / (a.std() + 1e-9)
    b = (b - b.mean()) / (b.std() + 1e-9)
    lags = list(range(-reach, reach + 1))
    scores = [float(np.dot(a[max(0, k):len(a) + min(0, k)], b[max(0, -k):len(b) - max(0, k)]))
              / (len(a) - abs(k)) for k in lags]
    return lags[int(np.argmax(scores))]


def decode(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    import av

    with av.open(str(path)) as container:
        frames = [np.asarray(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    return frames, audio.astype(np.float32)


def check_lips_follow(frames: list[np.ndarray], program: np.ndarray, avatar: NeuralAvatar,
                      what: str, *, tolerance: float, heard_to_frame_end: bool = False) -> None:
    shown = mouth_light(frames, avatar)
    expected = expected_light(program, len(frames), avatar, heard_to_frame_end)
    lag = best_lag(expected, shown)
    r = float(np.corrcoef(expected, shown)[0, 1])
    speaking, silent = expected > 60, expected < 1
    print(f"{what}: lag {lag} frames, r={r:.3f}, speaking {speaking.sum()} frames "
          f"{shown[speaking].mean():.0f}/255, silent {silent.sum()} frames "
          f"{shown[silent].max():.0f}/255, worst |shown - expected| "
          f"{np.abs(shown - expected).max():.1f}")
    assert lag == 0, f"{what}: the mouth is {lag} frames off its sound"
    assert r > 0.97, r
    assert speaking.sum() > 20 and silent.sum() > 10
    assert shown[silent].max() < 12 and shown[speaking].mean() > 65
    assert np.abs(shown - expected).max() < tolerance
    # Frame by frame: where the sound starts (the window reaches the speech) the picture does.
    onset_expected = int(np.argmax(expected > 20))
    onset_shown = int(np.argmax(shown > 20))
    assert abs(onset_shown - onset_expected) <= 1, (onset_shown, onset_expected)


def test_a_render_moves_the_models_mouth_with_the_real_voice_frame_exact(
        tmp_path: Path, piper_voice: Any) -> None:
    """`studio render` of a show whose host is a wav2lip plug-in: the model hears the
    program (the real Piper voice), so in the MP4 the mouth region is black in the pauses
    and lit while the host speaks, at the frames the sound in the same file says."""
    from studio.engine.frames import FrameState
    from studio.engine.render import RenderSettings, render_show
    from studio.show.loader import load_show

    avatar = lips_plugin(tmp_path / "lips")
    (tmp_path / "show.toml").write_text(LIPS_SHOW, encoding="utf-8")
    states: list[FrameState] = []
    result = render_show(load_show(tmp_path / "show.toml"), tmp_path / "lips.mp4",
                         RenderSettings(SW, SH), tts=piper_voice, on_frame=states.append)
    frames, audio = decode(result.video_path)
    assert len(frames) == len(states)
    windows = [s.audio for s in states]
    assert all(w is not None and w.frame_start_samples == s.start_samples
               for w, s in zip(windows, states, strict=True))
    check_lips_follow(frames, audio, avatar, "render", tolerance=30)


def test_the_live_engine_gives_the_model_the_voice_and_in_puppet_mode_the_microphone(
        tmp_path: Path, piper_voice: Any, speech: np.ndarray) -> None:
    """On air the same: the AI's voice (recorded by the live engine), and in puppet mode the
    human's microphone, which the program carries: the model's mouth follows what is heard,
    frame by frame. The microphone is heard up to the frame's end (what comes after is not
    known yet), the AI's voice ahead too (it is placed before it is said)."""
    import wave

    from studio.engine import commands as cmd
    from studio.engine.events import FrameDelivered
    from studio.engine.live import LiveEngine
    from studio.inputs.base import parse_mic
    from studio.program.switcher import Mode
    from studio.show.loader import load_show

    avatar = lips_plugin(tmp_path / "lips")
    (tmp_path / "show.toml").write_text(LIPS_SHOW, encoding="utf-8")
    mic = tmp_path / "mic.wav"
    with wave.open(str(mic), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(speech, -1, 1) * 32767).round().astype("<i2").tobytes())
    for mode, n_frames in ((Mode.AI, 150), (Mode.PUPPET, len(speech) // SPF)):
        eng = LiveEngine(load_show(tmp_path / "show.toml"), width_px=SW, height_px=SH,
                         realtime=False, tts=piper_voice, mode=mode,
                         mic=parse_mic(str(mic)) if mode is Mode.PUPPET else None)
        frames: list[np.ndarray] = []

        def keep(e: object, got: list[np.ndarray] = frames) -> None:
            if isinstance(e, FrameDelivered):
                got.append(e.rgba)

        eng.subscribe(keep)
        out = tmp_path / f"{mode.value}.mp4"
        eng.send(cmd.StartRecording(out))
        eng.run_frames(n_frames)
        eng.send(cmd.StopRecording())
        eng.run_frames(1)
        eng.close()
        _, heard = decode(out)
        check_lips_follow(frames[:n_frames], heard, avatar, f"live {mode.value}",
                          tolerance=12, heard_to_frame_end=mode is Mode.PUPPET)
