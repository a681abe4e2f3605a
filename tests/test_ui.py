"""The studio window, driven like an operator would, against the real live engine.

Each engine test runs a small (320x180) show in real time and asserts on what the engine
delivered (frames, sentences, queue) after the window's hotkeys, buttons and panels acted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QModelIndex, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog

from studio.engine.actions import DEFAULT_QUICK_PHRASES
from studio.engine.events import (
    Event,
    FrameDelivered,
    ModeChanged,
    QueueChanged,
    SentenceStarted,
)
from studio.program.queue import ProductStatus, QueueEntry
from studio.show.loader import load_show
from studio.show.model import Show
from studio.ui.bridge import Engine
from studio.ui.main_window import StudioWindow
from studio.ui.product_dialog import ProductDialog
from studio.ui.queue_panel import MIME, reordered
from studio.ui.settings import SCHEMA_VERSION, SettingsStore

WAIT_MS = 40_000

TEST_SHOW = """
[show]
title = "UI Test Show"
pause_between_sentences_s = 0.1
pause_between_products_s = 0.2

[[products]]
id = "mug"
name = "Coffee Mug"
price = 39.9
currency = "CNY"
script = "A mug. It holds tea. It is blue. It is cheap. It is here."

[[products]]
id = "lamp"
name = "Desk Lamp"
price = 99
currency = "CNY"
script = "A lamp. It is bright."

[[products]]
id = "pen"
name = "Gel Pen"
price = 5
currency = "CNY"
script = "A pen. It writes."
"""

BAD_SHOW = """
[show]
title = "Broken"

[[products]]
id = "mug"
name = "Coffee Mug"
price = "cheap"
currency = "CNY"
script = "x"
"""


class Recorder:
    """Collects engine events on the engine thread; frames keep only a short history."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[Event] = []
        self.frames: list[FrameDelivered] = []  # the last few, with copied pixels

    def __call__(self, event: Event) -> None:
        with self.lock:
            if isinstance(event, FrameDelivered):
                self.frames.append(FrameDelivered(event.index, event.pts_samples,
                                                  event.rgba.copy(), event.mode, event.label))
                del self.frames[:-120]
            else:
                self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]

    def frame_from(self, pts_samples: int) -> FrameDelivered | None:
        """The first frame delivered at or after ``pts_samples`` (late frames are skipped)."""
        with self.lock:
            return next((f for f in self.frames if f.pts_samples >= pts_samples), None)

    def latest_frame(self) -> FrameDelivered | None:
        with self.lock:
            return self.frames[-1] if self.frames else None


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def studio(qtbot: Any, config_dir: Path, recorder: Recorder) -> Iterator[StudioWindow]:
    """A shown, active window whose engines are real LiveEngines at 320x180, with the
    camera, microphone and crossfade the window's settings give."""
    from studio.engine.live import LiveEngine

    def factory(show: Show, path: Path | None) -> Engine:
        inputs = window.engine_inputs()
        engine = LiveEngine(show, width_px=320, height_px=180, fps=Fraction(30),
                            show_path=path, camera=inputs.camera, mic=inputs.mic,
                            crossfade_s=inputs.crossfade_s)
        engine.subscribe(recorder)
        return engine

    window = StudioWindow(engine_factory=factory)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    yield window
    window.close()


@pytest.fixture
def show_file(write_show: Callable[..., Path]) -> Path:
    return write_show(TEST_SHOW)


def on_air(qtbot: Any, window: StudioWindow, path: Path, recorder: Recorder) -> None:
    assert window.open_show(path)
    qtbot.waitUntil(lambda: window.preview.last_shown_frame_index >= 3, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(recorder.of(SentenceStarted)) >= 1, timeout=WAIT_MS)


