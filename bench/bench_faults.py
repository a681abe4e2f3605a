"""Faults injected into a supervised live show: recovery and what the output saw. One JSON object.

    .venv/bin/python bench/bench_faults.py [--size 640x360] [--fps 30]

A real paced engine (Piper joe, vispy on EGL) under the supervisor with its production
thresholds, one fresh engine per fault: a voice line that hangs (once), a voice line that
raises (once), a renderer that raises for 6 s, a render that hangs for 3 s. For each: the
restarts (component, how long each took), the recovery time (fault injected → the next
sentence on air), and at an in-memory output that loses nothing: whether every frame went
out at its own timestamp, the longest wait between two frames arriving (and its 99th
percentile, and how many waits were over 1.5 frame periods), the longest run of identical
pictures (the held picture), frames held.

Then the output faults, with the real parts (``--no-outputs`` leaves them out): a streaming
server (nginx-rtmp) killed for 1.5 s and started again, and a sound server (JACK's dummy
driver, pacing the show) killed for 2 s and started again, each beside an MP4 recording.
For each: the longest wait between two pictures going out while the fault lasted, how long
the output took to come back, and the recording read back (every frame, in order).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

os.environ.setdefault("EGL_PLATFORM", "surfaceless")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHOW = """
[show]
title = "Faults"
intro = "Welcome!"
loop = true

[host]
voice = "en_US-joe-medium"

