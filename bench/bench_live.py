"""Live pacing and takeover latency. Prints one JSON object.

    .venv/bin/python bench/bench_live.py [--seconds 60] [--size 1280x720] [--audio-device NAME]

Runs the demo show live (paced by the monotonic clock, or by a sound device when one is
named) and measures delivered fps, frame-interval jitter, dropped frames, audio underruns;
then flips takeover a number of times and measures how many frames and milliseconds pass
between the command and the first output frame that shows the other source. With
``--qt`` the takeover goes through the real window's F9 key (offscreen Qt).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import threading
import time
from fractions import Fraction
from typing import Any

os.environ.setdefault("EGL_PLATFORM", "surfaceless")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(seconds: float, width: int, height: int, audio_device: str | None,
        takeovers: int) -> dict[str, Any]:
    from studio.engine import commands as cmd
    from studio.engine.events import Event, FrameDelivered, Status
    from studio.engine.live import LiveEngine
    from studio.outputs.base import OutputSpec
    from studio.paths import demo_show_path
    from studio.program.switcher import Mode
    from studio.show.loader import load_show

    sink = audio_device is not None
    engine = LiveEngine(load_show(demo_show_path()), width_px=width, height_px=height,
                        fps=Fraction(30),
                        outputs=[OutputSpec("audio", audio_device)] if audio_device else [])
    arrivals: list[tuple[float, int, bool]] = []
    last_status: list[Status] = []
    changed = threading.Event()
    want_human = [False]

    def on_event(event: Event) -> None:
        if isinstance(event, FrameDelivered):
            arrivals.append((time.perf_counter(), event.index, (event.mode == "human")))
            if (event.mode == "human") == want_human[0]:
                changed.set()
        elif isinstance(event, Status):
            last_status[:] = [event]

    engine.subscribe(on_event)
    engine.start()
    # Let the engine warm up (voice loaded, first sentence on air) before measuring.
    while not arrivals or arrivals[-1][1] < 60:
        time.sleep(0.05)
    start_index = len(arrivals)
    dropped_before = last_status[0].frames_dropped if last_status else 0
    underruns_before = last_status[0].audio_underruns if last_status else 0
    time.sleep(seconds)
    window = arrivals[start_index:]
    status = last_status[0]
    intervals_ms = [(b[0] - a[0]) * 1000 for a, b in itertools.pairwise(window)]
    frame_ms = 1000 / 30
    pacing = {
        "seconds": seconds, "size": f"{width}x{height}@30",
        "clock": "sound device" if sink else "monotonic",
        "frames_delivered": len(window),
        "delivered_fps": round((len(window) - 1) / (window[-1][0] - window[0][0]), 3),
        "frame_interval_ms_mean": round(statistics.fmean(intervals_ms), 3),
        "frame_interval_jitter_ms_std": round(statistics.pstdev(intervals_ms), 3),
        "frame_interval_ms_p99": round(percentile(intervals_ms, 0.99), 3),
        "late_intervals_over_1.5_frames": sum(1 for v in intervals_ms if v > 1.5 * frame_ms),
        "frames_dropped": status.frames_dropped - dropped_before,
        "audio_underruns": status.audio_underruns - underruns_before,
        "execution_provider": status.execution_provider,
    }
    latencies_ms: list[float] = []
    latencies_frames: list[int] = []
    for n in range(takeovers):
        want_human[0] = n % 2 == 0
        changed.clear()
        last_index = arrivals[-1][1]
        sent = time.perf_counter()
        engine.send(cmd.SetMode(Mode.HUMAN if want_human[0] else Mode.AI))
        changed.wait(5)
        arrived = next(a for a in reversed(arrivals) if a[2] == want_human[0])
        first = next(a for a in arrivals if a[1] > last_index and a[2] == want_human[0])
        latencies_ms.append((first[0] - sent) * 1000)
        latencies_frames.append(first[1] - last_index - 1)
        del arrived
        time.sleep(0.4)
    engine.stop()
    return {"pacing": pacing, "takeover": {
        "switches": takeovers, "path": "LiveEngine.send(SetMode)",
        "latency_ms_mean": round(statistics.fmean(latencies_ms), 2),
        "latency_ms_max": round(max(latencies_ms), 2),
        "old_frames_after_command_max": max(latencies_frames),
        "note": "old frames = frames still showing the old source after the command: at "
                "most the one frame already being rendered when it arrived"}}


def qt_takeover(width: int, height: int, switches: int, seconds: float) -> dict[str, Any]:
    """The real window (offscreen Qt): pacing with the preview and teleprompter painting,
    then F9 key event → first output frame switched."""
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("LIVEHOST_CONFIG_DIR", tempfile.mkdtemp())
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from studio.engine.events import Event, FrameDelivered, Status
    from studio.paths import demo_show_path
    from studio.ui.main_window import StudioWindow, live_engine_factory

    app = QApplication.instance() or QApplication([])
    window = StudioWindow(engine_factory=live_engine_factory(width, height))
    window.show()
    assert window.open_show(demo_show_path())
    engine = window.engine
    assert engine is not None
    frames: list[tuple[float, int, bool]] = []
    statuses: list[Status] = []

    def on_event(event: Event) -> None:
        if isinstance(event, FrameDelivered):
            frames.append((time.perf_counter(), event.index, (event.mode == "human")))
        elif isinstance(event, Status):
            statuses[:] = [event]

    engine.subscribe(on_event)

    def pump(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            QCoreApplication.processEvents()
            time.sleep(0.002)

    while not frames or frames[-1][1] < 60:
        pump(0.05)
    first_index = len(frames)
    dropped_before = statuses[0].frames_dropped
    shown_before = window.preview.frames_shown
    pump(seconds)
    window_frames = frames[first_index:]
    pacing = {"seconds": seconds,
              "delivered_fps": round((len(window_frames) - 1)
                                     / (window_frames[-1][0] - window_frames[0][0]), 3),
              "frames_dropped": statuses[0].frames_dropped - dropped_before,
              "previews_painted_fps": round(
                  (window.preview.frames_shown - shown_before) / seconds, 1)}
    latencies_ms: list[float] = []
    frames_after: list[int] = []
    for n in range(switches):
        human = n % 2 == 0
        last_index = frames[-1][1]
        pressed = time.perf_counter()
        QTest.keyClick(window, Qt.Key.Key_F9)
        while not any(f[1] > last_index and f[2] == human for f in frames):
            pump(0.002)
        first = next(f for f in frames if f[1] > last_index and f[2] == human)
        latencies_ms.append((first[0] - pressed) * 1000)
        frames_after.append(first[1] - last_index - 1)
        pump(0.4)
    window.stop_show()
    window.close()
    del app
    return {"pacing_with_window": pacing,
            "switches": switches, "path": "F9 key in the studio window (offscreen Qt)",
            "latency_ms_mean": round(statistics.fmean(latencies_ms), 2),
            "latency_ms_max": round(max(latencies_ms), 2),
            "old_frames_after_key_max": max(frames_after),
            "frame_period_ms": round(1000 / 30, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--audio-device", default=None)
    parser.add_argument("--takeovers", type=int, default=20)
    parser.add_argument("--qt", action="store_true", help="also time F9 through the window")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    result = {"date": time.strftime("%Y-%m-%d"), "cpu_count": os.cpu_count(),
              **run(args.seconds, width, height, args.audio_device, args.takeovers)}
    if args.qt:
        result["takeover_qt"] = qt_takeover(width, height, args.takeovers, args.seconds)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