def test_takeover_key_switches_the_next_frame_to_the_standby_picture_and_back(
        qtbot: Any, studio: StudioWindow, show_file: Path, recorder: Recorder,
        tmp_path: Path) -> None:
    standby = tmp_path / "standby.png"
    Image.new("RGB", (320, 180), (20, 200, 60)).save(standby)
    studio.set_standby_image(standby)
    studio.takeover.crossfade.setValue(0.0)  # a hard cut: the next frame is all standby
    assert studio.settings.inputs.crossfade_s == 0.0
    on_air(qtbot, studio, show_file, recorder)
    ai_frame = recorder.latest_frame()
    assert ai_frame is not None and ai_frame.mode == "ai" and ai_frame.label

    qtbot.keyClick(studio, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: len(recorder.of(ModeChanged)) == 1, timeout=WAIT_MS)
    switch = recorder.of(ModeChanged)[0]
    assert (switch.previous, switch.mode, switch.crossfade_s) == ("ai", "human", 0.0)
    qtbot.waitUntil(lambda: recorder.frame_from(switch.at_samples) is not None, timeout=WAIT_MS)
    human_frame = recorder.frame_from(switch.at_samples)
    assert human_frame is not None and human_frame.mode == "human"  # the very next frame
    later = switch.at_samples + 4800  # once the AI's voice has faded out: no AI label
    qtbot.waitUntil(lambda: recorder.frame_from(later) is not None, timeout=WAIT_MS)
    unlabelled = recorder.frame_from(later)
    assert unlabelled is not None and not unlabelled.label
    assert np.abs(human_frame.rgba[..., :3].astype(int) - ai_frame.rgba[..., :3]).mean() > 30
    standby_px = np.abs(human_frame.rgba[..., :3].astype(int) - (20, 200, 60)).max(axis=2) <= 2
    assert standby_px.mean() > 0.6  # the standby picture, under the product card
    qtbot.waitUntil(lambda: studio.takeover.human, timeout=WAIT_MS)
    assert "HUMAN ON AIR" in studio.takeover.button.text()
    qtbot.waitUntil(lambda: studio.preview.last_shown_human, timeout=WAIT_MS)

    studio.takeover.button.click()  # the big button does the same as the key
    qtbot.waitUntil(lambda: len(recorder.of(ModeChanged)) == 2, timeout=WAIT_MS)
    back = recorder.of(ModeChanged)[1]
    assert (back.previous, back.mode) == ("human", "ai")
    qtbot.waitUntil(lambda: recorder.frame_from(back.at_samples) is not None, timeout=WAIT_MS)
    ai_again = recorder.frame_from(back.at_samples)
    assert ai_again is not None and ai_again.mode == "ai" and ai_again.label
    assert np.abs(ai_again.rgba[..., :3].astype(int) - (20, 200, 60)).mean() > 30
    qtbot.waitUntil(lambda: studio.takeover.log.count() == 2, timeout=WAIT_MS)
    assert "Human on camera → AI host" in studio.takeover.log.item(0).text()
    assert "AI host → Human on camera" in studio.takeover.log.item(1).text()
    assert "AI ON AIR" in studio.takeover.button.text()


def test_say_next_speaks_the_line_before_the_script_resumes(
        qtbot: Any, studio: StudioWindow, show_file: Path, recorder: Recorder) -> None:
    on_air(qtbot, studio, show_file, recorder)
    prompter = studio.teleprompter.view
    qtbot.waitUntil(lambda: prompter.highlighted_sentence_index >= 0
                    and prompter.highlighted_word is not None, timeout=WAIT_MS)

    line = "Hello from the control room."
    before = len(recorder.of(SentenceStarted))
    qtbot.keyClicks(studio.interject.text, line)
    qtbot.mouseClick(studio.interject.say_next_button, Qt.MouseButton.LeftButton)
    assert studio.interject.text.text() == ""

    def spoken() -> list[SentenceStarted]:
        return recorder.of(SentenceStarted)[before:]

    qtbot.waitUntil(lambda: any(s.kind == "interjection" for s in spoken()), timeout=WAIT_MS)
    kinds = [s.kind for s in spoken()]
    at = kinds.index("interjection")
    assert at <= 1, f"the interjection waited behind {at} script sentences: {kinds}"
    assert spoken()[at].text == line
    qtbot.waitUntil(lambda: prompter.highlighted_text == line, timeout=WAIT_MS)
    # ...and then the script goes on where it was.
    qtbot.waitUntil(lambda: len(spoken()) > at + 1, timeout=WAIT_MS)
    resumed = spoken()[at + 1]
    assert resumed.kind == "script" and resumed.product_id == "mug"
    qtbot.waitUntil(lambda: prompter.highlighted_sentence_index == resumed.sentence_index,
                    timeout=WAIT_MS)

    # Quick phrase 2 by its hotkey (Ctrl+2) goes the same way.
    qtbot.keyClick(studio, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any(s.text == DEFAULT_QUICK_PHRASES[1] for s in spoken()),
                    timeout=WAIT_MS)