[[products]]
id = "a"
name = "Alpha Mug"
price = 10
currency = "USD"
script = "Alpha is a mug. It holds tea. It is blue. It is light. It is on sale."
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--no-outputs", action="store_true",
                        help="leave out the stream-server and sound-server faults")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    fps = Fraction(args.fps)

    import tempfile

    from studio.core.clock import MediaClock
    from studio.core.media import AudioChunk
    from studio.engine.events import Event, Problem, SentenceStarted
    from studio.engine.frames import FrameRenderer, FrameState
    from studio.engine.live import LiveEngine
    from studio.engine.supervisor import Supervisor, Thresholds
    from studio.face.motion import FaceMotion
    from studio.outputs.base import (
        FramePolicy,
        Output,
        OutputSpec,
        OutputState,
        ProgramFormat,
        ProgramFrame,
    )
    from studio.show.loader import load_show
    from studio.show.model import Show
    from studio.voice.piper_tts import PiperTTS
    from studio.voice.types import SpeechClip

    class Collect(Output):
        kind: ClassVar[str] = "collect"
        policy: ClassVar[FramePolicy] = FramePolicy.LOSSLESS

        def __init__(self) -> None:
            super().__init__(OutputSpec("collect", "memory"))
            self.frames: list[tuple[int, int, bytes, float]] = []

        def open(self, fmt: ProgramFormat, start_samples: int) -> None:
            self.set_state(OutputState.UP)

        def send_video(self, frame: ProgramFrame) -> None:
            digest = hashlib.blake2b(frame.rgba.tobytes(), digest_size=8).digest()
            self.frames.append((frame.index, frame.pts_samples, digest, time.monotonic()))

        def send_audio(self, chunk: AudioChunk) -> None:
            pass

        def close(self) -> None:
            self.set_state(OutputState.STOPPED)

    inner = PiperTTS("en_US-joe-medium")

    class Voice:
        def __init__(self) -> None:
            self.name, self.info = inner.name, inner.info
            self.execution_provider = "CPU"
            self.hang: set[str] = set()
            self.fail: set[str] = set()
            self.release = threading.Event()

        def synthesize(self, sentence: str) -> SpeechClip:
            if sentence in self.hang:
                self.hang.discard(sentence)
                self.release.wait()
                raise RuntimeError("released")
            if sentence in self.fail:
                self.fail.discard(sentence)
                raise RuntimeError("injected")
            clip: SpeechClip = inner.synthesize(sentence)
            return clip

    class Renderer(FrameRenderer):
        failing = threading.Event()
        hang_s = 0.0

        def __init__(self, show: Show, w: int, h: int, clock: MediaClock,
                     face: FaceMotion) -> None:
            super().__init__(show, w, h, clock, face)

        def draw(self, state: FrameState) -> None:
            if state.index > 0 and self.failing.is_set():
                raise RuntimeError("injected render fault")
            if state.index > 0 and Renderer.hang_s:
                hang, Renderer.hang_s = Renderer.hang_s, 0.0
                time.sleep(hang)
            super().draw(state)

    folder = Path(tempfile.mkdtemp())
    (folder / "show.toml").write_text(SHOW, encoding="utf-8")
    show = load_show(folder / "show.toml")
    clock = MediaClock(fps)

    def run_case(name: str, inject: Any, clear: Any, fault_s: float,
                 before: Any = None) -> dict[str, Any]:
        voice = Voice()
        if before is not None:
            before(voice)  # a voice fault is set up before the line is synthesised
        out = Collect()
        Renderer.failing.clear()
        engine = LiveEngine(show, width_px=width, height_px=height, fps=fps, outputs=[out],
                            tts=voice, tts_factory=lambda: voice,  # type: ignore[arg-type,return-value]
                            renderer_factory=Renderer)
        events: list[Event] = []
        engine.subscribe(events.append)
        supervisor = Supervisor(engine, Thresholds())
        engine.start()
        supervisor.start()
        try:
            while not any(isinstance(e, SentenceStarted) and e.text == "Alpha is a mug."
                          for e in list(events)):
                time.sleep(0.02)
            said_at_fault = sum(isinstance(e, SentenceStarted) for e in list(events))
            fault_from, t_fault = len(out.frames), time.monotonic()
            inject(voice)
            time.sleep(fault_s)
            clear(voice)
            fault_to = len(out.frames)
            recovered_s = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                said = [e for e in list(events) if isinstance(e, SentenceStarted)]
                if len(said) > said_at_fault + 1:
                    recovered_s = round(time.monotonic() - t_fault, 2)
                    break
                time.sleep(0.02)
            time.sleep(1.0)
        finally:
            voice.release.set()
            engine.stop()
            supervisor.stop()
        frames = out.frames
        indices = [f[0] for f in frames]
        continuous = indices == list(range(len(indices))) and all(
            pts == clock.frame_start_sample(i) for i, pts, _, _ in frames)
        arrivals = [b[3] - a[3] for a, b in itertools.pairwise(frames[fault_from:])]
        longest = run = 1
        for a, b in itertools.pairwise(frames):
            run = run + 1 if a[2] == b[2] else 1
            longest = max(longest, run)
        restarts = [dict(e.args) for e in events if isinstance(e, Problem)
                    and e.code.startswith("restart.")]
        return {
            "fault": name,
            "restarts": [{"component": r["component"], "took_ms": int(r["took_ms"])}
                         for r in restarts],
            "recovered_s": recovered_s,
            "frames_continuous": continuous,
            "frames": len(frames), "frames_in_fault": fault_to - fault_from,
            "frames_held": engine.vitals.frames_held,
            "longest_gap_ms": round(max(arrivals) * 1000, 1) if arrivals else None,
            # How long a picture stayed up beyond its own frame period (target: ≤ 1 period).
            "longest_freeze_ms": round((max(arrivals) - 1 / args.fps) * 1000, 1)
            if arrivals else None,
            "gap_p99_ms": round(sorted(arrivals)[int(0.99 * (len(arrivals) - 1))] * 1000, 1)
            if arrivals else None,
            "gaps_over_1_5_periods": sum(a > 1.5 / args.fps for a in arrivals),
            "longest_identical_frames": longest,
            "problems": sorted({e.code for e in events if isinstance(e, Problem)}),
        }

    def hang_line(v: Voice) -> None:
        v.hang.add("It holds tea.")

    def fail_line(v: Voice) -> None:
        v.fail.add("It holds tea.")

    def nothing(v: Voice) -> None:
        pass

    def render_fail(v: Voice) -> None:
        Renderer.failing.set()

    def render_ok(v: Voice) -> None:
        Renderer.failing.clear()

    def render_hang(v: Voice) -> None:
        Renderer.hang_s = 3.0

    results = [
        run_case("voice hangs on a line (once)", nothing, nothing, 0.0, before=hang_line),
        run_case("voice raises on a line (once)", nothing, nothing, 0.0, before=fail_line),
        run_case("renderer raises for 6 s", render_fail, render_ok, 6.0),
        run_case("a render hangs for 3 s", render_hang, nothing, 3.5),
    ]
    if not args.no_outputs:
        results += output_faults(folder / "show.toml", width, height, args.fps)
    print(json.dumps({"size": args.size, "fps": args.fps,
                      "frame_period_ms": round(1000 / args.fps, 1),
                      "thresholds": Thresholds().__repr__(), "cases": results}, indent=1))


