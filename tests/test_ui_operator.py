"""A window that never surprises the operator (issue 9, item 6), driven like an operator.

Real live engines at 320x180 and short shows; only QMessageBox.question (the dialog
boundary) and the file pickers are answered by the test. What is asserted is what the
operator sees: widget texts, what is visible, the questions asked, the file on disk.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from studio.engine.commands import GoToProduct, NextProduct
from studio.engine.events import Problem, SentenceStarted, ShowEnded
from studio.show.model import Show
from studio.ui.bridge import Engine
from studio.ui.guard import report_exception
from studio.ui.main_window import StudioWindow
from studio.ui.settings import Settings, SettingsStore
from tests.test_ui import TEST_SHOW, WAIT_MS, Recorder

Buttons = QMessageBox.StandardButton

SHORT_SHOW = """
[show]
title = "Short Show"
pause_between_sentences_s = 0.1
pause_between_products_s = 0.1

[[products]]
id = "pen"
name = "Gel Pen"
price = 5
currency = "CNY"
script = "A pen. It writes."
"""

# A show file as a person writes it: comments, their own key order, a named skin preset,
# an integer price, a multi-line script.
COMMENTED_SHOW = '''# Evening show: keep these notes!
[show]
title = "Commented Show"   # what the window shows
pause_between_products_s = 0.2
pause_between_sentences_s = 0.1

[host.look]
skin_tone = "light"  # a named preset, not a colour code

# -- the run-down --------------------------------------------------------------------------
[[products]]
# the mug sells best
id = "mug"
name = "Coffee Mug"
currency = "CNY"
price = 39.9  # launch price
script = """A mug.
It holds tea."""

[[products]]
id = "lamp"
name = "Desk Lamp"
price = 99
currency = "CNY"
script = "A lamp."
'''


class Questions:
    """Stands in for QMessageBox.question: records each question, answers from a script."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, Buttons]] = []
        self.answers: list[Buttons] = []

    def __call__(self, parent: Any, title: str, text: str,
                 buttons: Buttons = Buttons.Yes | Buttons.No,
                 default: Buttons = Buttons.NoButton) -> Buttons:
        self.asked.append((title, text, buttons))
        assert self.answers, f"an unexpected question: {title}: {text}"
        return self.answers.pop(0)


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    monkeypatch.setenv("LIVEHOST_CONFIG_DIR", str(directory))
    settings = Settings()
    settings.audio.enabled = False  # no sound card here: no note about it
    SettingsStore(directory).save(settings)
    return directory


@pytest.fixture
def questions(monkeypatch: pytest.MonkeyPatch) -> Questions:
    q = Questions()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(q))
    return q


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def studio(qtbot: Any, config_dir: Path, recorder: Recorder) -> Iterator[StudioWindow]:
    from studio.engine.live import LiveEngine

    def factory(show: Show, path: Path | None) -> Engine:
        engine = LiveEngine(show, width_px=320, height_px=180, fps=Fraction(30),
                            show_path=path)
        engine.subscribe(recorder)
        return engine

    window = StudioWindow(engine_factory=factory)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def on_air(qtbot: Any, window: StudioWindow, path: Path) -> None:
    assert window.open_show(path)
    qtbot.waitUntil(lambda: window.preview.last_shown_frame_index >= 3, timeout=WAIT_MS)


def recent_action(window: StudioWindow, name: str) -> Any:
    """File ▸ Open recent ▸ ``name``."""
    menu = window.files.recent_menu
    assert menu is not None
    return next(a for a in menu.actions() if a.text().endswith(name))


def edit_price(qtbot: Any, window: StudioWindow, product_id: str, price: str) -> None:
    """The operator's way: the run-down's Edit… dialog, a new price, OK."""
    dialog = window.edit_product(product_id)
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.price.setText(price)
    dialog.accept()
    shown = f"¥{float(price):.2f}"  # the run-down shows the new price: the engine has it
    qtbot.waitUntil(lambda: any(e.product_id == product_id and e.price_text == shown
                                for e in window.queue.model.entries), timeout=WAIT_MS)


