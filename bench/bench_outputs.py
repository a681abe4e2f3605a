"""Every output at once, live. Prints one JSON object.

    .venv/bin/python bench/bench_outputs.py [--seconds 60] [--size 1280x720]

Runs the demo show live, paced by a real sound device (JACK's dummy driver, started here),
into the virtual camera (faked at the pyvirtualcam boundary: no kernel device here), an
MPEG-TS stream over UDP (received by ffmpeg, a reader we did not write), an MP4 recording
and the sound device. Reports delivered fps, dropped frames, audio underruns, each output's
own drops, and the A/V offset at each output:
- file and stream: first audio pts minus first video pts, and the end durations, read back;
- sound device and virtual camera: when a frame's first sample is heard (PortAudio's DAC
  time) minus when that frame reached the camera / the preview.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

os.environ.setdefault("EGL_PLATFORM", "surfaceless")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_jack() -> subprocess.Popen[bytes]:
    server = f"livehost-bench-{os.getpid()}"
    os.environ["JACK_DEFAULT_SERVER"] = server
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"
    os.environ["JACK_NO_START_SERVER"] = "1"
    jackd = shutil.which("jackd")
    assert jackd, "jackd is missing: bash installers/studio.sh test installs jackd2"
    proc = subprocess.Popen([jackd, "-n", server, "--no-realtime", "-d", "dummy", "-r",
                             "48000", "-p", "512"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    import sounddevice

    deadline = time.monotonic() + 10
    while True:
        time.sleep(0.3)
        sounddevice._terminate()
        sounddevice._initialize()
        if any("JACK" in api["name"] and api["devices"] for api in sounddevice.query_hostapis()):
            return proc
        if time.monotonic() > deadline:
            raise SystemExit("the JACK dummy server did not come up")


class FakeCamera:
    """pyvirtualcam.Camera without the kernel device: keeps each frame's arrival time."""

    made: ClassVar[list[FakeCamera]] = []

    def __init__(self, width: int, height: int, fps: float, **_: Any) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.arrivals: list[tuple[float, int]] = []  # (monotonic s, shape check)
        self.device = "/dev/video10 (fake)"
        self.backend = "fake"
        FakeCamera.made.append(self)

    def send(self, frame: Any) -> None:
        assert frame.shape == (self.height, self.width, 3)
        self.arrivals.append((time.monotonic(), 0))

    def close(self) -> None:
        pass


def read_back(path: Path) -> dict[str, Any]:
    """First pts and duration of each stream, from ffprobe's packet list."""
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
                          "-show_entries", "packet=stream_index,pts_time,duration_time",
                          str(path)], capture_output=True, text=True, check=True).stdout
    info = json.loads(out)
    kinds = {s["index"]: s["codec_type"] for s in info["streams"]}
    first: dict[str, float] = {}
    last_end: dict[str, float] = {}
    for p in info.get("packets", []):
        kind = kinds.get(p["stream_index"])
        if kind is None or p.get("pts_time") is None:
            continue
        t = float(p["pts_time"])
        first[kind] = min(first.get(kind, t), t)
        last_end[kind] = max(last_end.get(kind, t), t + float(p.get("duration_time") or 0))
    return {
        "audio_minus_video_start_ms": round((first["audio"] - first["video"]) * 1000, 1),
        "video_s": round(last_end["video"] - first["video"], 3),
        "audio_s": round(last_end["audio"] - first["audio"], 3),
    }


ALL_KINDS = ("audio", "virtualcam", "stream", "file")
FILE_OPTIONS = tuple(("preset", os.environ["BENCH_FILE_PRESET"]) for _ in [0]
                     if os.environ.get("BENCH_FILE_PRESET"))
STREAM_OPTIONS = tuple(("preset", os.environ["BENCH_STREAM_PRESET"]) for _ in [0]
                       if os.environ.get("BENCH_STREAM_PRESET"))


