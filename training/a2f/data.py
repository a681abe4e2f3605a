"""Training data: the shipped voice reads many sentences; labels are the engine's own mouth.

Each utterance is silence, one or two sentences (with a pause) and silence, synthesised at a
random speed and noise scale. Its labels are what FaceMotion (the phoneme-driven mouth the
engine runs for this voice) shows on a 100 Hz clock, i.e. the 10 ms average of each mouth
parameter over the same hop as the audio feature. Augmented copies (gain, noise at several
SNRs, reverberation, cheap-mic band limits, vocal-tract-length warps for other voices) keep
the clean labels, so the model learns to see through the room and the microphone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, fftconvolve, lfilter, sosfilt

from studio.core.clock import ENGINE_SAMPLE_RATE_HZ, MediaClock
from studio.face.audio_features import HOP, MODEL_RATE_HZ, log_mel, resample
from studio.face.motion import FaceMotion, _loudness_gain
from studio.voice.types import PhonemeSpan

PARAM_NAMES = ("jaw_open", "lip_pucker", "lip_press", "lip_stretch", "tongue_up")
LABEL_CLOCK = MediaClock(Fraction(100), ENGINE_SAMPLE_RATE_HZ)
ENGINE_HOP = ENGINE_SAMPLE_RATE_HZ // 100

F32 = npt.NDArray[np.float32]


@dataclass
class Utterance:
    """One utterance: 16 kHz audio, its labels per 10 ms hop, and which sentence(s) it reads."""

    sentence_ids: tuple[int, ...]
    audio16: F32 = field(repr=False)  # clean, at MODEL_RATE_HZ
    labels: F32 = field(repr=False)  # (n_hops, len(PARAM_NAMES))
    length_scale: float = 1.0
    noise_scale: float = 0.667

    @property
    def n_hops(self) -> int:
        return int(self.labels.shape[0])


@dataclass
class Example:
    """Features of one (possibly augmented) rendition of an utterance, with its labels."""

    sentence_ids: tuple[int, ...]
    kind: str  # "clean" or a description of the augmentation chain
    features: F32 = field(repr=False)  # (n_hops, N_MELS)
    labels: F32 = field(repr=False)
    energy_gain: F32 = field(repr=False)  # (n_hops,) the engine's loudness->jaw mapping, per hop


def labels_for(phonemes: tuple[PhonemeSpan, ...] | list[PhonemeSpan], audio48: F32,
               audio_start_samples: int, n_hops: int, seed: int) -> F32:
    """The engine's phoneme-driven mouth, averaged over each 10 ms hop."""
    motion = FaceMotion(LABEL_CLOCK, seed=seed)
    motion.add_speech(phonemes, audio48, audio_start_samples)
    out = np.zeros((n_hops, len(PARAM_NAMES)), np.float32)
    for i in range(n_hops):
        p = motion.params_at_frame(i)
        out[i] = [getattr(p, name) for name in PARAM_NAMES]
    return out


def energy_gain(audio16: F32, n_hops: int) -> F32:
    """Energy-only baseline input: the engine's own loudness->jaw gain, per 10 ms hop."""
    g = _loudness_gain(audio16, HOP, 1.0)
    out = np.zeros(n_hops, np.float32)
    m = min(n_hops, g.shape[0])
    out[:m] = g[:m]
    return out