def test_opening_or_closing_asks_while_on_air_and_never_drops_unsaved_edits(
        qtbot: Any, studio: StudioWindow, questions: Questions,
        write_show: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_show(COMMENTED_SHOW, "first.toml")
    second = write_show(TEST_SHOW.replace("UI Test Show", "Second Show"), "second.toml")
    studio.settings.add_recent(second)
    on_air(qtbot, studio, first)
    engine = studio.engine
    recent = recent_action(studio, "second.toml")

    # File ▸ Open recent while on air: asked first; "No" leaves the show on air.
    questions.answers = [Buttons.No]
    recent.trigger()
    title, text, buttons = questions.asked[-1]
    assert title == "Open another show"
    assert "“Commented Show” is on air" in text and "second.toml" in text
    assert buttons == Buttons.Yes | Buttons.No
    assert studio.engine is engine and "Commented Show" in studio.windowTitle()

    # File ▸ Open show… and the demo ask the same.
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(second), "")))
    questions.answers = [Buttons.No, Buttons.No]
    studio.files.open_action.trigger()
    studio.files.demo_action.trigger()
    assert [q[0] for q in questions.asked[-2:]] == ["Open another show"] * 2
    assert studio.engine is engine

    # An edited price: closing asks Save / Discard / Cancel; Cancel keeps everything.
    edit_price(qtbot, studio, "mug", "35.5")
    questions.answers = [Buttons.Cancel]
    studio.files.close_action.trigger()
    title, text, buttons = questions.asked[-1]
    assert title == "Close the show"
    assert "not saved" in text
    assert buttons == Buttons.Save | Buttons.Discard | Buttons.Cancel
    assert studio.engine is engine and first.read_text(encoding="utf-8") == COMMENTED_SHOW

    # Opening another show with the edit unsaved: Save writes it, then the other opens.
    questions.answers = [Buttons.Save]
    recent_action(studio, "second.toml").trigger()
    assert "not saved" in questions.asked[-1][1]
    qtbot.waitUntil(lambda: "Second Show" in studio.windowTitle(), timeout=WAIT_MS)
    assert studio.engine is not engine
    assert "price = 35.5  # launch price" in first.read_text(encoding="utf-8")

    # Nothing edited, on air: closing asks Yes / No; Yes goes off air.
    qtbot.waitUntil(lambda: studio.preview.last_shown_frame_index >= 3, timeout=WAIT_MS)
    questions.answers = [Buttons.Yes]
    studio.files.close_action.trigger()
    assert questions.asked[-1][0] == "Close the show"
    assert studio.engine is None
    assert "OFF AIR" in studio.program_state.text()
    assert "NO SHOW ON AIR" in studio.takeover.button.text()
    # Off air, nothing is asked.
    asked = len(questions.asked)
    assert studio.files.open_show(first, ask=True)
    assert len(questions.asked) == asked


