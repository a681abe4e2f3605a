"""Audio-to-face: the shipped ONNX model on real speech from the shipped voice.

Held-out sentences (not in the training corpus) are synthesised here; the reference is the
engine's own phoneme-driven mouth (FaceMotion on Piper's exact alignments and audio) at 100 Hz,
the labels the model was trained towards. The energy-only baseline is fitted by least squares
on these very sentences, which only flatters it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from studio.core.clock import MediaClock
from studio.core.errors import StudioError
from studio.face.a2f import AudioToFace, MouthTrack
from studio.face.audio_features import resample
from studio.face.motion import FaceMotion, _loudness_gain
from studio.voice.types import SpeechClip

RATE = 48_000
HOP48 = RATE // 100
HELD_OUT = (
    "Grandmother always kept a jar of peppermints beside the old radio in the kitchen.",
    "Would you like to hear about the marvellous journey we took across the mountains?",
    "Seven purple umbrellas blew away during the festival, and nobody could catch them.",
    "Honestly, the soup was cold, but the bread was warm and the company was wonderful.",
)
F32 = npt.NDArray[np.float32]


@dataclass
class Sample:
    clip: SpeechClip
    labels: F32  # (n_hops, n_names): the phoneme-driven mouth per 10 ms hop
    gain: F32  # (n_hops,) the engine's loudness->jaw gain


@pytest.fixture(scope="session")
def a2f() -> AudioToFace:
    return AudioToFace(provider="cpu")


@pytest.fixture(scope="session")
def held_out(piper_voice: Any, a2f: AudioToFace) -> list[Sample]:
    out: list[Sample] = []
    clock = MediaClock(Fraction(100), RATE)
    for text in HELD_OUT:
        clip = piper_voice.synthesize(text)
        n_hops = -(-clip.n_samples // HOP48)
        motion = FaceMotion(clock, seed=1)
        motion.add_speech(clip.phonemes, clip.audio, 0)
        labels = np.array([[getattr(motion.params_at_frame(i), n) for n in a2f.names]
                           for i in range(n_hops)], np.float32)
        gain = _loudness_gain(resample(clip.audio, RATE), 160, 1.0)[:n_hops]
        out.append(Sample(clip, labels, gain.astype(np.float32)))
    return out


def test_shipped_model_loads_on_cpu_and_says_so(a2f: AudioToFace) -> None:
    assert a2f.execution_provider == "CPU"
    assert set(a2f.names) >= {"jaw_open", "lip_pucker", "lip_press", "lip_stretch"}
    auto = AudioToFace()
    assert auto.execution_provider.split()[0] in ("CPU", "CUDA")
    assert a2f.model_path.stat().st_size < 5_000_000


def test_asking_for_cuda_without_it_says_so(caplog: pytest.LogCaptureFixture) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime offers CUDA")
    with caplog.at_level("WARNING", logger="studio.face.a2f"):
        model = AudioToFace(provider="cuda")
    assert model.execution_provider.startswith("CPU (CUDA not offered")
    assert any("CUDA" in r.getMessage() for r in caplog.records)


def test_model_beats_energy_baseline_on_held_out_speech(a2f: AudioToFace,
                                                       held_out: list[Sample]) -> None:
    pred = np.concatenate([a2f.track(s.clip.audio, RATE).params[: len(s.labels)]
                           for s in held_out])
    y = np.concatenate([s.labels for s in held_out])
    g = np.concatenate([s.gain for s in held_out])
    assert pred.shape == y.shape
    design = np.stack([g, np.ones_like(g)], axis=1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    base = np.clip(design @ coef, 0.0, 1.0)
    for j, name in enumerate(a2f.names):
        mae_model = float(np.mean(np.abs(pred[:, j] - y[:, j])))
        mae_base = float(np.mean(np.abs(base[:, j] - y[:, j])))
        r_model = float(np.corrcoef(pred[:, j], y[:, j])[0, 1])
        r_base = float(np.corrcoef(base[:, j], y[:, j])[0, 1])
        assert mae_model < mae_base, (name, mae_model, mae_base)
        assert r_model > r_base, (name, r_model, r_base)
    jaw = a2f.names.index("jaw_open")
    assert np.corrcoef(pred[:, jaw], y[:, jaw])[0, 1] > 0.8


@pytest.mark.parametrize(("rate", "chunk"), [(48_000, 480), (48_000, 1111), (16_000, 160)])
def test_streaming_equals_offline(a2f: AudioToFace, held_out: list[Sample], rate: int,
                                  chunk: int) -> None:
    audio = held_out[0].clip.audio
    if rate != RATE:
        audio = resample(audio, RATE, rate)
    offline = a2f.track(audio, rate).params
    stream = a2f.stream(rate)
    seen: dict[int, F32] = {}
    for i in range(0, audio.shape[0], chunk):
        stream.push(audio[i: i + chunk])
        if stream.hops_out:
            m = stream.mouth()
            seen[stream.hops_out - 1] = np.array([getattr(m, n) for n in a2f.names])
    pushes = -(-audio.shape[0] // chunk)
    assert len(seen) > 0.8 * min(pushes, offline.shape[0])
    for hop, values in seen.items():
        np.testing.assert_allclose(values, offline[hop], atol=2e-5)
    assert stream.latency_s <= 0.060


def test_latency_is_at_most_60_ms(a2f: AudioToFace) -> None:
    assert 0.0 < a2f.latency_s <= 0.060
    assert a2f.stream(44_100).latency_s <= 0.060


def test_silence_keeps_the_mouth_closed(a2f: AudioToFace) -> None:
    rng = np.random.default_rng(0)
    for audio in (np.zeros(RATE, np.float32),
                  (1e-4 * rng.standard_normal(RATE)).astype(np.float32)):  # -80 dBFS hiss
        track = a2f.track(audio, RATE)
        assert track.params.shape == (100, len(a2f.names))
        assert float(track.params[:, a2f.names.index("jaw_open")].max()) < 0.05
        assert float(track.params.max()) < 0.15
    stream = a2f.stream(RATE)
    assert stream.mouth().jaw_open == 0.0
    stream.push(np.zeros(4800, np.float32))
    assert stream.mouth().jaw_open < 0.05


def test_voice_without_alignments_moves_the_mouth_with_its_loudness(
        a2f: AudioToFace, held_out: list[Sample]) -> None:
    spoken = held_out[1].clip
    clip = SpeechClip(spoken.text, spoken.spoken_text, spoken.audio, RATE, (), ())
    assert not clip.phonemes
    clock = MediaClock(Fraction(30), RATE)
    start = RATE  # the sentence starts 1 s into the show
    motion = FaceMotion(clock, seed=3)
    motion.add_mouth_track(a2f.track(clip.audio, clip.sample_rate_hz), start)
    n_frames = clock.frames_covering(start + clip.n_samples) + 30
    jaw = np.array([motion.params_at_frame(i).jaw_open for i in range(n_frames)])
    first = clock.frame_at_sample(start)
    last = clock.frame_at_sample(start + clip.n_samples - 1)
    assert float(np.abs(jaw[: first - 1]).max()) == 0.0  # closed before it
    assert float(np.abs(jaw[last + 2:]).max()) < 0.02  # and after it
    assert float(jaw.max()) > 0.3
    # Frame loudness of the same audio vs the jaw.
    loud = np.zeros(n_frames)
    for i in range(first, last + 1):
        s0 = clock.frame_start_sample(i) - start
        s1 = clock.frame_start_sample(i + 1) - start
        seg = clip.audio[max(s0, 0): max(s1, 0)].astype(np.float64)
        loud[i] = np.sqrt(np.mean(seg**2)) if seg.size else 0.0
    assert np.corrcoef(jaw[first: last + 1], loud[first: last + 1])[0, 1] > 0.5
    # Phoneme sentences keep working beside it (the engine mixes both kinds).
    other = held_out[2].clip
    at = start + clip.n_samples + RATE
    motion.add_speech([p.shifted(at) for p in other.phonemes], other.audio, at)
    mid = clock.frame_at_sample(at + other.n_samples // 2)
    assert max(motion.params_at_frame(i).jaw_open for i in range(mid - 15, mid + 15)) > 0.2


def test_mouth_track_lookup() -> None:
    params = np.array([[0.2, 0.0], [0.6, 1.0]], np.float32)
    track = MouthTrack(0.01, 0.0, params, ("jaw_open", "lip_pucker"))
    assert track.at(0.015) == pytest.approx({"jaw_open": 0.6, "lip_pucker": 1.0})
    assert track.at(-0.001) == {"jaw_open": 0.0, "lip_pucker": 0.0}
    assert track.at(0.03) == {"jaw_open": 0.0, "lip_pucker": 0.0}
    np.testing.assert_allclose(track.mean_over(0.005, 0.015), [0.4, 0.5], atol=1e-6)
    np.testing.assert_allclose(track.mean_over(0.01, 0.04), [0.2, 1 / 3], atol=1e-6)


def test_corrupt_or_missing_model_names_the_file_and_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "a2f.onnx"
    bad.write_bytes(b"\x08\x01this is not an onnx model")
    with pytest.raises(StudioError, match=r"a2f\.onnx.*(restore|retrain)") as err:
        AudioToFace(bad)
    assert str(bad) in str(err.value) and "training.a2f.train" in str(err.value)
    with pytest.raises(StudioError, match="not found") as err:
        AudioToFace(tmp_path / "missing.onnx")
    assert "missing.onnx" in str(err.value)
    with pytest.raises(StudioError, match="provider"):
        AudioToFace(provider="tpu")


def test_audio_sentences_are_dropped_when_old_and_cut_when_interrupted() -> None:
    clock = MediaClock(Fraction(30), RATE)
    motion = FaceMotion(clock, seed=0)
    params = np.full((100, 1), 0.5, np.float32)  # 1 s of a half-open jaw
    track = MouthTrack(0.01, 0.0, params, ("jaw_open",))
    for k in range(20):
        motion.add_mouth_track(track, k * 2 * RATE)
        for i in range(k * 60, k * 60 + 60, 5):
            motion.params_at_frame(i)
        assert motion.buffer_sizes()["audio_sentences"] <= 3
    start = 50 * RATE
    motion.add_mouth_track(track, start)
    motion.cut_speech(start + RATE // 2)
    f0 = clock.frame_at_sample(start)
    assert motion.params_at_frame(f0 + 3).jaw_open == pytest.approx(0.5, abs=1e-6)
    assert motion.params_at_frame(f0 + 20).jaw_open == 0.0  # cut at 0.5 s: closed from there
