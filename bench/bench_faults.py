"""Faults injected into a supervised live show: recovery and what the output saw. One JSON object.

    .venv/bin/python bench/bench_faults.py [--size 640x360] [--fps 30]

A real paced engine (Piper joe, vispy on EGL) under the supervisor with its production
thresholds, one fresh engine per fault: a voice line that hangs (once), a voice line that
raises (once), a renderer that raises for 3 s, a render that hangs for 3 s. For each: the
restarts (component, how long each took), the recovery time (fault injected → the next
sentence on air), and at an in-memory output that loses nothing: whether every frame went
out at its own timestamp, the longest wait between two frames arriving, the longest run of
identical pictures (the held picture), frames held.
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
    print(json.dumps({"size": args.size, "fps": args.fps,
                      "frame_period_ms": round(1000 / args.fps, 1),
                      "thresholds": Thresholds().__repr__(), "cases": results}, indent=1))


if __name__ == "__main__":
    main()