def test_the_end_of_the_run_down_is_idle_on_air_with_restart_and_go_off_air(
        qtbot: Any, studio: StudioWindow, questions: Questions, recorder: Recorder,
        write_show: Callable[..., Path]) -> None:
    on_air(qtbot, studio, write_show(SHORT_SHOW))

    def past_the_end() -> bool:
        ended, frame = recorder.of(ShowEnded), recorder.latest_frame()
        return bool(ended) and frame is not None and \
            frame.pts_samples >= ended[0].end_samples + 3000
    qtbot.waitUntil(past_the_end, timeout=WAIT_MS)
    qtbot.wait(200)  # the window has drained those frames
    state = studio.program_state.text()
    assert "LIVE" not in state  # not a LIVE badge over a finished run-down
    end = studio.run_down_end
    assert end.isVisible()
    assert "IDLE" in state and "LIVE" not in state
    assert "IDLE" in studio.status_panel.fields["air"].text()
    assert end.message.text() == "The run-down is finished: the host is on air, idle."
    assert (end.restart.text(), end.off_air.text()) == ("Restart run-down", "Go off air")
    assert studio.teleprompter.view.highlighted_word is None  # no word lit forever
    assert studio.teleprompter.view.highlighted_text is None
    assert studio.teleprompter.title_label.toolTip() == "Run-down finished" or \
        "Run-down finished" in studio.teleprompter.title_label.text()
    assert studio.engine is not None  # still on air: the host idles

    said = len(recorder.of(SentenceStarted))
    end.restart.click()
    assert not end.isVisible()
    qtbot.waitUntil(lambda: len(recorder.of(SentenceStarted)) >= said + 2, timeout=WAIT_MS)
    again = recorder.of(SentenceStarted)[said:]
    assert [s.text for s in again[:2]] == ["A pen.", "It writes."]  # from the top again
    assert "● LIVE" in studio.program_state.text()
    qtbot.waitUntil(lambda: end.isVisible(), timeout=WAIT_MS)  # and finished again

    end.off_air.click()  # nothing unsaved: no question, straight off air
    assert questions.asked == []
    assert studio.engine is None
    assert not end.isVisible()
    assert "OFF AIR" in studio.program_state.text()


def test_status_never_contradicts_itself(
        qtbot: Any, studio: StudioWindow, questions: Questions, show_file_path: Path,
        tmp_path: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    banner = studio.banner
    # A key pressed before any show: "no show on air" — until one is on air.
    assert studio.send(NextProduct()) is False
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=5000)
    assert "No show is on air." in banner.text
    assert studio.open_show(show_file_path)
    # Starting: the takeover button says so, not "AI ON AIR".
    assert studio.takeover.button.text().startswith("STARTING THE SHOW")
    assert not studio.takeover.button.isEnabled()
    assert "STARTING" in studio.program_state.text()
    qtbot.waitUntil(lambda: studio.preview.last_shown_frame_index >= 3, timeout=WAIT_MS)
    assert studio.takeover.button.text().startswith("AI ON AIR")
    assert studio.takeover.button.isEnabled()
    assert "No show is on air" not in banner.text and not banner.isVisible()

    # Refused commands and window bugs read as words: no class names, no reprs.
    studio.send(GoToProduct("no-such-product"))
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=WAIT_MS)
    assert banner.message.text().endswith("Going to the product was refused: no-such-product")
    report_exception(ValueError("the level is out of range"))
    for text in (banner.text, banner.count.toolTip()):
        for internal in ("GoToProduct", "ValueError", "KeyError", "'no-such-product'",
                         "command.refused"):
            assert internal not in text

    # Every problem can be read: the "+1 more" link opens the list of all of them.
    assert banner.more_text == "+1 more"
    banner.count.linkActivated.emit("#all")
    assert banner.list_dialog is not None
    qtbot.waitUntil(lambda: banner.list_dialog is not None and banner.list_dialog.isVisible(),
                    timeout=5000)
    texts = banner.list_dialog.texts
    assert len(texts) == 2
    assert "the level is out of range" in texts[0]
    assert "Going to the product was refused: no-such-product" in texts[1]
    banner.list_dialog.close()

    # A standby picture the engine would refuse is neither used nor saved.
    bad = tmp_path / "standby.png"
    bad.write_bytes(b"not a picture at all")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(bad), "")))
    studio.takeover._pick()
    assert "standby picture standby.png cannot be used" in banner.text
    assert studio.settings.standby_image == ""
    assert studio.takeover.standby_path is None
    studio.save_settings()
    data = json.loads((config_dir / "settings.json").read_text(encoding="utf-8"))
    assert data["standby_image"] == ""