def run(seconds: float, width: int, height: int,
        kinds: tuple[str, ...] = ALL_KINDS) -> dict[str, Any]:
    import pyvirtualcam

    from studio.engine.events import Event, FrameDelivered, Status
    from studio.engine.live import LiveEngine
    from studio.outputs.audio_device import AudioDeviceOutput
    from studio.outputs.base import OutputSpec
    from studio.outputs.virtualcam import VirtualCameraOutput
    from studio.paths import demo_show_path
    from studio.show.loader import load_show

    pyvirtualcam.Camera = FakeCamera  # type: ignore[misc,assignment]
    camera_frames: list[tuple[float, int]] = []  # (when the camera got it, its pts)
    write_video = VirtualCameraOutput.write_video

    def timed_write(self: VirtualCameraOutput, frame: Any) -> None:
        write_video(self, frame)
        camera_frames.append((time.monotonic(), frame.pts_samples))

    VirtualCameraOutput.write_video = timed_write  # type: ignore[method-assign]
    jack = start_jack()
    folder = Path(tempfile.mkdtemp(prefix="bench-outputs-"))
    port = free_udp_port()
    capture = folder / "udp.ts"
    receiver = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-timeout", "30000000",
                                 "-i", f"udp://127.0.0.1:{port}?overrun_nonfatal=1&fifo_size="
                                 "1000000", "-c", "copy", "-f", "mpegts", str(capture)],
                                stdin=subprocess.DEVNULL)
    recording = folder / "program.mp4"
    audio = AudioDeviceOutput(OutputSpec("audio", ""))
    engine = LiveEngine(load_show(demo_show_path()), width_px=width, height_px=height,
                        fps=Fraction(30),
                        outputs=[o for kind, o in (
                                 ("audio", audio), ("virtualcam", OutputSpec("virtualcam", "")),
                                 ("stream", OutputSpec("stream", f"udp://127.0.0.1:{port}",
                                                       STREAM_OPTIONS)),
                                 ("file", OutputSpec("file", str(recording), FILE_OPTIONS)))
                                 if kind in kinds])
    previews: list[tuple[float, int]] = []  # (arrival monotonic s, pts)
    statuses: list[Status] = []
    lock = threading.Lock()

    def on_event(event: Event) -> None:
        if isinstance(event, FrameDelivered):
            with lock:
                previews.append((time.monotonic(), event.pts_samples))
        elif isinstance(event, Status):
            statuses.append(event)

    engine.subscribe(on_event)
    engine.start()
    while len(previews) < 60:  # warm-up: voice loaded, first sentence on air
        time.sleep(0.05)
    first = statuses[-1]
    n0 = len(previews)
    time.sleep(seconds)
    last = statuses[-1]
    with lock:
        window = previews[n0:]
    def offsets_of(shown: list[tuple[float, int]]) -> list[float]:
        """When each picture's first sample was heard, minus when the picture was shown."""
        if "audio" not in kinds:
            return []
        heard = [(audio.heard_at_monotonic_s(pts), t) for t, pts in shown[-300:]]
        return [at - t for at, t in heard if at is not None]

    offsets = offsets_of(window)
    camera_offsets = offsets_of(camera_frames)
    health = {h.name: h for h in engine.outputs}
    engine.stop()
    time.sleep(1.0)
    receiver.send_signal(signal.SIGINT)  # ffmpeg finishes the file on SIGINT
    try:
        receiver.wait(10)
    except subprocess.TimeoutExpired:
        receiver.kill()
        receiver.wait(5)
    import sounddevice

    sounddevice._terminate()  # let go of PortAudio first: its JACK backend aborts otherwise
    jack.terminate()
    jack.wait(10)
    cam = FakeCamera.made[-1] if FakeCamera.made else None
    cam_fps = None
    if cam is not None and len(cam.arrivals) > 60:
        span = cam.arrivals[-1][0] - cam.arrivals[60][0]
        cam_fps = round((len(cam.arrivals) - 61) / span, 2)

    def ms(values: list[float]) -> dict[str, float] | None:
        if not values:
            return None
        return {"mean": round(statistics.fmean(values) * 1000, 1),
                "max_abs": round(max(abs(v) for v in values) * 1000, 1)}

    result: dict[str, Any] = {
        "size": f"{width}x{height}@30", "seconds": seconds,
        "delivered_fps": round((len(window) - 1) / (window[-1][0] - window[0][0]), 3),
        "frames_dropped": last.frames_dropped - first.frames_dropped,
        "audio_underruns": last.audio_underruns - first.audio_underruns,
        "present_delay_frames": engine.present_delay_frames,
        "outputs": {name: {"state": h.state.value, "frames_sent": h.frames_sent,
                           "frames_dropped": h.frames_dropped,
                           "bitrate_kbps": round(h.bitrate_bps / 1000, 1)}
                    for name, h in health.items()},
        "virtual_camera_fps": cam_fps,
        "av_offset": {
            "sound_heard_minus_preview_shown_ms": ms(offsets),
            "sound_heard_minus_virtual_camera_ms": ms(camera_offsets),
            "mp4": read_back(recording) if "file" in kinds else None,
            "udp_stream_as_received": read_back(capture) if "stream" in kinds else None,
        },
    }
    shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--outputs", default=",".join(ALL_KINDS),
                        help="which outputs, of " + ",".join(ALL_KINDS))
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    kinds = tuple(k.strip() for k in args.outputs.split(",") if k.strip())
    print(json.dumps({"outputs_run": kinds, **run(args.seconds, width, height, kinds)},
                     indent=1))


if __name__ == "__main__":
    main()
