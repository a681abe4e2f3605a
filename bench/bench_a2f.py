"""Audio-to-face ms per 10 ms hop, streaming at the engine's 48 kHz. Prints one JSON object.

    .venv/bin/python bench/bench_a2f.py [--seconds 20] [--provider auto]

Streams speech from the shipped voice through A2FStream in 10 ms pushes (resampling, log-mel
and one model run per hop, as a live microphone does) and reports the time per hop (mean, p95,
max), the stream's sound-to-mouth latency (look-ahead + hop + resampler; compute on top), the
execution provider in use, the model's size and the offline (whole clip) speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--provider", default="auto")
    args = ap.parse_args()

    from studio.face.a2f import AudioToFace
    from studio.voice.piper_tts import PiperTTS

    rate = 48_000
    a2f = AudioToFace(provider=args.provider)
    voice = PiperTTS("en_US-joe-medium")
    pieces: list[np.ndarray] = []
    total = 0
    lines = ["Hello and welcome back to the show, everyone.",
             "This beautiful teapot costs only thirty nine dollars today."]
    while total < args.seconds * rate:
        clip = voice.synthesize(lines[len(pieces) % len(lines)])
        pieces.append(clip.audio)
        total += clip.n_samples
    audio = np.concatenate(pieces)[: int(args.seconds * rate)]

    hop = rate // 100
    stream = a2f.stream(rate)
    stream.push(audio[:hop])  # warm-up
    times_ms: list[float] = []
    for i in range(hop, audio.shape[0] - hop, hop):
        t0 = time.perf_counter()
        stream.push(audio[i: i + hop])
        stream.mouth()
        times_ms.append((time.perf_counter() - t0) * 1000.0)
    times_ms.sort()

    t0 = time.perf_counter()
    track = a2f.track(audio, rate)
    offline_s = time.perf_counter() - t0
    print(json.dumps({
        "ms_per_hop": round(statistics.fmean(times_ms), 4),
        "p95_ms_per_hop": round(times_ms[int(0.95 * len(times_ms))], 4),
        "max_ms_per_hop": round(times_ms[-1], 4),
        "hops": len(times_ms),
        "latency_s": round(a2f.latency_s, 4),
        "latency_incl_p95_compute_s": round(
            a2f.latency_s + times_ms[int(0.95 * len(times_ms))] / 1000.0, 4),
        "provider": a2f.execution_provider,
        "model_bytes": a2f.model_path.stat().st_size,
        "offline_ms_per_audio_s": round(1000.0 * offline_s / (track.n_hops / 100), 3),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