def test_a_show_that_fails_to_start_is_not_shown_as_live(
        qtbot: Any, studio: StudioWindow, show_file_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import vispy.app

    def no_gpu(*args: Any, **kwargs: Any) -> None:  # the device boundary: no EGL context
        raise RuntimeError("EGL: no display")

    monkeypatch.setattr(vispy.app, "Canvas", no_gpu)
    assert studio.open_show(show_file_path)
    qtbot.waitUntil(lambda: studio.banner.isVisible(), timeout=WAIT_MS)
    assert "cannot create an offscreen OpenGL context" in studio.banner.text
    qtbot.waitUntil(lambda: studio.takeover.button.text().startswith("THE SHOW DID NOT START"),
                    timeout=WAIT_MS)
    assert not studio.takeover.button.isEnabled()
    assert "DID NOT START" in studio.program_state.text()
    assert "LIVE" not in studio.program_state.text()
    assert "OFF AIR" in studio.status_panel.fields["air"].text()


def test_banners_move_no_panel_and_the_window_fits_1280x720(
        qtbot: Any, studio: StudioWindow, show_file_path: Path) -> None:
    # A first start (no saved geometry) opens within the screen, not at 1600x900 past it.
    screen = studio.screen().availableGeometry().size()  # (offscreen: smaller than 1280x720)
    assert studio.width() <= max(screen.width(), 1280)
    assert studio.height() <= max(screen.height(), 720)
    on_air(qtbot, studio, show_file_path)
    qtbot.waitUntil(lambda: studio.last_status is not None, timeout=WAIT_MS)  # status bar full
    QApplication.processEvents()
    hint = studio.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 720, hint
    studio.resize(1280, 720)
    qtbot.waitUntil(lambda: studio.size().width() == 1280, timeout=5000)
    QApplication.processEvents()

    def geometries() -> dict[str, Any]:
        panels = {d.objectName(): d.geometry() for d in studio.docks}
        panels["preview"] = studio.preview.geometry()
        panels["meter"] = studio.meter.geometry()
        return panels

    before = geometries()
    studio.banner.show_problem(Problem("a long problem " * 30, "and its fix " * 20))
    QApplication.processEvents()
    assert studio.banner.isVisible()
    assert geometries() == before
    studio.run_down_end.show()
    QApplication.processEvents()
    assert studio.run_down_end.isVisible()
    assert geometries() == before
    # The banner lies over the preview's top edge, fully readable.
    banner = studio.banner.geometry().translated(studio.overlay.pos())
    assert banner.top() >= studio.preview.geometry().top()
    assert studio.banner.height() >= studio.banner.sizeHint().height() - 1
    studio.banner.dismiss()
    studio.run_down_end.hide()
    QApplication.processEvents()
    assert not studio.overlay.isVisible()
    assert geometries() == before


def test_save_keeps_the_file_as_written(
        qtbot: Any, studio: StudioWindow, write_show: Callable[..., Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_show(COMMENTED_SHOW, "commented.toml")
    on_air(qtbot, studio, path)
    edit_price(qtbot, studio, "mug", "35.5")
    studio.files.save_action.trigger()  # File ▸ Save
    saved = path.read_text(encoding="utf-8")
    diff = [line for line in difflib.ndiff(COMMENTED_SHOW.splitlines(), saved.splitlines())
            if line[:1] in "+-"]
    assert diff == ["- price = 39.9  # launch price", "+ price = 35.5  # launch price"]
    assert 'skin_tone = "light"  # a named preset' in saved
    assert not studio.has_unsaved_edits()

    # Save as: the same text under the new name.
    other = tmp_path / "copy.toml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(other), "")))
    studio.files.save_as_action.trigger()
    assert other.read_text(encoding="utf-8") == saved
    assert studio.show_path == other


@pytest.fixture
def show_file_path(write_show: Callable[..., Path]) -> Path:
    return write_show(TEST_SHOW)