def read_back(path: Path, fps: int) -> dict[str, Any]:
    """A recording as a viewer gets it: its pictures in order, none black, its sound."""
    import av

    with av.open(str(path)) as container:
        frames = [(round(f.pts * f.time_base * fps), float(f.to_ndarray(format="gray").mean()))
                  for f in container.decode(video=0) if f.pts is not None and f.time_base]
        container.seek(0)
        samples = sum(f.samples for f in container.decode(audio=0))
    pts = [p for p, _ in frames]
    return {"frames": len(pts), "in_order_no_gap": pts == list(range(len(pts))),
            "darkest_luma": round(min(luma for _, luma in frames), 1),
            "audio_minus_video_ms": round((samples / 48_000 - len(pts) / fps) * 1000, 1)}


def output_faults(show_path: Path, width: int, height: int, fps: int) -> list[dict[str, Any]]:
    """The stream server and the sound server going away and coming back (real ones)."""
    import subprocess
    import tempfile
    from fractions import Fraction

    from studio.engine.events import Event, FrameDelivered
    from studio.engine.live import LiveEngine
    from studio.outputs.base import OutputSpec, OutputState
    from studio.show.loader import load_show
    from studio.voice.piper_tts import PiperTTS
    from tests.test_output_faults import UNPLUG
    from tests.test_stream import KEY, Nginx, free_port, wait_for

    results: list[dict[str, Any]] = []
    period_s = 1.0 / fps
    work = Path(tempfile.mkdtemp())
    # The stream server goes away (the network is gone) and comes back.
    server = Nginx(work / "nginx", free_port())
    server.root.mkdir()
    server.start("before")
    kept = work / "stream-kept.mp4"
    engine = LiveEngine(load_show(show_path), width_px=width, height_px=height,
                        fps=Fraction(fps), tts=PiperTTS("en_US-joe-medium"),
                        outputs=[OutputSpec("stream", f"rtmp://127.0.0.1:{server.port}/live/{KEY}"),
                                 OutputSpec("file", str(kept))])
    walls: list[float] = []

    def on_event(e: Event) -> None:
        if isinstance(e, FrameDelivered):
            walls.append(time.monotonic())

    engine.subscribe(on_event)

    def stream_state() -> OutputState:
        return next(h.state for h in engine.outputs if h.kind == "stream")

    engine.start()
    try:
        wait_for(lambda: bool(engine.outputs) and stream_state() == OutputState.UP, 20,
                 "the stream to go up")
        time.sleep(1.0)
        gone_at = time.monotonic()
        server.kill()
        time.sleep(1.5)
        server.start("after")
        restarted_at = time.monotonic()
        wait_for(lambda: stream_state() == OutputState.UP, 20, "the stream to come back")
        back_at = time.monotonic()
        time.sleep(1.0)
    finally:
        engine.stop()
        server.kill()
    during = [t for t in walls if gone_at <= t <= back_at]
    gaps = [b - a for a, b in itertools.pairwise(during)]
    health = next(h for h in engine.outputs if h.kind == "stream")
    results.append({
        "fault": "the stream server goes away for 1.5 s",
        "back_after_server_s": round(back_at - restarted_at, 2),
        "longest_gap_ms": round(max(gaps) * 1000, 1),
        "longest_freeze_ms": round((max(gaps) - period_s) * 1000, 1),
        "gaps_over_1_5_periods": sum(g > 1.5 * period_s for g in gaps),
        "stream_reconnects": health.reconnects, "stream_frames_dropped": health.frames_dropped,
        "recording": read_back(kept, fps)})
    # The sound server pacing the show quits and comes back (its own process: PortAudio
    # cannot start again in a process whose server is gone).
    kept = work / "sound-kept.mp4"
    proc = subprocess.run([sys.executable, "-c", UNPLUG, str(show_path), str(kept)],
                          capture_output=True, text=True, timeout=90,
                          cwd=Path(__file__).resolve().parents[1])
    subprocess.run(["pkill", "-f", "jackd -n livehost-faults-"], check=False)
    if proc.returncode != 0:
        results.append({"fault": "the sound server quits for 2 s",
                        "error": proc.stderr[-2000:]})
        return results
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    results.append({
        "fault": "the sound server quits for 2 s",
        "back_after_server_s": round(report["back_s"], 2),
        "longest_gap_ms": round(report["gap_s"] * 1000, 1),
        "longest_freeze_ms": round((report["gap_s"] - period_s) * 1000, 1),
        "frames_without_it": report["after"], "without_it_s": round(report["span_s"], 2),
        "played_s_in_2_s_after": round(report["played_s"], 2),
        "recording": read_back(kept, fps)})
    return results


if __name__ == "__main__":
    main()
