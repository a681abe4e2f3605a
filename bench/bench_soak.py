"""Soak: a looping show run unpaced for many minutes of show time. Prints one JSON object.

    .venv/bin/python bench/bench_soak.py [--minutes 10] [--size 640x360]

Checks that nothing grows with time on air: process memory (RSS) at checkpoints, and the
engine's own buffers (face-motion history, queued speech, pending synthesis).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

os.environ.setdefault("EGL_PLATFORM", "surfaceless")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(x for x in status if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", default="640x360")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    from studio.engine.events import Event, SentenceStarted
    from studio.engine.live import LiveEngine
    from studio.paths import demo_show_path
    from studio.show.loader import load_show

    show = load_show(demo_show_path())
    show = show.model_copy(update={"show": show.show.model_copy(update={"loop": True})})
    show.with_base_dir(demo_show_path().parent)
    engine = LiveEngine(show, width_px=width, height_px=height, realtime=False)
    sentences = [0]

    def on_event(event: Event) -> None:
        if isinstance(event, SentenceStarted):
            sentences[0] += 1

    engine.subscribe(on_event)
    total_frames = int(args.minutes * 60 * 30)
    checkpoints: list[dict[str, Any]] = []
    started = time.perf_counter()
    step = max(1, total_frames // 10)
    for done in range(0, total_frames, step):
        engine.run_frames(step)
        checkpoints.append({
            "show_minutes": round((done + step) / 30 / 60, 2), "rss_mb": round(rss_mb(), 1),
            "sentences_said": sentences[0],
            "face_buffers": engine._face.buffer_sizes(),
            "speech_clips_queued": len(engine._core.mixer._clips),
            "product_segments_kept": len(engine._core.timeline.segments),
            "synthesis_results_held": len(engine._synth._results)})
    wall = time.perf_counter() - started
    engine.close()
    # Allocators and onnxruntime's arena grow in one-time steps early on; a leak shows as
    # steady growth, so compare the second half of the run.
    middle, last = checkpoints[len(checkpoints) // 2 - 1], checkpoints[-1]
    span_min = last["show_minutes"] - middle["show_minutes"]
    print(json.dumps({
        "date": time.strftime("%Y-%m-%d"), "size": args.size, "show_minutes": args.minutes,
        "wall_s": round(wall, 1), "x_real_time_unpaced": round(args.minutes * 60 / wall, 2),
        "rss_growth_mb_per_hour_second_half": round(
            (last["rss_mb"] - middle["rss_mb"]) / span_min * 60, 1),
        "checkpoints": checkpoints}, indent=1))


if __name__ == "__main__":
    main()
