"""Face tracking cost per frame. Prints one JSON object.

    .venv/bin/python bench/bench_tracking.py [--frames 200] [--max-side 640]

Feeds FaceTracker the test face (the astronaut photo rolling and opening its mouth, made by
tests/facemedia.py, frames prepared before timing) at 640x360 and 1280x720 and reports
``FaceTracker.last_ms`` (downscale + mediapipe face mesh with irises + FaceParams + smoothing):
mean, p95 and max, after a warm-up, and the share of frames in which the face was found.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.face.tracking import FaceTracker
from tests.facemedia import face_frame

WARMUP_FRAMES = 10
FPS = 30.0


def bench_size(size_px: tuple[int, int], n_frames: int, max_side_px: int) -> dict[str, object]:
    frames = [face_frame(i / FPS, roll_deg=10.0 * math.sin(i / FPS * math.pi),
                         mouth_open=0.5 - 0.5 * math.cos(i / FPS * 2.0 * math.pi * 0.8),
                         size_px=size_px)
              for i in range(n_frames + WARMUP_FRAMES)]
    ms: list[float] = []
    found = 0
    with FaceTracker(max_side_px=max_side_px) as tracker:
        for i, frame in enumerate(frames):
            face = tracker.track(frame, i / FPS)
            if i >= WARMUP_FRAMES:
                ms.append(tracker.last_ms)
                found += face is not None
    ms_sorted = sorted(ms)
    return {
        "size_px": f"{size_px[0]}x{size_px[1]}",
        "frames": len(ms),
        "tracking_ms_mean": round(statistics.fmean(ms), 2),
        "tracking_ms_p95": round(ms_sorted[min(len(ms) - 1, int(0.95 * len(ms)))], 2),
        "tracking_ms_max": round(ms_sorted[-1], 2),
        "face_found": round(found / len(ms), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--max-side", type=int, default=640)
    args = ap.parse_args()
    results = [bench_size(size, args.frames, args.max_side) for size in ((640, 360), (1280, 720))]
    print(json.dumps({"bench": "face_tracking", "max_side_px": args.max_side,
                      "cpu": platform.processor() or platform.machine(),
                      "cpu_count": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
