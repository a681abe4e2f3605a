"""One program core for the offline render and the live engine: the same show gives the same
pictures and the same sound, frame for frame, whether rendered to a file or run live."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from studio.core.clock import MediaClock
from studio.engine.events import Event, FrameDelivered, SentenceStarted
from studio.engine.frames import FrameRenderer, FrameState
from studio.engine.live import LiveEngine
from studio.engine.render import RenderSettings, render_show
from studio.face.motion import FaceMotion
from studio.show.loader import load_show
from studio.voice.types import SpeechClip
from tests.test_live_engine import SHOW

W, H = 320, 180


class SameTakes:
    """The real voice, each sentence synthesised once: Piper samples its durations with
    noise, and both runs must say exactly the same takes to be compared sample for sample."""

    def __init__(self, voice: object) -> None:
        self._voice = voice
        self._takes: dict[str, SpeechClip] = {}
        self.name = getattr(voice, "name", "voice")
        self.execution_provider = "CPU"
        self.info = voice.info  # type: ignore[attr-defined]

    def synthesize(self, sentence: str) -> SpeechClip:
        if sentence not in self._takes:
            self._takes[sentence] = self._voice.synthesize(sentence)  # type: ignore[attr-defined]
        return self._takes[sentence]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, piper_voice: object):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("core")
    show_path = folder / "show.toml"
    show_path.write_text(SHOW, encoding="utf-8")
    show = load_show(show_path)
    voice = SameTakes(piper_voice)
    states: list[FrameState] = []
    result = render_show(show, folder / "offline.mp4", RenderSettings(W, H),
                         on_frame=states.append, tts=voice)
    events: list[Event] = []
    live = LiveEngine(show, width_px=W, height_px=H, realtime=False, tts=voice)
    live.subscribe(events.append)
    live.run_frames(result.frames)
    live.close()
    return show, states, result, events


def test_live_and_offline_pictures_are_equal(both) -> None:  # type: ignore[no-untyped-def]
    show, states, result, events = both
    frames = [e for e in events if isinstance(e, FrameDelivered)]
    assert len(frames) == result.frames == len(states)
    # Draw the offline render's frame states with a fresh renderer and compare every pixel
    # with what the live engine put on air.
    clock = MediaClock(Fraction(30))
    renderer = FrameRenderer(show, W, H, clock, FaceMotion(clock))
    try:
        differing = []
        for state, frame in zip(states, frames, strict=True):
            renderer.draw(state)
            offline = renderer.compositor.read_rgba()
            if not np.array_equal(offline, frame.rgba):
                differing.append(state.index)
    finally:
        renderer.close()
    assert differing == []
    # The card is on screen through a product's pauses: it fades out only between products.
    carded = [s for s in states if s.product_id is not None]
    assert carded, "the show presents products"
    dips = [b.index for a, b, c in zip(states, states[1:], states[2:], strict=False)
            if a.product_id == b.product_id == c.product_id is not None
            and b.card_alpha < a.card_alpha and c.card_alpha > b.card_alpha]
    assert dips == []


def test_live_and_offline_speech_is_placed_alike(both) -> None:  # type: ignore[no-untyped-def]
    _show, states, result, events = both
    segments = _timeline(result)
    offline = [(ts["text"], ts["start_sample"], ts["end_sample"])
               for seg in segments for ts in seg["sentences"]]
    live = [(e.text, e.start_samples, e.end_samples)
            for e in events if isinstance(e, SentenceStarted)]
    assert live == offline
    # The cards come and go at the same frames: the segments' bounds.
    card_changes = [s.index for a, s in itertools.pairwise(states)
                    if a.product_id != s.product_id]
    assert card_changes == [MediaClock(Fraction(30)).frame_at_sample(seg["start_sample"] - 1) + 1
                            for seg in segments[1:]]


def _timeline(result) -> list:  # type: ignore[no-untyped-def,type-arg]
    import json

    return json.loads(result.timeline_path.read_text(encoding="utf-8"))["segments"]  # type: ignore[no-any-return]
