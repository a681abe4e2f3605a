"""Engine faults that must not lose content or grow without bound (issue 9).

Real components: Piper's joe voice, vispy on EGL, PyAV, ``python -m studio`` in a subprocess.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.engine import commands as cmd
from studio.engine import live
from studio.engine.events import Event, SentenceStarted
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
                     realtime=False, tts=piper_voice)  # type: ignore[arg-type]
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