def synthesize_utterances(sentences: list[str], rng: np.random.Generator,
                          log_every: int = 100) -> Iterator[Utterance]:
    """Read each sentence (sometimes two back to back) with random speed and noise scales."""
    from piper import SynthesisConfig

    from studio.voice.piper_tts import PiperTTS

    tts = PiperTTS("en_US-joe-medium")
    t0 = time.monotonic()
    i = 0
    while i < len(sentences):
        ids = (i, i + 1) if rng.random() < 0.25 and i + 1 < len(sentences) else (i,)
        length_scale = float(rng.uniform(0.75, 1.4))
        noise_scale = float(rng.uniform(0.3, 1.0))
        # PiperTTS keeps its synthesis settings in _config; training varies them per sentence.
        tts._config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale,
                                      noise_w_scale=float(rng.uniform(0.4, 1.2)),
                                      volume=0.85, normalize_audio=True)
        pieces: list[F32] = []
        spans: list[PhonemeSpan] = []
        cursor = round(float(rng.uniform(0.05, 0.6)) * ENGINE_SAMPLE_RATE_HZ)
        pieces.append(np.zeros(cursor, np.float32))
        for k, sid in enumerate(ids):
            clip = tts.synthesize(sentences[sid])
            spans += [s.shifted(cursor) for s in clip.phonemes]
            pieces.append(clip.audio)
            cursor += clip.n_samples
            gap = round(float(rng.uniform(0.1, 0.5) if k + 1 < len(ids) else
                              rng.uniform(0.05, 0.6)) * ENGINE_SAMPLE_RATE_HZ)
            pieces.append(np.zeros(gap, np.float32))
            cursor += gap
        audio48 = np.concatenate(pieces)
        n_hops = audio48.shape[0] // ENGINE_HOP
        audio48 = audio48[: n_hops * ENGINE_HOP]
        # The engine passes each sentence's audio from the sentence start; so do the labels here.
        first = spans[0].start_samples
        labels = labels_for(spans, audio48[first:], first, n_hops, seed=ids[0])
        audio16 = resample(audio48, ENGINE_SAMPLE_RATE_HZ)[: n_hops * HOP]
        yield Utterance(ids, audio16, labels, length_scale, noise_scale)
        i += len(ids)
        if log_every and i // log_every != (i - len(ids)) // log_every:
            print(f"  synthesised {i}/{len(sentences)} sentences "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)


# ---------------------------------------------------------------------- augmentation
def _coloured_noise(rng: np.random.Generator, n: int, colour: str) -> F32:
    white = rng.standard_normal(n)
    if colour == "white":
        x = white
    elif colour == "pink":  # Paul Kellet's economy filter, ~ -3 dB/octave
        x = lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                    [1.0, -2.494956002, 2.017265875, -0.522189400], white)
    elif colour == "brown":
        x = lfilter([1.0], [1.0, -0.995], white)
    else:  # "hum": mains hum with harmonics plus a little hiss
        t = np.arange(n) / MODEL_RATE_HZ
        f0 = float(rng.choice([50.0, 60.0]))
        x = 0.05 * white
        for h in range(1, 6):
            x = x + np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3)) / h
    x = np.asarray(x, np.float64)
    return (x / (np.sqrt(np.mean(x * x)) + 1e-12)).astype(np.float32)


def _babble(rng: np.random.Generator, n: int, others: list[F32]) -> F32:
    """Other speech underneath (the voice's other sentences, warped): a busy room."""
    out = np.zeros(n, np.float32)
    for _ in range(int(rng.integers(2, 5))):
        src = others[int(rng.integers(len(others)))]
        start = int(rng.integers(0, max(1, n - src.shape[0]))) if src.shape[0] < n else 0
        seg = src[: n - start]
        out[start: start + seg.shape[0]] += seg
    rms = float(np.sqrt(np.mean(out.astype(np.float64) ** 2)))
    return out / rms if rms > 1e-8 else _coloured_noise(rng, n, "pink")


def _reverb(rng: np.random.Generator, x: F32) -> tuple[F32, str]:
    rt60 = float(rng.uniform(0.15, 0.9))
    n = int(rt60 * MODEL_RATE_HZ)
    t = np.arange(n) / MODEL_RATE_HZ
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    rir[0] = 0.0
    pre = int(rng.integers(0, 80))  # early reflections start a few ms late
    rir = np.concatenate([np.zeros(pre), rir])
    rir /= np.sqrt(np.sum(rir**2)) + 1e-12
    wet = float(rng.uniform(0.2, 0.8))
    direct = np.zeros_like(rir)
    direct[0] = 1.0
    h = (1.0 - wet) * direct + wet * rir
    y = fftconvolve(x, h)[: x.shape[0]]
    return y.astype(np.float32), f"reverb{rt60:.1f}s"


