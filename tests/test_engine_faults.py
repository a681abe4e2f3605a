"""Engine faults that must not lose content or grow without bound (issue 9).

Real components: Piper's joe voice, vispy on EGL, PyAV, ``python -m studio`` in a subprocess.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from studio.engine import commands as cmd
from studio.engine import live
from studio.engine.events import Event, FrameDelivered, Problem, SentenceStarted
from studio.engine.live import LiveEngine
from studio.show.loader import load_show

W, H = 320, 180
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven")

LOOPING_SHOW = """
[show]
title = "Cache Test"
intro = "Hello."
loop = true
pause_between_products_s = 0.1

[host]
voice = "en_US-joe-medium"
""" + "".join(f"""
[[products]]
id = "p{n}"
name = "Item {n}"
price = {n + 1}
currency = "USD"
script = "Item {word} is here."
""" for n, word in enumerate(NUMBERS))


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def sentences(self) -> list[SentenceStarted]:
        return [e for e in self.events if isinstance(e, SentenceStarted)]

    def problems(self) -> list[Problem]:
        return [e for e in self.events if isinstance(e, Problem)]

    def frames(self) -> list[FrameDelivered]:
        return [e for e in self.events if isinstance(e, FrameDelivered)]


def _within(timeout_s: float, body: Callable[[], None], why: Callable[[], str]) -> None:
    """Run ``body`` on a thread of its own and fail (not hang) if it never returns: before
    the fix the unpaced engine waited for ever for a line the cache had thrown away."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            body()
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run, name="test-engine", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        pytest.fail(why())
    if errors:
        raise errors[0]


