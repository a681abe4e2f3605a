"""The as-run log: what a live run and a render put on air, read back from the JSON lines.

A live run (unpaced, the real Piper voice, renderer and encoder) and a render of the same
show log the same sentences at the same samples as the render's timeline; takeovers say who
was on air; problems and output states are there; a recording's ProduceID is the one in the
MP4. The folder stays bounded by day and by size, and a folder that cannot be written is one
Problem while the show goes on.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest

from studio.cli import main
from studio.engine import commands as cmd
from studio.engine.asrun import AsRunLog, day_file_name, read_records
from studio.engine.events import Event, Problem, SentenceStarted, ShowEnded
from studio.engine.live import LiveEngine
from studio.engine.render import RenderSettings, render_show
from studio.outputs.base import OutputSpec
from studio.program.switcher import Mode
from studio.run import run_live
from studio.show.loader import load_show
from studio.voice.types import SpeechClip

W, H = 320, 180
RATE = 48_000

SHOW = """
[show]
title = "As-run Test"
intro = "Welcome!"

[[products]]
id = "a"
name = "Alpha Mug"
price = 10
original_price = 15
currency = "USD"
selling_points = ["Holds tea"]
script = "Alpha is a mug. It holds tea."

[[products]]
id = "b"
name = "Bravo Pan"
price = 20
currency = "USD"
script = "Bravo is a pan."
"""


class SameTakes:
    """The real Piper voice, each sentence synthesised once: Piper's takes vary a little in
    length from call to call, and the live run and the render must say the same takes for
    their times to be compared sample for sample."""

    def __init__(self, voice: Any) -> None:
        self.voice = voice
        self.name = voice.name
        self.execution_provider = voice.execution_provider
        self.info = voice.info
        self._takes: dict[str, SpeechClip] = {}

    def synthesize(self, sentence: str) -> SpeechClip:
        if sentence not in self._takes:
            self._takes[sentence] = self.voice.synthesize(sentence)
        return self._takes[sentence]

TINY = """
[show]
title = "As-run Tiny"

