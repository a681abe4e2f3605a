"""Program loudness and the limiter's cost: prints JSON.

Measures a rendered MP4 (``--video``, with its timeline JSON beside it) by ffmpeg's
``ebur128`` filter (an independent BS.1770 meter: integrated loudness, loudness range, true
peak) and by studio's meter per sentence; then times the per-sentence gain and the limiter
per 30 fps frame on this CPU.

    .venv/bin/python bench/bench_loudness.py --video demo.mp4
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from studio.program.loudness import TruePeakLimiter, sentence_gain_db, sentence_loudness

RATE_HZ = 48_000


def ebur128(path: Path) -> dict[str, float]:
    """ffmpeg's own measurement of a file's audio: I (LUFS), LRA (LU), true peak (dBTP)."""
    err = subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-vn", "-af",
                          "ebur128=peak=true", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    summary = err[err.rindex("Summary:"):]

    def grab(label: str) -> float:
        match = re.search(label + r":\s+(-?inf|-?[\d.]+)", summary)
        assert match is not None, summary
        return float(match.group(1))

    return {"integrated_lufs": grab("I"), "lra_lu": grab("LRA"), "true_peak_dbtp": grab("Peak")}


def decode(path: Path) -> npt.NDArray[np.float32]:
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray()[0] for frame in container.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float32)


def sentence_spans(timeline: Path) -> list[tuple[int, int]]:
    data = json.loads(timeline.read_text(encoding="utf-8"))
    return [(s["start_sample"], s["end_sample"]) for seg in data["segments"]
            for s in seg["sentences"]]


def measure_video(video: Path) -> dict[str, object]:
    audio = decode(video)
    spans = sentence_spans(video.with_name(video.stem + ".timeline.json"))
    loudness = [sentence_loudness(audio[a:b], RATE_HZ) for a, b in spans]
    return {"video": str(video), "ffmpeg": ebur128(video), "sentences": len(spans),
            "sentence_lufs_min": round(min(loudness), 2),
            "sentence_lufs_max": round(max(loudness), 2),
            "sentence_lufs": [round(v, 2) for v in loudness]}


def measure_cost(seconds: float = 20.0) -> dict[str, float]:
    rng = np.random.default_rng(0)
    n = int(seconds * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    # Speech-like: noise bursts at syllable rate, hot enough that the limiter works.
    x = (rng.standard_normal(n) * 0.4 * np.sin(2 * np.pi * 2.5 * t) ** 2).astype(np.float32)
    frame = RATE_HZ // 30
    limiter = TruePeakLimiter(RATE_HZ)
    began = time.perf_counter()
    frames = 0
    for start in range(0, n - frame, frame):
        end = start + frame
        limiter.process(start, x[start:end], x[end:end + limiter.lookahead_samples])
        frames += 1
    limiter_ms = (time.perf_counter() - began) * 1000 / frames
    sentence = x[: 4 * RATE_HZ]
    began = time.perf_counter()
    for _ in range(10):
        sentence_gain_db(sentence, RATE_HZ)
    gain_ms = (time.perf_counter() - began) * 1000 / 10
    return {"limiter_ms_per_frame_30fps": round(limiter_ms, 3),
            "sentence_gain_ms_per_4s_sentence": round(gain_ms, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--video", type=Path, action="append", default=[])
    args = parser.parse_args()
    result: dict[str, object] = {"cost": measure_cost()}
    result["videos"] = [measure_video(v) for v in args.video]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