def test_lines_evicted_from_the_synthesis_cache_are_still_spoken(
        write_show: Callable[[str], Path], piper_voice: object,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Jumping around a looping show leaves lines synthesised ahead that the run-down comes
    back to; a small cache forces them out. Every one is still said, in run-down order."""
    keep = 3
    monkeypatch.setattr(live, "SYNTH_KEEP_RESULTS", keep)
    eng = LiveEngine(load_show(write_show(LOOPING_SHOW)), width_px=W, height_px=H,
                     fps=Fraction(10), realtime=False,  # few frames: this is about speech
                     tts=piper_voice)  # type: ignore[arg-type]
    rec = Recorder()
    eng.subscribe(rec)
    jumped_at: list[int] = []
    sizes: list[tuple[int, int]] = []

    def frames_until(condition: Callable[[], bool], max_frames: int = 4000) -> None:
        for _ in range(max_frames):
            if condition():
                return
            eng.run_frames(1)
            sizes.append(eng._synth.sizes)
        raise AssertionError("condition not reached")

    def said(product_id: str, since: int = 0) -> bool:
        return any(s.product_id == product_id for s in rec.sentences()[since:])

    def show() -> None:
        frames_until(lambda: said("p0"))
        for target in ("p2", "p4", "p6"):  # each jump leaves the next product's line cached
            jumped_at.append(len(rec.sentences()))
            eng.send(cmd.GoToProduct(target, now=True))
            frames_until(lambda t=target: said(t, jumped_at[-1]))  # type: ignore[misc]
        after = len(rec.sentences())
        frames_until(lambda: len(rec.sentences()) >= after + 12)

    try:
        _within(90, show, lambda: "the engine waited for ever for a line the synthesis "
                "cache dropped (asked for, evicted, never synthesised again); last said: "
                f"{[s.text for s in rec.sentences()][-3:]}")
    finally:
        if not any(t.name == "test-engine" for t in threading.enumerate()):
            eng.close()
    spoken = [s.text for s in rec.sentences()]
    last_jump = spoken.index("Item six is here.")
    # After the last jump: the rest of the round (p7, then the ones jumped over), then a
    # whole round of the run-down from the top, nothing missing, nothing twice.
    rest = [f"Item {NUMBERS[n]} is here." for n in (7, 1, 3, 5)]
    round_ = [f"Item {word} is here." for word in NUMBERS]
    assert spoken[last_jump + 1:last_jump + 13] == rest + round_
    # The cache stayed within its bound the whole time, and so did the lines it waits for.
    assert max(results for results, _ in sizes) <= keep
    assert max(asked for _, asked in sizes) <= keep + 2


SHORT_SHOW = """
[show]
title = "Fault Test"
intro = "Welcome to the show."

[host]
voice = "en_US-joe-medium"

[[products]]
id = "mug"
name = "Coffee Mug"
price = 10
currency = "USD"
script = "This mug holds tea. It is blue. It is on sale today."
"""


def test_a_persistent_render_fault_is_reported_a_few_times_and_the_picture_holds(
        write_show: Callable[[str], Path], piper_voice: object, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The renderer raises on every frame for 600 frames (20 s): a handful of problems, not
    600; the recording gets every frame, the last good picture standing in."""
    recording = tmp_path / "fault.mp4"
    eng = LiveEngine(load_show(write_show(SHORT_SHOW)), width_px=W, height_px=H,
                     realtime=False, tts=piper_voice)  # type: ignore[arg-type]
    rec = Recorder()
    eng.subscribe(rec)
    eng.send(cmd.StartRecording(recording))
    good_frames, bad_frames = 45, 600
    eng.run_frames(good_frames)
    last_good = rec.frames()[-1].rgba.copy()
    failures = [0]

    def broken_draw(*_args: object, **_kwargs: object) -> None:
        failures[0] += 1
        raise RuntimeError(f"GL context lost (draw call {failures[0]})")  # new text each time

    monkeypatch.setattr(eng._renderer, "draw", broken_draw)
    eng.run_frames(bad_frames)
    eng.send(cmd.StopRecording())
    eng.run_frames(1)
    eng.close()
    assert failures[0] >= bad_frames  # it really failed every frame

    faults = [p for p in rec.problems() if p.code == "frame.render_failed"]
    # 20 s of show time: the first report, then one every 10 s with a count.
    assert 2 <= len(faults) <= 3, [p.message for p in faults]
    assert "repeats" not in dict(faults[0].args)
    repeats = [int(dict(p.args)["repeats"]) for p in faults[1:]]
    assert all(n >= 250 for n in repeats), repeats
    assert "more times" in faults[1].message
    assert all(p.code for p in rec.problems())
    assert eng.problems_remembered <= 3  # one entry for the fault, not one per frame

    # Every frame went out; during the fault the picture is the last good one, not black.
    frames = rec.frames()
    assert len(frames) == good_frames + bad_frames + 1
    assert [f.index for f in frames] == list(range(len(frames)))
    for frame in frames[good_frames:]:
        assert np.array_equal(frame.rgba, last_good)
    assert last_good[:, :, :3].mean() > 10  # a picture, not black
    with av.open(str(recording)) as container:
        n_video = sum(1 for _ in container.decode(video=0))
    assert n_video == good_frames + bad_frames


def test_the_problem_table_stays_bounded_with_many_different_problems(
        write_show: Callable[[str], Path], piper_voice: object) -> None:
    """Thousands of distinct problems (every line of a long show failing, say) are each
    reported, and the table that deduplicates them keeps at most PROBLEM_TABLE_SIZE."""
    eng = LiveEngine(load_show(write_show(SHORT_SHOW)), width_px=W, height_px=H,
                     realtime=False, tts=piper_voice)  # type: ignore[arg-type]
    rec = Recorder()
    eng.subscribe(rec)
    for n in range(2000):
        eng._emit(Problem(f"the voice could not say 'line {n}': boom", code="voice.line_failed",
                          args=(("text", f"line {n}"), ("error", "boom"))))
    assert len(rec.problems()) == 2000
    assert eng.problems_remembered == live.PROBLEM_TABLE_SIZE
    eng._emit(Problem("the voice could not say 'line 1999': boom", code="voice.line_failed",
                      args=(("text", "line 1999"), ("error", "boom"))))
    assert len(rec.problems()) == 2000  # still remembered: reported once


ENGINE_SOURCES = ("studio/engine", "studio/program", "studio/outputs")


def _literal_codes(node: ast.expr) -> bool:
    """A dotted string literal, or a choice between such literals."""
    if isinstance(node, ast.IfExp):
        return _literal_codes(node.body) and _literal_codes(node.orelse)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value


def test_every_problem_the_engine_emits_has_a_code() -> None:
    """A front end translates problems by code and the dedupe keys on it: every
    ``Problem(...)`` in the engine, program and outputs names a literal, dotted code."""
    root = Path(__file__).resolve().parents[1]
    sites = []
    for folder in ENGINE_SOURCES:
        for path in sorted((root / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Problem":
                    code = next((k.value for k in node.keywords if k.arg == "code"), None)
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    sites.append(where)
                    assert code is not None and _literal_codes(code), \
                        f"{where}: Problem without a stable code"
    assert len(sites) >= 20


MUG_SCRIPT = " ".join(f"This is sentence number {n} about the mug." for n in range(60))
LONG_SHOW = SHORT_SHOW.replace(
    'script = "This mug holds tea. It is blue. It is on sale today."',
    f'script = "{MUG_SCRIPT}"')


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_render_stopped_by_a_signal_leaves_no_partial_file(
        write_show: Callable[[str], Path], tmp_path: Path, signum: int) -> None:
    """``studio render`` sent SIGTERM (a service stopping) or SIGHUP (its terminal closed)
    mid-render removes its hidden .part files, says why it stopped and exits 128 + signal."""
    show = write_show(LONG_SHOW)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "render", str(show), "--out",
         str(out_dir / "show.mp4"), "--size", "320x180", "--preset", "ultrafast"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 90
        while not any(out_dir.glob("*.part")):  # the MP4 is being written
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the render never started writing"
            time.sleep(0.05)
        time.sleep(0.5)  # well into the encoding
        assert proc.poll() is None, "the render ended before the signal; make the show longer"
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signum, stderr
    assert sorted(p.name for p in out_dir.iterdir()) == []  # no .part, no half an MP4
    name = signal.Signals(signum).name
    assert f"stopped by {name}; no output file was left behind" in stderr
    assert "Traceback" not in stderr