def test_reordered_queue_changes_which_product_comes_next(
        qtbot: Any, studio: StudioWindow, show_file: Path, recorder: Recorder, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    on_air(qtbot, studio, show_file, recorder)

    def statuses() -> dict[str, ProductStatus]:
        changes = recorder.of(QueueChanged)
        return {e.product_id: e.status for e in changes[-1].entries} if changes else {}

    qtbot.waitUntil(lambda: statuses().get("lamp") == ProductStatus.NEXT, timeout=WAIT_MS)
    studio.queue.move_product("pen", 1)  # what a drag of "pen" onto row 2 does
    assert studio.queue.model.ids() == ["mug", "pen", "lamp"]
    qtbot.waitUntil(lambda: statuses().get("pen") == ProductStatus.NEXT, timeout=WAIT_MS)
    assert statuses()["lamp"] == ProductStatus.QUEUED

    qtbot.keyClick(studio, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any(s.product_id != "mug" and s.kind == "script"
                                for s in recorder.of(SentenceStarted)), timeout=WAIT_MS)
    after_mug = [s for s in recorder.of(SentenceStarted) if s.product_id not in ("mug", None)]
    assert after_mug[0].product_id == "pen"
    qtbot.waitUntil(lambda: statuses().get("pen") == ProductStatus.ON_AIR, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: [e.status for e in studio.queue.model.entries][:2]
                    == [ProductStatus.DONE, ProductStatus.ON_AIR], timeout=WAIT_MS)

    # Skip and unskip with the panel's button; "Go now" (Ctrl+Return) cuts to the selection.
    studio.queue.select("lamp")
    studio.queue.skip_button.click()
    qtbot.waitUntil(lambda: statuses().get("lamp") == ProductStatus.SKIPPED, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: studio.queue.skip_button.text() == "Unskip", timeout=WAIT_MS)
    studio.queue.skip_button.click()
    qtbot.waitUntil(lambda: statuses().get("lamp") != ProductStatus.SKIPPED, timeout=WAIT_MS)
    qtbot.keyClick(studio, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any(s.product_id == "lamp" for s in recorder.of(SentenceStarted)),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: statuses().get("lamp") == ProductStatus.ON_AIR, timeout=WAIT_MS)

    # Add a product through the form while on air, then Save as: the file has every edit.
    form = studio.add_product()
    assert form is not None
    form.name.setText("Tea Pot")
    form.id.setText("teapot")
    form.price.setText("59")
    form.script.setPlainText("A teapot for two.")
    form.accept()
    qtbot.waitUntil(lambda: "teapot" in studio.queue.model.ids(), timeout=WAIT_MS)
    saved = tmp_path / "edited.toml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(saved), "")))
    studio.files.save_as_action.trigger()
    assert [p.id for p in load_show(saved).products] == ["mug", "pen", "lamp", "teapot"]
    assert studio.show_path == saved


def test_malformed_show_shows_every_problem_and_keeps_the_old_show_on_air(
        qtbot: Any, studio: StudioWindow, show_file: Path, recorder: Recorder,
        write_show: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    on_air(qtbot, studio, show_file, recorder)
    engine = studio.engine
    bad = write_show(BAD_SHOW, "bad.toml")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(bad), "")))
    studio.files.open_action.trigger()  # File ▸ Open show…

    dialog = studio.files.last_dialog
    assert dialog is not None and dialog.isVisible()
    details = dialog.informativeText()
    assert "products[1] (id 'mug').price" in details
    assert "bad.toml:8" in details
    assert "nothing was opened" in dialog.text()
    assert studio.engine is engine and studio.show_path == show_file
    shown = studio.preview.last_shown_frame_index
    qtbot.waitUntil(lambda: studio.preview.last_shown_frame_index > shown + 5, timeout=WAIT_MS)
    assert studio.settings.recent_files == [str(show_file.resolve())]


