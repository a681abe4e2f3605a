"""Takeover for real, timed: camera to output, switches per mode, a long puppet run. JSON out.

    .venv/bin/python bench/bench_takeover.py [--seconds 60] [--size 1280x720]

1. Camera-to-output latency in human and puppet modes: the camera is FFmpeg's lavfi virtual
   device (the same capture path as a V4L2 webcam: its own thread, newest frame wins); each
   output frame's latency is from the moment its camera picture arrived from the device to the
   moment the frame went to the outputs (a virtual camera, no sound device to wait for). In
   puppet mode the picture counted is the one the avatar's face was tracked from (the tracker
   runs on its own thread, on the newest picture).
2. Takeover latency per mode: from ``send(SetMode)`` to the first output frame of that mode,
   in milliseconds and frames.
3. A puppet run of ``--seconds`` at the given size and 30 fps, paced in real time, with a
   face video and a speech file standing in for the camera and the microphone: delivered fps,
   dropped frames, face tracking ms per frame, audio-to-face provider.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

os.environ.setdefault("EGL_PLATFORM", "surfaceless")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": round(statistics.fmean(values), 2) if values else 0.0,
            "p95": round(percentile(values, 0.95), 2), "max": round(max(values, default=0), 2)}


def _camera_latency_in(mode_name: str, width: int, height: int,
                       seconds: float) -> dict[str, Any]:
    from studio.engine.events import Event, FrameDelivered
    from studio.engine.live import LiveEngine
    from studio.inputs.base import (
        CapturedFrame,
        InputHealth,
        VideoInput,
        build_video_input,
        parse_camera,
    )
    from studio.paths import demo_show_path
    from studio.program.switcher import Mode
    from studio.show.loader import load_show

    device = build_video_input(parse_camera(f"lavfi:testsrc2=size={width}x{height}:rate=30"))
    picked: dict[int, int] = {}  # engine frame pts -> captured_ns of the picture it used
    arrived: dict[int, int] = {}  # camera picture sequence -> captured_ns

    class Timed(VideoInput):
        """The device, with the arrival time of each picture the engine takes noted."""

        realtime = True

        def __init__(self) -> None:
            super().__init__(device.spec)

        def open(self) -> None:
            device.open()

        def close(self) -> None:
            device.close()

        def frame_at(self, pts_samples: int, sample_rate_hz: int) -> CapturedFrame | None:
            frame = device.frame_at(pts_samples, sample_rate_hz)
            if frame is not None:
                picked[pts_samples] = frame.captured_ns
                arrived[frame.sequence] = frame.captured_ns
            return frame

        def health(self) -> InputHealth:
            return device.health()

    latencies: list[float] = []
    engine = LiveEngine(load_show(demo_show_path()), width_px=width, height_px=height,
                        fps=Fraction(30), camera=Timed(), mode=Mode(mode_name), crossfade_s=0.0)

    puppet = mode_name == "puppet"

    def on_event(event: Event) -> None:
        if not isinstance(event, FrameDelivered) or event.pts_samples not in picked:
            return
        captured = picked.pop(event.pts_samples)
        if puppet:  # the picture behind the face on this frame (a benchmark may peek)
            captured = arrived.get(engine._puppet.face_sequence, 0)
            if not captured:
                return
        latencies.append((time.monotonic_ns() - captured) / 1e6)

    engine.subscribe(on_event)
    engine.start()
    time.sleep(1.5)  # warm up: the first pictures, the tracker's first frames
    latencies.clear()
    time.sleep(seconds)
    engine.stop()
    return {"camera_to_output_ms": _stats(latencies), "frames": len(latencies)}


def camera_latency(width: int, height: int, seconds: float) -> dict[str, Any]:
    return {mode: _camera_latency_in(mode, width, height, seconds)
            for mode in ("human", "puppet")}


def takeover_latency(width: int, height: int, switches: int) -> dict[str, Any]:
    from studio.engine import commands as cmd
    from studio.engine.events import Event, FrameDelivered
    from studio.engine.live import LiveEngine
    from studio.inputs.base import parse_camera
    from studio.paths import demo_show_path
    from studio.program.switcher import Mode
    from studio.show.loader import load_show

    arrivals: list[tuple[float, int, str]] = []
    lock = threading.Lock()

    def on_event(event: Event) -> None:
        if isinstance(event, FrameDelivered):
            with lock:
                arrivals.append((time.perf_counter(), event.index, event.mode))

    engine = LiveEngine(load_show(demo_show_path()), width_px=width, height_px=height,
                        fps=Fraction(30), crossfade_s=0.0,
                        camera=parse_camera(f"lavfi:testsrc2=size={width}x{height}:rate=30"))
    engine.subscribe(on_event)
    engine.start()
    time.sleep(2.0)
    order = [Mode.HUMAN, Mode.PUPPET, Mode.AI, Mode.PUPPET, Mode.HUMAN, Mode.AI]
    per_mode: dict[str, list[tuple[float, int]]] = {m.value: [] for m in Mode}
    for n in range(switches):
        mode = order[n % len(order)]
        with lock:
            last_index = arrivals[-1][1] if arrivals else -1
        sent = time.perf_counter()
        engine.send(cmd.SetMode(mode))
        deadline = sent + 5.0
        first = None
        while first is None and time.perf_counter() < deadline:
            time.sleep(0.001)
            with lock:
                first = next((a for a in arrivals if a[1] > last_index and a[2] == mode.value),
                             None)
        if first is not None:
            per_mode[mode.value].append(((first[0] - sent) * 1000, first[1] - last_index))
        time.sleep(0.6)
    engine.stop()
    return {mode: {"ms": _stats([ms for ms, _ in v]),
                   "frames_after_command_max": max((f for _, f in v), default=0),
                   "switches": len(v)} for mode, v in per_mode.items()}


def puppet_run(width: int, height: int, seconds: float, record: bool) -> dict[str, Any]:
    from studio.engine.events import Event, InputsChanged, Problem, Status
    from studio.engine.live import LiveEngine
    from studio.inputs.base import parse_camera, parse_mic
    from studio.outputs.base import OutputSpec
    from studio.paths import demo_show_path
    from studio.program.switcher import Mode
    from studio.show.loader import load_show
    from tests import facemedia

    folder = Path(tempfile.mkdtemp(prefix="bench-puppet-"))
    speech, rate = facemedia.write_speech_wav(
        folder / "speech.wav", "Hello everyone and welcome back. This mug keeps your coffee "
        "hot for six hours, and today it is twenty percent off. Tap the cart below to order.")
    envelope = facemedia.mouth_open_from_speech(speech, rate, 30)
    duration_s = len(speech) / rate
    facemedia.write_face_video(
        folder / "face.mp4", duration_s=duration_s, fps=30,
        roll_deg=lambda t: 10.0 * math.sin(2 * math.pi * 0.3 * t),
        mouth_open=lambda t: float(envelope[min(int(t * 30), len(envelope) - 1)]),
        size_px=(1280, 720))
    statuses: list[Status] = []
    tracking: list[float] = []
    problems: list[str] = []
    provider: list[str] = []

    def on_event(event: Event) -> None:
        if isinstance(event, Status):
            statuses.append(event)
        elif isinstance(event, InputsChanged):
            if event.tracking_ms:
                tracking.append(event.tracking_ms)
            provider[:] = [event.a2f_provider]
        elif isinstance(event, Problem):
            problems.append(event.message)

    # A virtual camera stands where OBS or the platform's app reads the program: the
    # engine's realtime path (its frames are handed over as they are shown).
    engine = LiveEngine(load_show(demo_show_path()), width_px=width, height_px=height,
                        fps=Fraction(30), mode=Mode.PUPPET,
                        camera=parse_camera(str(folder / "face.mp4")),
                        mic=parse_mic(str(folder / "speech.wav")),
                        outputs=[OutputSpec("file", str(folder / "puppet.mp4"))] if record else [])
    engine.subscribe(on_event)
    started = time.perf_counter()
    engine.start()
    time.sleep(seconds)
    engine.stop()
    wall_s = time.perf_counter() - started
    last = statuses[-1]
    return {"seconds": round(wall_s, 1), "size": f"{width}x{height}",
            "fps_delivered": last.fps_delivered, "frames_delivered": last.frames_delivered,
            "frames_dropped": last.frames_dropped,
            "recording": "an MP4 (x264, every frame)" if record else "none",
            "tracking_ms_samples": _stats(tracking),
            "a2f_provider": provider[0] if provider else "",
            "problems": sorted(set(problems))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--switches", type=int, default=12)
    parser.add_argument("--record", action="store_true",
                        help="also record the puppet run to an MP4 (a second encoder)")
    parser.add_argument("--only", choices=("latency", "takeover", "puppet"), default=None)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    result: dict[str, Any] = {"machine": f"{os.cpu_count()} cores"}
    if args.only in (None, "latency"):
        result["camera_to_output"] = camera_latency(width, height, 8.0)
    if args.only in (None, "takeover"):
        result["takeover"] = takeover_latency(width, height, args.switches)
    if args.only in (None, "puppet"):
        result["puppet_run"] = puppet_run(width, height, args.seconds, args.record)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
