"""What a listener hears: the real voices' prices, units, dates and times, written down by an
offline speech recogniser (Whisper base) and compared as words or syllables said.

A voice that read "HP" as letters, "$39.99" as "dollar thirty-nine point nine nine" or a
Chinese script as "Chinese letter, Chinese letter" fails here, whatever its text front-end
claims. Thresholds leave room for the recogniser and, in Mandarin, for the Japanese accent of
the shipped Kokoro presets (see README, "Voices and languages").
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.hearing import (
    contains,
    english_words,
    error_rate,
    hear,
    mandarin_syllables,
    whisper_model,
)

# (script, phrases a listener must hear, as words said)
ENGLISH = [
    ("Today it is only $39.99, and delivery takes 3-5 days.",
     ["thirty nine dollars and ninety nine cents", "three to five days"]),
    ("The motor gives 1.5 HP and the bottle holds 250 ml.",
     ["one point five", "two hundred fifty"]),
    ("The sale starts on April 20 at 8:00 am, with 30% off.",
     ["april twentieth", "eight am", "thirty percent"]),
]
MANDARIN = [
    ("今天只要¥39.9，相当于便宜了百分之三十。", ["san shi jiu kuai jiu", "bai fen zhi san shi"]),
    ("净含量125克，3-5天发货。", ["san dao wu tian fa huo"]),
    ("4月20日晚上8点，准时开抢。", ["si yue", "wan shang ba dian"]),
    ("这款Nike跑鞋只要299元。", ["er bai jiu shi jiu"]),
]


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return whisper_model(tmp_path_factory.mktemp("whisper-base"))


@pytest.mark.parametrize("voice", ["en_US-joe-medium", "kokoro:jf_alpha"])
def test_english_prices_units_and_dates_are_heard_as_a_host_says_them(
        whisper: Any, voice: str) -> None:
    from studio.voice.registry import load_voice

    tts = load_voice(voice, base_dir=None, language="en", threads=2)
    for script, phrases in ENGLISH:
        heard_text = hear(whisper, tts.synthesize(script), "en")
        heard = english_words(heard_text)
        assert error_rate(english_words(script), heard) <= 0.2, (script, heard_text)
        for phrase in phrases:
            assert contains(heard, phrase), (phrase, heard_text)
        if "HP" in script:  # a unit is a word, not letters: the recogniser writes no "HP"
            assert "horse" in heard_text.lower() and "HP" not in heard_text, heard_text


def test_mandarin_prices_units_and_dates_are_heard_in_mandarin(whisper: Any) -> None:
    from studio.voice.registry import load_voice

    tts = load_voice("kokoro:jf_alpha", base_dir=None, language="zh", threads=2)
    errors: list[float] = []
    for script, phrases in MANDARIN:
        heard_text = hear(whisper, tts.synthesize(script), "zh")
        heard = mandarin_syllables(heard_text)
        errors.append(error_rate(mandarin_syllables(script), heard))
        assert errors[-1] <= 0.3, (script, heard_text)
        for phrase in phrases:
            assert contains(heard, phrase), (phrase, heard_text)
    assert sum(errors) / len(errors) <= 0.15, errors
