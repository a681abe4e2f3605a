"""The window supervises the show it puts on air, as `studio run` does.

Real window (offscreen Qt), real LiveEngine at 320x180 in real time, real Piper voice, real
renderer, the supervisor's own thresholds; faults are injected where a component meets the
engine (a renderer whose ``draw`` raises or hangs, a voice whose ``synthesize`` hangs on one
line). What is asserted is what the operator sees: the restart in the banner's list of
problems, in the window's language, with a fix that fits the window; the preview that keeps
getting frames through the fault; the show that goes on; and no thread left behind.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from studio.core.clock import MediaClock
from studio.engine.events import Event, FrameDelivered, SentenceStarted
from studio.engine.frames import FrameRenderer, FrameState
from studio.face.motion import FaceMotion
from studio.show.model import Show
from studio.ui.bridge import Engine
from studio.ui.main_window import StudioWindow
from studio.ui.settings import Settings, SettingsStore
from studio.voice.types import SpeechClip

WAIT_MS = 40_000
SHOW = """
[show]
title = "Supervised Window"
intro = "Welcome!"
pause_between_sentences_s = 0.1

[[products]]
id = "a"
name = "Alpha Mug"
price = 10
currency = "CNY"
script = "Alpha is a mug. It holds tea. It is blue. It is light. It is cheap."

[[products]]
id = "b"
name = "Bravo Pan"
price = 20
currency = "CNY"
script = "Bravo is a pan. It fries eggs. It is round."
"""
THREADS = ("supervisor", "as-run-log", "live-engine", "live-stand-in")


class FlakyRenderer(FrameRenderer):
    """The real renderer, whose frames raise while ``failing`` is set (every renderer made,
    so a restarted one fails too until the fault clears), or whose next frame hangs for
    ``hang_s`` once ``hang`` is set (a GPU driver that does not answer for a while)."""

    failing = threading.Event()
    hang = threading.Event()
    hang_s = 0.0
    made = 0

    def __init__(self, show: Show, width_px: int, height_px: int, clock: MediaClock,
                 face: FaceMotion) -> None:
        super().__init__(show, width_px, height_px, clock, face)
        type(self).made += 1

    def draw(self, state: FrameState) -> None:
        if self.failing.is_set() and state.index > 0:  # (index 0: a new renderer's warm-up)
            raise RuntimeError("injected render fault")
        if self.hang.is_set() and state.index > 0:
            self.hang.clear()
            time.sleep(self.hang_s)
        super().draw(state)


class HangingVoice:
    """The real voice, which never returns (until the test ends) the first time it is asked
    for ``line``."""

    def __init__(self, inner: Any, line: str) -> None:
        self.inner, self.line = inner, line
        self.name, self.info = inner.name, inner.info
        self.execution_provider = getattr(inner, "execution_provider", "CPU")
        self.calls: dict[str, int] = {}
        self.release = threading.Event()

    def synthesize(self, sentence: str) -> SpeechClip:
        n = self.calls[sentence] = self.calls.get(sentence, 0) + 1
        if sentence == self.line and n == 1:
            self.release.wait()
            raise RuntimeError("released at the end of the test")
        clip: SpeechClip = self.inner.synthesize(sentence)
        return clip


class Said:
    """What went on air, from the engine's events (its thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sentences: list[str] = []
        self.frames = 0

    def __call__(self, event: Event) -> None:
        with self.lock:
            if isinstance(event, SentenceStarted):
                self.sentences.append(event.text)
            elif isinstance(event, FrameDelivered):
                self.frames += 1


pytestmark = pytest.mark.usefixtures("english_after")


def open_window(qtbot: Any, config_dir: Path, factory: Callable[[Show, Path | None], Engine],
                language: str = "en") -> StudioWindow:
    settings = Settings(language=language)
    settings.audio.enabled = False  # no sound card here
    SettingsStore(config_dir).save(settings)
    window = StudioWindow(engine_factory=factory)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def problems_listed(window: StudioWindow) -> list[str]:
    """Every problem as the banner's "+N more" list shows it (message, then fix)."""
    return window.banner.show_all().texts


def listed(window: StudioWindow, text: str) -> bool:
    return any(text in item for item in problems_listed(window))


def threads_left() -> list[str]:
    return [t.name for t in threading.enumerate() if t.is_alive() and t.name in THREADS]