def test_malformed_show_opens_nothing_in_an_empty_window(
        qtbot: Any, studio: StudioWindow, write_show: Callable[..., Path]) -> None:
    assert not studio.open_show(write_show(BAD_SHOW, "bad.toml"))
    assert studio.engine is None
    assert studio.files.last_dialog is not None
    assert "price" in studio.files.last_dialog.informativeText()


def test_opening_another_show_stops_the_old_engine_and_finishes_its_recording(
        qtbot: Any, studio: StudioWindow, show_file: Path, recorder: Recorder, tmp_path: Path,
        write_show: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    on_air(qtbot, studio, show_file, recorder)
    first = studio.engine
    video = tmp_path / "take1.mp4"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(video), "")))
    qtbot.keyClick(studio, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: studio.last_status is not None and studio.last_status.recording,
                    timeout=WAIT_MS)
    assert studio.registry.actions["record"].isChecked()
    shown = studio.preview.last_shown_frame_index
    qtbot.waitUntil(lambda: studio.preview.last_shown_frame_index > shown + 15, timeout=WAIT_MS)

    second_path = write_show(TEST_SHOW.replace("UI Test Show", "Second Show"), "second.toml")
    assert studio.open_show(second_path)
    assert studio.engine is not first
    assert getattr(first, "_thread", None) is None  # stopped and joined
    assert video.stat().st_size > 1000  # the recording was finished, not cut off
    qtbot.waitUntil(lambda: "Second Show" in studio.windowTitle(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: studio.last_status is not None and not studio.last_status.recording
                    and studio.preview.last_shown_frame_index >= 3, timeout=WAIT_MS)
    assert not studio.registry.actions["record"].isChecked()
    assert studio.settings.recent_files[:2] == [str(second_path.resolve()),
                                                str(show_file.resolve())]


# --- no engine needed -----------------------------------------------------------------------

def test_settings_persist_across_two_windows(qtbot: Any, config_dir: Path) -> None:
    first = StudioWindow()
    qtbot.addWidget(first)
    first.teleprompter.font_size.setValue(44)
    first.teleprompter.mirror.setChecked(True)
    first.teleprompter.manual.setChecked(True)
    first.teleprompter.speed.setValue(75)
    dialog = first.open_preferences()
    assert dialog is not None
    dialog.set_key("takeover", "F5")  # taken by pause/resume: refused
    dialog.accept()
    assert dialog.isVisible() and "F5" in dialog.error.text()
    dialog.set_key("takeover", "F10")  # taken by "human on camera": refused too
    dialog.accept()
    assert dialog.isVisible() and "Human on camera" in dialog.error.text()
    dialog.set_key("takeover", "F6")
    dialog.phrase_edits[0].setText("Link 7 is live now!")
    dialog.accept()
    assert not dialog.isVisible()
    first.resize(1234, 777)
    first.close()

    data = json.loads((config_dir / "settings.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["key_overrides"] == {"takeover": "F6"}

    second = StudioWindow()
    qtbot.addWidget(second)
    assert second.teleprompter.font_size.value() == 44
    assert second.teleprompter.view.font_size == 44
    assert second.teleprompter.mirror.isChecked() and second.teleprompter.view.mirror
    assert second.teleprompter.view.manual and second.teleprompter.speed.value() == 75
    takeover = second.registry.actions["takeover"]
    assert takeover.shortcut() == QKeySequence("F6")
    assert second.takeover.key == "F6"
    assert "NO SHOW ON AIR" in second.takeover.button.text()  # nothing to take over yet
    assert second.settings.quick_phrases[0] == "Link 7 is live now!"
    assert second.settings.quick_phrases[1] == DEFAULT_QUICK_PHRASES[1]
    assert "Link 7" in second.interject.phrase_buttons[0].toolTip()
    assert second.settings.window_geometry
    second.close()


def test_broken_or_unknown_settings_reset_with_a_warning(qtbot: Any, config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    settings = config_dir / "settings.json"
    settings.write_text("{not json", encoding="utf-8")
    window = StudioWindow()
    qtbot.addWidget(window)
    assert window.banner.isVisibleTo(window) and "reset" in window.banner.text
    assert (config_dir / "settings.json.bak").exists()
    window.close()

    settings.write_text(json.dumps({"schema_version": 99, "recent_files": ["x"]}))
    store = SettingsStore()
    assert store.load().recent_files == [] and "99" in store.warnings[0]

    settings.write_text(json.dumps({"schema_version": 1, "teleprompter_font_size": 50,
                                    "quick_phrases": "oops"}))
    store = SettingsStore()
    loaded = store.load()
    assert loaded.teleprompter.font_size == 50  # migrated from v1
    assert loaded.quick_phrases == list(DEFAULT_QUICK_PHRASES)
    assert any("quick_phrases" in w for w in store.warnings)


def test_the_operators_name_is_a_setting_and_old_files_gain_it(
        qtbot: Any, config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    path = config_dir / "settings.json"
    path.write_text(json.dumps({"schema_version": 5, "recent_files": ["/a.toml"],
                                "language": "en"}), encoding="utf-8")
    store = SettingsStore()
    loaded = store.load()
    assert store.warnings == []  # v5 had no name: none, silently
    assert loaded.operator == "" and loaded.recent_files == ["/a.toml"]

    window = StudioWindow()
    qtbot.addWidget(window)
    dialog = window.open_preferences()
    assert dialog is not None
    assert dialog.tabs.tabText(0) == "General" and dialog.operator.text() == ""
    assert "as-run log" in dialog.operator_note.text()
    dialog.operator.setText(" Lin \t Wei ")
    dialog.accept()
    window.close()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION == 6
    assert data["operator"] == "Lin Wei"
    assert data["recent_files"] == ["/a.toml"]

    # `studio app --operator` wins for its run; the page shows the saved name, and says so.
    override = StudioWindow(operator="Chen Jie")
    qtbot.addWidget(override)
    dialog = override.open_preferences()
    assert dialog is not None
    assert dialog.operator.text() == "Lin Wei"
    assert "This run uses Chen Jie, given with --operator." in dialog.operator_note.text()
    dialog.reject()
    override.close()

    path.write_text(json.dumps({"schema_version": 6, "operator": 42}), encoding="utf-8")
    assert store.load().operator == "" and any("operator" in w for w in store.warnings)
    path.write_text(json.dumps({"schema_version": 6, "operator": "x" * 100}),
                    encoding="utf-8")
    assert store.load().operator == "x" * 80 and any("shortened" in w for w in store.warnings)


def test_help_overlay_lists_every_action_and_typing_does_not_fire_shortcuts(
        qtbot: Any, config_dir: Path) -> None:
    window = StudioWindow()
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    window.queue.table.setFocus()
    qtbot.keyClick(window.queue.table, Qt.Key.Key_Question)
    assert window.help_overlay.isVisible()
    assert window.help_overlay.rows["takeover"] == ("Takeover (AI ⇄ human)", "F9")
    assert len(window.help_overlay.rows) == len(window.registry.actions)
    qtbot.keyClick(window.help_overlay, Qt.Key.Key_Escape)
    assert not window.help_overlay.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert window.help_overlay.isVisible()
    window.help_overlay.hide()

    box = window.interject.text
    box.setFocus()
    qtbot.keyClicks(box, "Any questions?")
    assert box.text() == "Any questions?"
    assert not window.help_overlay.isVisible()
    window.close()


def test_queue_drop_and_product_form(qtbot: Any) -> None:
    assert reordered(["a", "b", "c", "d"], ["d"], 1) == ["a", "d", "b", "c"]
    assert reordered(["a", "b", "c", "d"], ["a"], 3) == ["b", "c", "a", "d"]
    assert reordered(["a", "b", "c"], ["a"], 3) == ["b", "c", "a"]

    from studio.ui.queue_panel import QueuePanel

    panel = QueuePanel()
    qtbot.addWidget(panel)
    panel.set_entries([QueueEntry(i, i.upper(), "¥1.00", ProductStatus.QUEUED)
                       for i in ("a", "b", "c")])
    asked: list[tuple[str, ...]] = []
    panel.reorder_requested.connect(asked.append)
    data = QMimeData()
    data.setData(MIME, json.dumps(["c"]).encode())
    assert not panel.model.dropMimeData(data, Qt.DropAction.MoveAction, 0, 0, QModelIndex())
    assert asked == [("c", "a", "b")] and panel.model.ids() == ["c", "a", "b"]

    form = ProductDialog()
    qtbot.addWidget(form)
    qtbot.keyClicks(form.name, "Tea Pot")
    assert form.id.text() == "tea-pot"  # suggested from the name
    form.id.setText("tea pot")
    form.price.setText("cheap")
    form.original_price.setText("1")
    form.accept()
    assert form.product() is None
    assert form.errors["id"].isVisibleTo(form) and "no spaces" in form.errors["id"].text()
    assert form.errors["price"].isVisibleTo(form)
    assert form.errors["script"].text() == "required"
    form.id.setText("tea-pot")
    form.price.setText("59")
    form.original_price.setText("79")
    form.script.setPlainText("A teapot for two.")
    form.selling_points.setPlainText("Holds 600 ml\n\nCast iron")
    form.accept()
    product = form.product()
    assert product is not None and product.id == "tea-pot" and product.price == 59
    assert product.selling_points == ["Holds 600 ml", "Cast iron"]


def test_cli_app_reports_a_bad_show_without_opening_a_window(
        write_show: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    from studio.cli import main

    assert main(["app", str(write_show(BAD_SHOW, "bad.toml"))]) == 2
    assert "price" in capsys.readouterr().err


def test_a_plugin_licence_is_shown_when_its_show_opens_non_commercial_as_a_warning(
        studio: StudioWindow, write_show: Callable[..., Path], tmp_path: Path,
        qtbot: Any) -> None:
    """The licence `studio check` prints is in the window too: a non-commercial model's
    terms as a warning in the banner (amber), in the window's language; a permissive one as
    a note in the status bar; the warning goes when a show without it is opened."""
    from studio.engine.events import Problem
    from studio.ui import i18n
    from studio.ui.status_panel import ProblemBanner
    from tests.test_neural_avatar import make_plugin, wav2lip_manifest

    make_plugin(tmp_path / "nc", wav2lip_manifest(licence="CC-BY-NC-4.0", name="Lips NC"))
    make_plugin(tmp_path / "mit", wav2lip_manifest(licence="MIT", name="Lips MIT"))

    def show_with(avatar: str, name: str) -> Path:
        return write_show(TEST_SHOW + f'\n[host]\navatar = "{avatar}"\n', name)

    banner: ProblemBanner = studio.banner
    assert studio.open_show(show_with("nc", "nc.toml"))
    assert banner.isVisible()
    newest: Problem = banner.history[-1][1]
    assert newest.severity == "warning" and newest.code == "avatar.licence_non_commercial"
    assert "CC-BY-NC-4.0: not for commercial streams" in banner.text
    assert "'Lips NC' may not be used for selling" in banner.text
    assert "ProblemBanner { background: #3a2a0c" in banner.styleSheet()  # amber: a warning
    # A permissive licence: a note in the status bar; the warning leaves the banner.
    assert studio.open_show(show_with("mit", "mit.toml"))
    assert "Lips MIT: licence MIT" in studio.statusBar().currentMessage()
    assert all(p.code != "avatar.licence_non_commercial" for _, p in banner.history)
    # In Chinese the warning reads in Chinese.
    try:
        i18n.set_language(i18n.CHINESE)
        assert studio.open_show(show_with("nc", "nc.toml"))
        assert "CC-BY-NC-4.0：不可用于商业直播" in banner.text
        assert "模型“Lips NC”不得用于带货" in banner.text
    finally:
        i18n.set_language(i18n.ENGLISH)
    studio.stop_show()