def _band_limit(rng: np.random.Generator, x: F32) -> tuple[F32, str]:
    kind = rng.choice(["phone", "cheap", "lowpass", "highpass"])
    if kind == "phone":
        lo, hi = float(rng.uniform(250, 400)), float(rng.uniform(3000, 3600))
    elif kind == "cheap":
        lo, hi = float(rng.uniform(100, 250)), float(rng.uniform(4000, 6500))
    elif kind == "lowpass":
        lo, hi = 0.0, float(rng.uniform(2500, 5000))
    else:
        lo, hi = float(rng.uniform(200, 600)), 0.0
    nyq = MODEL_RATE_HZ / 2
    order = int(rng.integers(2, 6))
    if lo and hi:
        sos = butter(order, [lo / nyq, hi / nyq], btype="band", output="sos")
    elif hi:
        sos = butter(order, hi / nyq, btype="low", output="sos")
    else:
        sos = butter(order, lo / nyq, btype="high", output="sos")
    return sosfilt(sos, x).astype(np.float32), f"band{int(lo)}-{int(hi)}"


def augment(rng: np.random.Generator, x: F32, others: list[F32]) -> tuple[F32, float, str]:
    """A random chain of room, microphone and level changes; returns audio, warp, description."""
    tags: list[str] = []
    y = x.astype(np.float32)
    warp = 1.0
    if rng.random() < 0.6:  # vocal-tract length: a smaller or larger speaker
        warp = float(rng.uniform(0.82, 1.2))
        tags.append(f"vtlp{warp:.2f}")
    if rng.random() < 0.45:
        y, tag = _reverb(rng, y)
        tags.append(tag)
    if rng.random() < 0.45:
        y, tag = _band_limit(rng, y)
        tags.append(tag)
    if rng.random() < 0.7:
        snr_db = float(rng.choice([0.0, 5.0, 10.0, 15.0, 20.0, 30.0]) + rng.uniform(0, 5))
        colour = str(rng.choice(["white", "pink", "brown", "hum", "babble"]))
        noise = (_babble(rng, y.shape[0], others) if colour == "babble"
                 else _coloured_noise(rng, y.shape[0], colour))
        sig = x.astype(np.float64)
        active = sig[np.abs(sig) > 1e-4]
        sig_rms = float(np.sqrt(np.mean(active**2))) if active.size else 0.1
        y = y + noise * (sig_rms / 10 ** (snr_db / 20))
        tags.append(f"{colour}{snr_db:.0f}dB")
    gain_db = float(rng.uniform(-26.0, 8.0))
    y = y * 10 ** (gain_db / 20)
    if gain_db > 0:
        y = np.clip(y, -1.0, 1.0)  # an over-driven input clips
    tags.append(f"gain{gain_db:+.0f}dB")
    return y.astype(np.float32), warp, "+".join(tags)


def examples_for(utt: Utterance, rng: np.random.Generator, n_augmented: int,
                 others: list[F32]) -> list[Example]:
    """The clean rendition plus ``n_augmented`` augmented ones, as features."""
    out = [Example(utt.sentence_ids, "clean", log_mel(utt.audio16)[: utt.n_hops], utt.labels,
                   energy_gain(utt.audio16, utt.n_hops))]
    for _ in range(n_augmented):
        y, warp, tag = augment(rng, utt.audio16, others)
        feats = log_mel(y, warp)[: utt.n_hops]
        out.append(Example(utt.sentence_ids, tag, feats, utt.labels, energy_gain(y, utt.n_hops)))
    return out


def save_utterances(path: Any, utts: list[Utterance]) -> None:
    np.savez_compressed(
        path, audio=np.concatenate([u.audio16 for u in utts]),
        labels=np.concatenate([u.labels for u in utts]),
        n_hops=np.array([u.n_hops for u in utts]),
        ids=np.array([u.sentence_ids[0] for u in utts]),
        ids2=np.array([u.sentence_ids[-1] for u in utts]),
        length_scale=np.array([u.length_scale for u in utts]),
        noise_scale=np.array([u.noise_scale for u in utts]))


def load_utterances(path: Any) -> list[Utterance]:
    with np.load(path) as z:  # each z[key] decompresses afresh: read every array once
        d = {k: z[k] for k in z.files}
    out: list[Utterance] = []
    a0 = h0 = 0
    for k, n in enumerate(d["n_hops"].tolist()):
        ids = (int(d["ids"][k]),) if d["ids"][k] == d["ids2"][k] else (
            int(d["ids"][k]), int(d["ids2"][k]))
        out.append(Utterance(ids, d["audio"][a0: a0 + n * HOP], d["labels"][h0: h0 + n],
                             float(d["length_scale"][k]), float(d["noise_scale"][k])))
        a0 += n * HOP
        h0 += n
    return out