def test_the_windows_show_is_supervised_through_a_failing_and_a_hanging_renderer(
        qtbot: Any, config_dir: Path, write_show: Callable[..., Path]) -> None:
    from studio.engine.live import LiveEngine

    said = Said()

    def factory(show: Show, path: Path | None) -> Engine:
        engine = LiveEngine(show, width_px=320, height_px=180, fps=Fraction(30),
                            show_path=path, renderer_factory=FlakyRenderer)
        engine.subscribe(said)
        return engine

    FlakyRenderer.failing.clear()
    FlakyRenderer.hang.clear()
    FlakyRenderer.made = 0
    window = open_window(qtbot, config_dir, factory)
    assert window.open_show(write_show(SHOW))
    qtbot.waitUntil(lambda: "Alpha is a mug." in said.sentences, timeout=WAIT_MS)

    # Every frame fails to render: the supervisor restarts the renderer after a second.
    shown = window.preview.last_shown_frame_index
    FlakyRenderer.failing.set()
    qtbot.waitUntil(lambda: listed(window, "restarted the renderer (#1)"), timeout=15_000)
    FlakyRenderer.failing.clear()
    # The preview kept getting frames (the last good picture, held) all along.
    assert window.preview.last_shown_frame_index >= shown + 30
    item = next(t for t in problems_listed(window) if "restarted the renderer" in t)
    assert "frames have failed to render for" in item and "the show goes on" in item
    assert FlakyRenderer.made >= 2
    with said.lock:
        before = len(said.sentences)
    qtbot.waitUntil(lambda: len(said.sentences) > before, timeout=WAIT_MS)  # it goes on

    # A render hangs for 3 s: the supervisor says the show is stuck, with what to do in the
    # window (not the service manager `studio run` has), then that it moves again.
    FlakyRenderer.hang_s = 3.0
    FlakyRenderer.hang.set()
    qtbot.waitUntil(lambda: listed(window, "the frame loop is stuck in a render"),
                    timeout=10_000)
    stalled = next(t for t in problems_listed(window) if "stuck in a render" in t)
    assert "If the show does not move again within a minute, close it and open it again" \
        in stalled
    assert "service manager" not in stalled and "watchdog" not in stalled
    qtbot.waitUntil(lambda: listed(window, "the frame loop sends frames again"),
                    timeout=10_000)
    shown = window.preview.last_shown_frame_index
    qtbot.waitUntil(lambda: window.preview.last_shown_frame_index > shown + 15,
                    timeout=10_000)

    window.close()
    # The supervisor stopped with the show (and the engine's threads, at once or nearly).
    qtbot.waitUntil(lambda: threads_left() == [], timeout=2000)


def test_a_hung_voice_in_a_chinese_window_is_restarted_and_the_banner_says_so(
        qtbot: Any, config_dir: Path, write_show: Callable[..., Path],
        piper_voice: object) -> None:
    from studio.engine.live import LiveEngine

    said = Said()
    voice = HangingVoice(piper_voice, "It holds tea.")

    def factory(show: Show, path: Path | None) -> Engine:
        engine = LiveEngine(show, width_px=320, height_px=180, fps=Fraction(30),
                            show_path=path, tts=voice,  # type: ignore[arg-type]
                            tts_factory=lambda: voice)  # type: ignore[arg-type,return-value]
        engine.subscribe(said)
        return engine

    window = open_window(qtbot, config_dir, factory, language="zh_CN")
    try:
        assert window.language == "zh_CN"
        assert window.open_show(write_show(SHOW))
        # The line is due and the voice does not answer: after 5 s a fresh voice worker
        # says it, and the banner says, in Chinese, that the voice was restarted.
        qtbot.waitUntil(lambda: "It holds tea." in said.sentences, timeout=WAIT_MS)
        assert listed(window, "已重启语音合成（第 1 次")
        item = next(t for t in problems_listed(window) if "已重启语音合成" in t)
        assert "直播继续" in item  # its fix, in Chinese too
        assert said.sentences.index("Alpha is a mug.") < said.sentences.index("It holds tea.")
        assert voice.calls["It holds tea."] == 2
        qtbot.waitUntil(lambda: "It is blue." in said.sentences, timeout=WAIT_MS)
    finally:
        voice.release.set()
        window.close()
    qtbot.waitUntil(lambda: threads_left() == [], timeout=2000)

