"""Speed of each voice on this machine: real-time factor and time to first audio. Prints JSON.

    .venv/bin/python bench/bench_voices.py [--threads 1,2] [--repeats 3]

Per voice (Piper en_US-joe-medium; Kokoro jf_alpha in English and in Mandarin), after one
warm-up sentence: the time to first audio of a short clause and of a long sentence (the first
clip from ``stream``, which splits a long sentence at its commas, as the live engine can
play it), the real-time factor of the whole sentence (synthesis time / audio duration), the
load time and the execution provider, per onnxruntime thread count (the live engine gives its
voice one thread: the frame loop has the other core). Targets on a 2-core CPU: Piper ≤ 150 ms,
Kokoro ≤ 1 s to first audio. Medians over ``--repeats``; the load average is printed because
other work on the machine slows every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXTS = {
    "en": ("Welcome back, everyone.",
           "This moisturising cream is only $39.99 today, and if you order in the next ten "
           "minutes, we add a travel-size bottle for free, so tap the link below."),
    "zh": ("欢迎来到直播间。",
           "这款保湿面霜，今天直播间只要三十九块九，买两瓶再送一个旅行装，库存不多了，"
           "喜欢的朋友赶紧下单。"),
}
VOICES = (("piper joe", "en_US-joe-medium", "en", 0.150),
          ("kokoro en jf_alpha", "kokoro:jf_alpha", "en", 1.0),
          ("kokoro zh jf_alpha", "kokoro:jf_alpha", "zh", 1.0))


def _measure(voice: Any, text: str, repeats: int) -> dict[str, float | int]:
    first: list[float] = []
    total: list[float] = []
    audio_s = 0.0
    clauses = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = 0
        clauses = 0
        for clip in voice.stream(text):
            if clauses == 0:
                first.append(time.perf_counter() - t0)
            clauses += 1
            n += clip.n_samples
        total.append(time.perf_counter() - t0)
        audio_s = n / 48_000
    return {"first_audio_ms": round(statistics.median(first) * 1000, 1),
            "synthesis_ms": round(statistics.median(total) * 1000, 1),
            "audio_s": round(audio_s, 2), "clauses": clauses,
            "rtf": round(statistics.median(total) / max(audio_s, 1e-6), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated intra-op thread counts")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from studio.voice.registry import load_voice

    results: dict[str, Any] = {"cpu_count": os.cpu_count(),
                               "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    for threads in (int(t) for t in args.threads.split(",")):
        for label, name, language, target_s in VOICES:
            t0 = time.perf_counter()
            voice = load_voice(name, base_dir=None, language=language, threads=threads)
            load_s = time.perf_counter() - t0
            short, long = TEXTS[language]
            voice.synthesize(short)  # warm-up: the first run of a session is slower
            s = _measure(voice, short, args.repeats)
            lng = _measure(voice, long, args.repeats)
            results[f"{label}, {threads} thread{'s' if threads > 1 else ''}"] = {
                "voice": voice.info.name, "language": language, "threads": threads,
                "execution_provider": voice.execution_provider, "load_s": round(load_s, 2),
                "short_clause": s, "long_sentence": lng,
                "first_audio_target_ms": target_s * 1000,
                "meets_target": max(s["first_audio_ms"], lng["first_audio_ms"]) <= target_s * 1000,
            }
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
