"""The real Piper voice: audio on the 48 kHz clock, exact phoneme spans, clear errors."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import pytest

from studio.core.clock import ENGINE_SAMPLE_RATE_HZ
from studio.core.errors import UserInputError
from studio.voice.piper_tts import PiperTTS, resolve_voice


def test_sentence_has_audio_and_phonemes_covering_it(piper_voice: PiperTTS) -> None:
    clip = piper_voice.synthesize("The mug costs ¥39.9 today.")
    assert clip.sample_rate_hz == ENGINE_SAMPLE_RATE_HZ
    seconds = clip.n_samples / clip.sample_rate_hz
    assert 1.0 < seconds < 5.0
    assert np.abs(clip.audio).max() > 0.3  # audible speech, not silence
    assert "thirty-nine point nine yuan" in clip.spoken_text
    spans = clip.phonemes
    assert spans[0].start_samples == 0 and spans[-1].end_samples == clip.n_samples
    for a, b in itertools.pairwise(spans):
        assert a.end_samples == b.start_samples
    assert [w.text for w in clip.words] == ["The", "mug", "costs", "¥39.9", "today."]
    for word in clip.words:
        assert 0 <= word.start_samples < word.end_samples <= clip.n_samples


def test_phoneme_spans_match_where_the_sound_is(piper_voice: PiperTTS) -> None:
    clip = piper_voice.synthesize("Papa, pop!")
    hop = ENGINE_SAMPLE_RATE_HZ // 100
    frames = len(clip.audio) // hop
    rms = np.sqrt((clip.audio[:frames * hop].reshape(frames, hop) ** 2).mean(axis=1))
    vowels = [s for s in clip.phonemes if s.phoneme in {"ɑ", "ɐ", "ə", "a"}]
    assert vowels
    for vowel in vowels:  # the voice is loud where the alignment says a vowel is
        mid = (vowel.start_samples + vowel.end_samples) // 2 // hop
        assert rms[max(0, mid - 3):mid + 4].max() > 0.2 * rms.max()


def test_provider_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    from studio.core import accel

    accel._logged.clear()
    with caplog.at_level(logging.INFO, logger="studio.accel"):
        PiperTTS("en_US-joe-medium")
        PiperTTS("en_US-joe-medium")
    lines = [r.getMessage() for r in caplog.records if r.name == "studio.accel"]
    assert len(lines) == 1
    assert "execution provider" in lines[0]


def test_voice_paths_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="neither a built-in voice"):
        resolve_voice("de_DE-thorsten")
    with pytest.raises(UserInputError, match="voice model not found"):
        resolve_voice(str(tmp_path / "nope.onnx"))
    (tmp_path / "v.onnx").write_bytes(b"x")
    with pytest.raises(UserInputError, match=r"\.onnx\.json beside"):
        resolve_voice(str(tmp_path / "v.onnx"))
    (tmp_path / "v.onnx.json").write_text("{}")
    with pytest.raises(UserInputError):
        PiperTTS(str(tmp_path / "v.onnx"))
