"""Input latencies. Prints one JSON object.

    .venv/bin/python bench/bench_inputs.py [--seconds 5] [--size 1280x720]

- camera (lavfi at the device boundary, paced in real time like a webcam, 30 fps): polled by
  an engine-like loop at 25 fps (so every phase between the two shows), the age of the
  picture ``frame_at`` returns (arrival to use), and the capture pipeline's delay (a
  picture's arrival minus its own timestamp on the wall clock, the first picture taken as
  zero: read + decode + RGB conversion jitter);
- the RGB conversion each camera picture costs on the capture thread;
- camera file: the cost of ``frame_at`` (decode one frame + RGB) at the same size;
- microphone on JACK's dummy driver (started here): what the jitter buffer holds after each
  1600-sample read (its share of the latency; the device block adds to it), underruns, drops.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.inputs import build_audio_input, build_video_input, parse_camera, parse_mic


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 2),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "max": round(ordered[-1], 2)}


def bench_camera(seconds: float, size: str) -> dict[str, Any]:
    camera = build_video_input(parse_camera(f"lavfi:testsrc2=size={size}:rate=30"))
    camera.open()
    ages_ms: list[float] = []
    arrivals: dict[int, tuple[int, float]] = {}
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < seconds:
        frame = camera.frame_at(i * 1600, 48_000)
        now_ns = time.monotonic_ns()
        if frame is not None:
            ages_ms.append((now_ns - frame.captured_ns) / 1e6)
            arrivals[frame.sequence] = (frame.captured_ns, frame.pts_s)
        i += 1
        delay = started + i / 25 - time.monotonic()  # not the camera's rate: every phase
        if delay > 0:
            time.sleep(delay)
    health = camera.health()
    camera.close()
    pipeline_ms: list[float] = []
    if arrivals:
        first_ns, first_pts = arrivals[min(arrivals)]
        pipeline_ms = [((ns - first_ns) / 1e9 - (pts - first_pts)) * 1e3
                       for ns, pts in arrivals.values()]
    return {"size": size, "frames": health.frames, "measured_fps": round(health.fps, 2),
            "dropped_untaken": health.dropped, "age_at_frame_at_ms": _summary(ages_ms),
            "capture_delay_vs_first_ms": _summary(pipeline_ms)}


def bench_file_camera(size: str) -> dict[str, Any]:
    import av

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        source = av.open(f"testsrc2=size={size}:rate=30:duration=2", format="lavfi")
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=30)
            width, height = (int(v) for v in size.split("x"))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for k, frame in enumerate(source.decode(video=0)):
                frame.pts = k
                for packet in stream.encode(frame.reformat(format="yuv420p")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        source.close()
        camera = build_video_input(parse_camera(str(path)))
        camera.open()
        costs_ms = []
        for k in range(120):  # two loops: the re-open at the loop is included
            t0 = time.perf_counter()
            camera.frame_at(k * 1600, 48_000)
            costs_ms.append((time.perf_counter() - t0) * 1e3)
        camera.close()
    return {"size": size, "content": "testsrc2 as H.264", "frame_at_ms": _summary(costs_ms)}


def bench_conversion(size: str) -> dict[str, Any]:
    """What the capture thread spends per picture beyond the device: YUV to RGB."""
    import av

    source = av.open(f"testsrc2=size={size}:rate=30:duration=1", format="lavfi")
    frames = [f.reformat(format="yuv420p") for f in source.decode(video=0)]
    source.close()
    costs_ms = []
    for frame in frames:
        t0 = time.perf_counter()
        frame.to_ndarray(format="rgb24")
        costs_ms.append((time.perf_counter() - t0) * 1e3)
    return {"size": size, "yuv420p_to_rgb_ms": _summary(costs_ms)}


def bench_mic(seconds: float) -> dict[str, Any]:
    jackd = shutil.which("jackd")
    if not jackd:
        return {"skipped": "jackd is missing"}
    server = f"livehost-bench-inputs-{os.getpid()}"
    os.environ.update({"JACK_DEFAULT_SERVER": server, "JACK_NO_AUDIO_RESERVATION": "1",
                       "JACK_NO_START_SERVER": "1"})
    proc = subprocess.Popen([jackd, "-n", server, "--no-realtime", "-d", "dummy", "-r", "48000",
                             "-p", "512"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import sounddevice

    try:
        deadline = time.monotonic() + 10
        while True:
            time.sleep(0.3)
            sounddevice._terminate()
            sounddevice._initialize()
            if any("JACK" in a["name"] and a["devices"] for a in sounddevice.query_hostapis()):
                break
            if time.monotonic() > deadline:
                return {"skipped": "the JACK dummy server did not come up"}
        mic: Any = build_audio_input(parse_mic("system"))
        mic.open(48_000)
        buffered_ms: list[float] = []
        started = time.monotonic()
        i = 0
        while time.monotonic() - started < seconds:
            mic.read(i * 1600, 1600)
            if mic.state.value == "live":
                buffered_ms.append(mic.buffered_samples / 48.0)
            i += 1
            delay = started + i / 30 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        health = mic.health()
        result = {"device": "JACK dummy, 512-sample periods",
                  "jitter_buffer_after_read_ms": _summary(buffered_ms),
                  "target_extra_ms": round(mic.target_extra_samples / 48.0, 2),
                  "reads": i, "underruns": health.underruns, "dropped_samples": health.dropped}
        mic.close()
        return result
    finally:
        sounddevice._terminate()
        proc.terminate()
        proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    print(json.dumps({"camera_lavfi": bench_camera(args.seconds, args.size),
                      "camera_conversion": bench_conversion(args.size),
                      "camera_file": bench_file_camera(args.size),
                      "mic_jack": bench_mic(args.seconds)}, indent=2))


if __name__ == "__main__":
    main()
