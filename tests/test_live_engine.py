"""The live engine, without Qt: takeover, interjections, queue changes, pacing, recording.

Unpaced runs (``realtime=False``) place speech exactly when due, so these tests assert exact
orders and frames; one test runs paced on the wall clock.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from studio.engine import commands as cmd
from studio.engine.events import (
    Event,
    FrameDelivered,
    ModeChanged,
    Problem,
    QueueChanged,
    SentenceStarted,
    Status,
)
from studio.engine.live import LiveEngine
from studio.program.queue import ProductStatus
from studio.program.switcher import Mode
from studio.show.loader import load_show

W, H = 320, 180

SHOW = """
[show]
title = "Live Test"
intro = "Welcome!"

[[products]]
id = "a"
name = "Alpha Mug"
price = 10
currency = "USD"
script = "Alpha is a mug. It holds tea. It is blue."

[[products]]
id = "b"
name = "Bravo Pan"
price = 20
currency = "USD"
script = "Bravo is a pan. It fries eggs."

[[products]]
id = "c"
name = "Charlie Cup"
price = 30
currency = "USD"
script = "Charlie is a cup. It is small."
"""


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]

    def sentences(self) -> list[SentenceStarted]:
        return self.of(SentenceStarted)

    def frames(self) -> list[FrameDelivered]:
        return self.of(FrameDelivered)


@pytest.fixture
def engine(write_show: Callable[[str], Path], piper_voice: object):  # type: ignore[no-untyped-def]
    eng = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H, realtime=False,
                     tts=piper_voice)  # type: ignore[arg-type]
    rec = Recorder()
    eng.subscribe(rec)
    yield eng, rec
    eng.close()


def run_until(eng: LiveEngine, rec: Recorder, condition: Callable[[], bool],
              max_frames: int = 3000) -> None:
    for _ in range(max_frames):
        if condition():
            return
        eng.run_frames(1)
    raise AssertionError("condition not reached")


def test_script_runs_in_order(engine) -> None:  # type: ignore[no-untyped-def]
    eng, rec = engine
    run_until(eng, rec, lambda: len(rec.sentences()) >= 8)
    texts = [s.text for s in rec.sentences()]
    assert texts[:8] == ["Welcome!", "Alpha is a mug.", "It holds tea.", "It is blue.",
                         "Bravo is a pan.", "It fries eggs.", "Charlie is a cup.",
                         "It is small."]
    for before, after in zip(rec.sentences(), rec.sentences()[1:], strict=False):
        assert before.end_samples <= after.start_samples
    assert all(s.words for s in rec.sentences())


def test_takeover_switches_the_next_frame_and_resumes_the_sentence(engine) -> None:  # type: ignore[no-untyped-def]
    eng, rec = engine
    run_until(eng, rec, lambda: any(s.text == "It holds tea." for s in rec.sentences()))
    interrupted = rec.sentences()[-1]
    # Let the sentence get under way, then take over.
    run_until(eng, rec, lambda: rec.frames()[-1].pts_samples > interrupted.start_samples + 9600)
    ai_frame = rec.frames()[-1]
    n_before = len(rec.frames())
    eng.send(cmd.SetCrossfade(0.0))  # a hard cut: the very next frame is the standby
    eng.send(cmd.SetMode(Mode.HUMAN))
    eng.run_frames(1)
    human_frame = rec.frames()[n_before]
    assert human_frame.mode == "human" and ai_frame.mode == "ai"
    assert np.abs(human_frame.rgba.astype(int) - ai_frame.rgba.astype(int)).mean() > 10
    switch = rec.of(ModeChanged)[-1]
    assert (switch.mode, switch.previous) == ("human", "ai")
    assert switch.resume is not None and switch.resume.text == "It holds tea."
    # The AI's speech stops with a short fade: silence within 40 ms.
    eng.run_frames(30)
    assert all(f.mode == "human" for f in rec.frames()[n_before:])
    assert [s.text for s in rec.sentences()][-1] == "It holds tea."
    eng.send(cmd.SetMode(Mode.AI))
    run_until(eng, rec, lambda: len(rec.sentences()) > 3)
    resumed = rec.sentences()[3]
    assert resumed.text == "It holds tea." and resumed.start_samples > interrupted.start_samples
    assert rec.frames()[-1].mode == "ai"


def test_takeover_audio_fades_out(write_show: Callable[[str], Path], piper_voice: object,
                                  tmp_path: Path) -> None:
    import av

    eng = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H, realtime=False,
                     tts=piper_voice)  # type: ignore[arg-type]
    rec = Recorder()
    eng.subscribe(rec)
    out = tmp_path / "rec.mp4"
    eng.send(cmd.StartRecording(out))
    run_until(eng, rec, lambda: any(s.text == "It holds tea." for s in rec.sentences()))
    start = rec.sentences()[-1].start_samples
    run_until(eng, rec, lambda: rec.frames()[-1].pts_samples > start + 12000)
    cut_at = rec.frames()[-1].pts_samples + 1600
    eng.send(cmd.SetMode(Mode.HUMAN))
    eng.run_frames(20)
    eng.send(cmd.StopRecording())
    eng.run_frames(1)
    eng.close()
    with av.open(str(out)) as container:
        audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    before = audio[cut_at - 4800:cut_at]
    after = audio[cut_at + 2400:cut_at + 12000]  # 50 ms after the switch on
    assert np.sqrt((before ** 2).mean()) > 0.01
    assert np.abs(after).max() < 0.01


def test_interjection_is_said_next_then_the_script_resumes(engine) -> None:  # type: ignore[no-untyped-def]
    eng, rec = engine
    run_until(eng, rec, lambda: any(s.text == "Alpha is a mug." for s in rec.sentences()))
    eng.send(cmd.Interject("Link 3 is live now!"))
    run_until(eng, rec, lambda: len(rec.sentences()) >= 4)
    texts = [s.text for s in rec.sentences()]
    assert texts[:4] == ["Welcome!", "Alpha is a mug.", "Link 3 is live now!", "It holds tea."]
    assert rec.sentences()[2].kind == "interjection"


def test_interrupting_interjection_cuts_in_and_repeats_the_sentence(engine) -> None:  # type: ignore[no-untyped-def]
    eng, rec = engine
    run_until(eng, rec, lambda: any(s.text == "Alpha is a mug." for s in rec.sentences()))
    started = rec.sentences()[-1]
    run_until(eng, rec, lambda: rec.frames()[-1].pts_samples > started.start_samples + 4800)
    eng.send(cmd.Interject("Flash sale!", interrupt=True))
    run_until(eng, rec, lambda: len(rec.sentences()) >= 4)
    texts = [s.text for s in rec.sentences()]
    assert texts[:4] == ["Welcome!", "Alpha is a mug.", "Flash sale!", "Alpha is a mug."]
    # It cut in: the interjection starts before the interrupted sentence would have ended.
    assert rec.sentences()[2].start_samples < started.end_samples


def test_reordered_queue_changes_what_comes_next(engine) -> None:  # type: ignore[no-untyped-def]
    eng, rec = engine
    run_until(eng, rec, lambda: any(s.product_id == "a" for s in rec.sentences()))
    eng.send(cmd.ReorderQueue(("a", "c", "b")))
    run_until(eng, rec, lambda: any(s.product_id not in {None, "a"} for s in rec.sentences()))
    products = [s.product_id for s in rec.sentences() if s.product_id not in {None, "a"}]
    assert products[0] == "c"
    queue = rec.of(QueueChanged)[-1].entries
    assert [e.product_id for e in queue] == ["a", "c", "b"]
    assert queue[1].status == ProductStatus.ON_AIR and queue[2].status == ProductStatus.NEXT
    assert queue[0].status == ProductStatus.DONE


def test_go_now_and_skip(engine) -> None:  # type: ignore[no-untyped-def]
    eng, rec = engine
    run_until(eng, rec, lambda: any(s.product_id == "a" for s in rec.sentences()))
    eng.send(cmd.SetSkipped("b"))
    eng.send(cmd.GoToProduct("c", now=True))
    run_until(eng, rec, lambda: any(s.product_id == "c" for s in rec.sentences()))
    said = [s.product_id for s in rec.sentences()]
    assert said.index("c") == len([p for p in said if p in {None, "a"}])
    run_until(eng, rec, lambda: rec.of(QueueChanged)[-1].entries[1].status
              == ProductStatus.SKIPPED, max_frames=10)
    run_until(eng, rec, lambda: eng._program.ended)
    assert "b" not in [s.product_id for s in rec.sentences()]


def test_looping_show_starts_the_run_down_again(write_show: Callable[[str], Path],
                                                piper_voice: object) -> None:
    show = SHOW.replace('intro = "Welcome!"', 'intro = "Welcome!"\nloop = true')
    eng = LiveEngine(load_show(write_show(show)), width_px=W, height_px=H, realtime=False,
                     tts=piper_voice)  # type: ignore[arg-type]
    rec = Recorder()
    eng.subscribe(rec)
    eng.send(cmd.SetSkipped("b"))
    run_until(eng, rec, lambda: [s.product_id for s in rec.sentences()].count("a") >= 6)
    eng.close()
    products = [s.product_id for s in rec.sentences() if s.product_id is not None]
    rounds = [p for i, p in enumerate(products) if i == 0 or products[i - 1] != p]
    assert rounds[:3] == ["a", "c", "a"]  # skipped b stays out; the intro is said once
    assert [s.text for s in rec.sentences()].count("Welcome!") == 1
    assert not eng._program.ended


def test_a_bad_edit_is_a_problem_not_a_crash(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    eng, rec = engine
    run_until(eng, rec, lambda: any(s.product_id == "a" for s in rec.sentences()))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    product = eng.show.products[0].model_copy(update={"image": str(broken)})
    eng.send(cmd.UpsertProduct(product))
    n = len(rec.frames())
    eng.run_frames(10)
    assert rec.of(Problem), "the operator is told"
    assert len(rec.frames()) == n + 10, "the output keeps running"


def test_edits_are_saved(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    eng, _ = engine
    product = eng.show.products[1].model_copy(update={"name": "Bravo Pan XL", "price": 25.0})
    eng.send(cmd.UpsertProduct(product))
    eng.send(cmd.ReorderQueue(("b", "a", "c")))
    eng.run_frames(1)
    out = tmp_path / "saved.toml"
    eng.save_show(out)
    saved = load_show(out)
    assert [p.id for p in saved.products] == ["b", "a", "c"]
    assert saved.products[0].name == "Bravo Pan XL" and saved.products[0].price == 25.0


def test_recording_has_streams_and_metadata(write_show: Callable[[str], Path],
                                            piper_voice: object, tmp_path: Path) -> None:
    eng = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H, realtime=False,
                     tts=piper_voice)  # type: ignore[arg-type]
    out = tmp_path / "live.mp4"
    eng.send(cmd.StartRecording(out))
    eng.run_frames(90)
    eng.send(cmd.StopRecording())
    eng.run_frames(1)
    eng.close()
    info = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(out)], check=True, capture_output=True, text=True).stdout)
    durations = {s["codec_type"]: float(s["duration"]) for s in info["streams"]}
    assert durations["video"] == pytest.approx(3.0, abs=1 / 30)
    assert abs(durations["video"] - durations["audio"]) <= 1 / 30
    assert json.loads(info["format"]["tags"]["AIGC"])["Label"] == "1"


def test_paced_run_keeps_the_frame_rate(write_show: Callable[[str], Path],
                                        piper_voice: object) -> None:
    eng = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H,
                     tts=piper_voice)  # type: ignore[arg-type]
    rec = Recorder()
    eng.subscribe(rec)
    arrivals: list[float] = []
    eng.subscribe(lambda e: arrivals.append(time.monotonic())
                  if isinstance(e, FrameDelivered) else None)
    eng.start()
    deadline = time.monotonic() + 20
    while not arrivals:  # on air: voice loaded, shaders compiled
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(4.0)
    eng.stop()
    elapsed = arrivals[-1] - arrivals[0]
    frames = rec.frames()
    # Frames are due on the wall clock: 30 a second from the first one, none early.
    assert len(frames) + rec.of(Status)[-1].frames_dropped == pytest.approx(
        elapsed * 30 + 1, abs=4)
    assert [f.index for f in frames] == sorted(f.index for f in frames)
    assert rec.of(Status)[-1].fps_delivered > 25


def test_a_voice_that_cannot_load_keeps_the_output_on_air(
        write_show: Callable[[str], Path]) -> None:
    show = SHOW.replace("[[products]]", '[host]\nvoice = "missing.onnx"\n\n[[products]]', 1)
    eng = LiveEngine(load_show(write_show(show)), width_px=W, height_px=H, realtime=False)
    rec = Recorder()
    eng.subscribe(rec)
    eng.run_frames(30)
    eng.close()
    problems = rec.of(Problem)
    assert problems and "voice cannot be loaded" in problems[0].message
    assert "voice model not found" in problems[0].message
    frames = rec.frames()
    assert len(frames) == 30 and frames[-1].mode == "ai"  # the host is on air, silent
    assert not rec.sentences()