[[products]]
id = "a"
name = "Alpha Mug"
price = 10
currency = "USD"
script = "Alpha is a mug."
"""
ONE_PRODUCT = SHOW.split("[[products]]\nid = \"b\"")[0]


def mp4_aigc(path: Path) -> dict[str, str]:
    with av.open(str(path)) as container:
        return json.loads(container.metadata["AIGC"])  # type: ignore[no-any-return]


def of(records: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == kind]


def said(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["t_samples"], r["end_samples"], r["kind"], r["product_id"], r["text"])
            for r in of(records, "sentence")]


class Events:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def problems(self, code: str) -> list[Problem]:
        return [e for e in self.events if isinstance(e, Problem) and e.code == code]


def live_run(show_path: Path, tts: object, log: AsRunLog, *, operator: str = "",
             setup: Callable[[LiveEngine], None] | None = None) -> Events:
    """The show on air unpaced until its run-down ends, logged."""
    engine = LiveEngine(load_show(show_path), width_px=W, height_px=H, realtime=False,
                        tts=tts, show_path=show_path, stop_when_ended=True)  # type: ignore[arg-type]
    events = Events()
    engine.subscribe(events)
    log.attach(engine, source="run", operator=operator)
    if setup is not None:
        setup(engine)
    engine.run_frames(30 * 60)
    assert engine.ended
    engine.close()
    log.close()
    return events


def test_a_live_run_and_a_render_log_what_the_timeline_says(
        write_show: Callable[..., Path], piper_voice: object, tmp_path: Path) -> None:
    show_path = write_show(SHOW)
    voice = SameTakes(piper_voice)
    # The render, logged from its timeline.
    render_dir = tmp_path / "render-log"
    render_log = AsRunLog(render_dir)
    show = load_show(show_path)
    render_log.start_run(source="render", show=show, show_path=show_path, size=(W, H))
    result = render_show(show, tmp_path / "show.mp4", RenderSettings(W, H), tts=voice,
                         on_event=render_log.on_event)
    render_log.close()
    rendered = read_records(render_dir)
    timeline = json.loads(result.timeline_path.read_text(encoding="utf-8"))
    expected = [(s["start_sample"], s["end_sample"], s["kind"], seg["product_id"], s["text"])
                for seg in timeline["segments"] for s in seg["sentences"]]
    assert said(rendered) == expected and len(expected) == 4
    cards = [(seg["start_sample"], seg["product_id"]) for seg in timeline["segments"]
             if seg["product_id"] is not None]
    assert [(r["t_samples"], r["product_id"]) for r in of(rendered, "product_shown")] == cards
    alpha = of(rendered, "product_shown")[0]
    assert (alpha["name"], alpha["price"], alpha["original_price"], alpha["currency"],
            alpha["selling_points"]) == ("Alpha Mug", 10.0, 15.0, "USD", ["Holds tea"])
    (recording,) = of(rendered, "recording")
    assert recording["produce_id"] == result.produce_id == timeline["produce_id"]
    assert recording["produce_id"] == mp4_aigc(result.video_path)["ProduceID"]
    assert recording["aigc"] == mp4_aigc(result.video_path)
    start, end = of(rendered, "run_start")[0], of(rendered, "run_end")[0]
    assert start["show_sha256"] == hashlib.sha256(show_path.read_bytes()).hexdigest()
    assert start["show_path"] == str(show_path.resolve()) and start["source"] == "render"
    assert end["t_samples"] == timeline["total_samples"] and end["status"] == "ok"

    # The same show live, with a recording: the same sentences and cards at the same samples.
    live_dir = tmp_path / "live-log"
    recording_path = tmp_path / "live.mp4"
    events = live_run(show_path, voice, AsRunLog(live_dir),
                      setup=lambda e: e.send(cmd.StartRecording(recording_path)))
    live = read_records(live_dir)
    assert said(live) == expected
    assert [(r["t_samples"], r["product_id"]) for r in of(live, "product_shown")] == cards
    started = [e for e in events.events if isinstance(e, SentenceStarted)]
    assert [r["text"] for r in of(live, "sentence")] == [e.text for e in started]
    (live_recording,) = of(live, "recording")
    assert live_recording["path"] == str(recording_path.resolve())
    assert live_recording["produce_id"] == mp4_aigc(recording_path)["ProduceID"]
    assert live_recording["produce_id"] != recording["produce_id"]
    states = [(r["name"], r["previous"], r["state"]) for r in of(live, "output")]
    assert states == [(str(recording_path), None, "up"), (str(recording_path), "up", "stopped")]
    ended = [e for e in events.events if isinstance(e, ShowEnded)]
    assert of(live, "rundown_ended")[0]["t_samples"] == ended[0].end_samples
    assert of(live, "run_end")[0]["t_samples"] == ended[0].end_samples
    # One run: every record carries its id, numbered in order, stamped in UTC.
    assert {r["run"] for r in live} == {of(live, "run_start")[0]["run"]}
    assert [r["seq"] for r in live] == list(range(1, len(live) + 1))
    stamps = [datetime.fromisoformat(r["utc"].replace("Z", "+00:00")) for r in live]
    assert stamps == sorted(stamps) and abs(stamps[0] - datetime.now(UTC)) < timedelta(minutes=5)


def test_takeovers_interjections_problems_and_outputs_are_logged(
        write_show: Callable[..., Path], piper_voice: object, tmp_path: Path) -> None:
    show_path = write_show(ONE_PRODUCT)
    folder = tmp_path / "log"

    switches: list[int] = []

    def setup(engine: LiveEngine) -> None:
        engine.send(cmd.Interject("Hello everyone!"))
        # An output that cannot start: a problem, and its state.
        engine.send_at(RATE, cmd.AddOutput(OutputSpec("file", str(tmp_path / "no" / "x.mp4"))))

        def takeover(event: Event) -> None:  # the frame thread: mid-sentence, a takeover
            if isinstance(event, SentenceStarted) and event.text == "Alpha is a mug." \
                    and not switches:
                frame = RATE // 30  # a switch happens at a frame's start
                switches.extend(-(-(event.start_samples + RATE * k // 2) // frame) * frame
                                for k in (1, 3, 5))
                for at, mode in zip(switches, (Mode.PUPPET, Mode.HUMAN, Mode.AI), strict=True):
                    engine.send_at(at, cmd.SetMode(mode))

        engine.subscribe(takeover)

    live_run(show_path, piper_voice, AsRunLog(folder), operator="Lin", setup=setup)
    records = read_records(folder)
    takeovers = of(records, "takeover")
    puppet, human, ai = switches
    assert [(r["t_samples"], r["previous"], r["mode"]) for r in takeovers] == [
        (puppet, "ai", "puppet"), (human, "puppet", "human"), (ai, "human", "ai")]
    assert takeovers[0]["on_air"] == {"mode": "puppet", "role": "human driving the avatar",
                                      "host_name": "Ava", "operator": "Lin"}
    assert takeovers[1]["on_air"] == {"mode": "human", "role": "human on camera",
                                      "operator": "Lin"}
    assert takeovers[2]["on_air"] == {"mode": "ai", "role": "AI host", "host_name": "Ava"}
    sentences = of(records, "sentence")
    assert [(r["text"], r["interjection"]) for r in sentences[:2]] == [
        ("Hello everyone!", True), ("Welcome!", False)]
    # The sentence on air at the takeover was cut there and said again after it.
    (cut,) = of(records, "sentence_cut")
    assert (cut["t_samples"], cut["text"]) == (puppet, "Alpha is a mug.")
    before = [r for r in sentences if r["t_samples"] == cut["start_samples"]]
    assert [r["text"] for r in before] == ["Alpha is a mug."]
    again = [r for r in sentences if r["text"] == cut["text"] and r["t_samples"] >= ai]
    assert again
    assert all(not puppet <= r["t_samples"] < ai for r in sentences)  # nothing while human
    codes = {r["code"] for r in of(records, "problem")}
    assert {"output.start_failed", "input.no_camera_human"} <= codes
    failed = [r for r in of(records, "output") if r["name"].endswith("x.mp4")]
    assert failed and failed[0]["state"] == "down" and "does not exist" in failed[0]["reason"]
    assert of(records, "run_start")[0]["operator"] == "Lin"


def test_the_folder_rolls_by_day_and_by_size_and_stays_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    stale = folder / day_file_name(date(2026, 10, 1))
    stale.write_text("{}\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not ours", encoding="utf-8")
    now = [datetime(2026, 12, 1, 23, 0, tzinfo=UTC)]
    cap = 4096
    log = AsRunLog(folder, keep_days=3, max_file_bytes=cap, max_rolls=2, now=lambda: now[0])
    log.start_run(source="run", show=None, show_path=None)
    for i in range(6 * 200):  # six days, 200 sentences a day (~300 bytes each)
        now[0] = datetime(2026, 12, 1, 23, 0, tzinfo=UTC) + timedelta(hours=24 * i / 200)
        log.on_event(SentenceStarted("a", "script", 0, f"sentence number {i}. " * 6,
                                     i * RATE, i * RATE + RATE, ()))
    log.close()
    names = sorted(p.name for p in folder.iterdir())
    days = sorted({n[6:16] for n in names if n.startswith("asrun-")})
    assert days == ["2026-12-05", "2026-12-06", "2026-12-07"]  # the last three days only
    assert "notes.txt" in names and stale.name not in names
    for day in days:  # each day: its file and at most two rolls, none over the cap
        assert {n for n in names if day in n} <= {f"asrun-{day}.jsonl",
                                                  f"asrun-{day}.jsonl.1",
                                                  f"asrun-{day}.jsonl.2"}
    assert all((folder / n).stat().st_size <= cap for n in names if n.startswith("asrun-"))
    total = sum((folder / n).stat().st_size for n in names)
    assert total <= 3 * 3 * cap
    records = read_records(folder)
    # Whole lines only; the newest records are there, in order, each in its UTC day's file.
    texts = [r["text"] for r in of(records, "sentence")]
    assert texts[-1].startswith("sentence number 1199.")
    numbers = [int(t.split()[2].rstrip(".")) for t in texts]
    assert numbers == sorted(numbers)
    today = read_records_from(folder / "asrun-2026-12-07.jsonl")
    assert all(r["utc"].startswith("2026-12-07") for r in today)


def read_records_from(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_an_unwritable_folder_is_one_problem_and_the_show_goes_on(
        write_show: Callable[..., Path], piper_voice: object, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    folder = blocker / "as-run"  # a folder inside a file: cannot be made, even by root
    recording = tmp_path / "live.mp4"
    events = live_run(write_show(TINY), piper_voice, AsRunLog(folder),
                      setup=lambda e: e.send(cmd.StartRecording(recording)))
    (problem,) = events.problems("asrun.write_failed")
    assert str(folder) in problem.message and problem.fix
    assert any(isinstance(e, ShowEnded) for e in events.events)
    with av.open(str(recording)) as container:  # the recording is complete
        assert container.duration and container.duration / 1e6 > 2.0


def test_a_full_disk_is_one_problem_then_the_log_catches_up(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    day = datetime.now(UTC).date()
    full = folder / day_file_name(day)
    full.symlink_to("/dev/full")  # every write: ENOSPC, as on a full disk
    problems: list[Problem] = []
    log = AsRunLog(folder, on_problem=problems.append, retry_s=0.2)
    log.start_run(source="run", show=None, show_path=None)
    for i in range(50):
        log.on_event(SentenceStarted(None, "intro", -1, f"line {i}", i * RATE, i * RATE, ()))
    deadline = time.monotonic() + 10
    while not problems and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [p.code for p in problems] == ["asrun.write_failed"]
    assert "disk is full" in problems[0].message
    time.sleep(0.5)  # still full: retried, no second problem
    full.unlink()  # space again
    log.on_event(SentenceStarted(None, "intro", -1, "after", 99 * RATE, 99 * RATE, ()))
    log.close()
    assert len(problems) == 1
    records = read_records(folder)
    assert [r["type"] for r in records[:2]] == ["log_outage", "run_start"]
    assert records[0]["records_lost"] == 0 and records[0]["error"]
    assert [r["text"] for r in of(records, "sentence")] == [f"line {i}" for i in range(50)] \
        + ["after"]


def test_studio_render_and_run_write_the_log_where_told(
        write_show: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    show_path = write_show(TINY)
    folder = tmp_path / "log"
    assert main(["render", str(show_path), "--out", str(tmp_path / "r.mp4"), "--size",
                 f"{W}x{H}", "--as-run", str(folder)]) == 0
    records = read_records(folder)
    assert of(records, "run_start")[0]["source"] == "render"
    assert of(records, "run_end")[0]["reason"] == "the render finished"
    assert of(records, "recording")[0]["produce_id"] == mp4_aigc(tmp_path / "r.mp4")["ProduceID"]
    # --no-as-run: nothing is written, not even in the default folder.
    monkeypatch.setenv("LIVEHOST_AS_RUN_DIR", str(tmp_path / "default"))
    assert main(["render", str(show_path), "--out", str(tmp_path / "s.mp4"), "--size",
                 f"{W}x{H}", "--no-as-run"]) == 0
    assert not (tmp_path / "default").exists()
    assert main(["render", str(show_path), "--out", str(tmp_path / "t.mp4"), "--size",
                 f"{W}x{H}", "--as-run", str(show_path)]) == 2
    # studio run, in real time for two seconds: its reason to stop is on record.
    run_dir = tmp_path / "run-log"
    code = run_live(write_show(SHOW, "long.toml"), [str(tmp_path / "run.mp4")], size=(W, H),
                    for_s=2.0, status_every_s=60, as_run_dir=run_dir, out=io.StringIO(),
                    err=io.StringIO())
    assert code == 0
    records = read_records(run_dir)
    assert of(records, "run_start")[0]["source"] == "run"
    assert of(records, "run_end")[0]["reason"] == "--for 2 s"
    assert of(records, "run_end")[0]["t_samples"] == 2 * RATE
    assert of(records, "sentence")[0]["text"] == "Welcome!"
    assert of(records, "recording")[0]["produce_id"] == mp4_aigc(tmp_path / "run.mp4")[
        "ProduceID"]
    assert os.listdir(run_dir) == [day_file_name(datetime.now(UTC).date())]


def _window(qtbot: Any, config_dir: Path, folder: Path, operator: str = "") -> Any:
    """The studio window as `studio app` opens it (with an as-run folder), its shows real
    LiveEngines at 320x180."""
    from fractions import Fraction

    from studio.ui.main_window import StudioWindow, live_engine_factory
    from studio.ui.settings import Settings, SettingsStore

    if not (config_dir / "settings.json").exists():
        settings = Settings()
        settings.audio.enabled = False  # no sound card here
        SettingsStore(config_dir).save(settings)
    window = StudioWindow(as_run_dir=folder, operator=operator)
    window.engine_factory = live_engine_factory(W, H, Fraction(30), outputs=window.output_specs,
                                                inputs=window.engine_inputs)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_each_show_on_air_in_the_window_gets_its_log_naming_the_operator(
        qtbot: Any, config_dir: Path, write_show: Callable[..., Path], tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    folder = tmp_path / "log"
    show_path = write_show(TINY)
    window = _window(qtbot, config_dir, folder)
    dialog = window.open_preferences()  # Settings ▸ Preferences ▸ General ▸ Operator
    dialog.operator.setText("  Lin   Wei ")
    dialog.accept()
    assert window.settings.operator == "Lin Wei"
    for _ in range(2):  # the show goes on air twice: two runs
        assert window.open_show(show_path)
        qtbot.waitUntil(lambda: window.preview.last_shown_frame_index >= 3, timeout=40_000)
    qtbot.keyClick(window, Qt.Key.Key_F10)  # the human takes over the second run
    qtbot.waitUntil(lambda: window.takeover.mode == "human", timeout=10_000)
    window.close()  # it waits for the log: everything is in the file when it returns
    records = read_records(folder)
    starts, ends = of(records, "run_start"), of(records, "run_end")
    assert [r["source"] for r in starts] == ["app", "app"]
    assert [r["run"] for r in ends] == [r["run"] for r in starts]
    assert [r["status"] for r in ends] == ["ok", "ok"]
    assert all(r["operator"] == "Lin Wei" for r in starts)
    takeover = of(records, "takeover")
    assert len(takeover) == 1 and takeover[0]["run"] == starts[1]["run"]
    assert takeover[0]["on_air"] == {"mode": "human", "role": "human on camera",
                                     "operator": "Lin Wei"}
    assert json.loads((config_dir / "settings.json").read_text())["operator"] == "Lin Wei"

    # `studio app --operator NAME` wins over the settings for its run.
    again = _window(qtbot, config_dir, tmp_path / "log2", operator="Chen Jie")
    assert again.open_show(show_path)
    qtbot.waitUntil(lambda: again.preview.last_shown_frame_index >= 3, timeout=40_000)
    qtbot.keyClick(again, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: again.takeover.mode == "human", timeout=10_000)
    again.close()
    records = read_records(tmp_path / "log2")
    assert of(records, "run_start")[0]["operator"] == "Chen Jie"
    assert of(records, "takeover")[0]["on_air"]["operator"] == "Chen Jie"
    assert again.settings.operator == "Lin Wei"  # the settings keep their own


def test_a_window_start_that_fails_ends_its_run_failed_with_the_reason(
        qtbot: Any, config_dir: Path, write_show: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import vispy.app

    folder = tmp_path / "log"
    show_path = write_show(TINY)
    window = _window(qtbot, config_dir, folder)

    def no_gpu(*args: Any, **kwargs: Any) -> None:  # the device boundary: no EGL context
        raise RuntimeError("EGL: no display")

    with monkeypatch.context() as patch:
        patch.setattr(vispy.app, "Canvas", no_gpu)
        assert window.open_show(show_path)  # it goes on air, and the engine gives up
        qtbot.waitUntil(lambda: "DID NOT START" in window.program_state.text(),
                        timeout=40_000)
        # The engine's end is on record without the window closing.
        qtbot.waitUntil(lambda: folder.exists() and bool(of(read_records(folder), "run_end")),
                        timeout=5000)
        records = read_records(folder)
        ends = of(records, "run_end")
        assert len(ends) == 1 and ends[0]["status"] == "failed", ends
        assert "cannot go on air" in ends[0]["reason"]
        assert "OpenGL" in ends[0]["reason"]
        assert of(records, "problem")[0]["code"] == "show.start_failed"

    # The engine cannot even start its thread (the system refuses one): the run that the
    # log began ends failed too, with the reason the operator was shown.
    def no_thread(self: LiveEngine) -> None:
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as patch:
        patch.setattr(LiveEngine, "start", no_thread)
        assert not window.open_show(show_path)
        assert "can't start new thread" in window.files.last_dialog.informativeText()
    window.close()
    records = read_records(folder)
    starts, ends = of(records, "run_start"), of(records, "run_end")
    assert len(starts) == len(ends) == 2
    assert [r["run"] for r in ends] == [r["run"] for r in starts]
    assert ends[1]["status"] == "failed"
    assert ends[1]["reason"] == "the show could not go on air: can't start new thread"


def test_studio_run_whose_engine_fails_to_start_ends_its_run_failed(
        write_show: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import vispy.app

    def no_gpu(*args: Any, **kwargs: Any) -> None:  # the device boundary: no EGL context
        raise RuntimeError("EGL: no display")

    monkeypatch.setattr(vispy.app, "Canvas", no_gpu)
    folder, err = tmp_path / "log", io.StringIO()
    code = run_live(write_show(TINY), [str(tmp_path / "run.mp4")], size=(W, H),
                    status_every_s=60, as_run_dir=folder, out=io.StringIO(), err=err)
    assert code == 1
    assert "cannot go on air" in err.getvalue()
    ends = of(read_records(folder), "run_end")
    assert len(ends) == 1 and ends[0]["status"] == "failed"
    assert "cannot go on air" in ends[0]["reason"] and "OpenGL" in ends[0]["reason"]
