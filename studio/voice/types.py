"""What a voice produces: audio on the engine clock plus the exact span of every phoneme."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from studio.core.clock import ENGINE_SAMPLE_RATE_HZ
from studio.core.media import FloatAudio


@dataclass(frozen=True, slots=True)
class PhonemeSpan:
    """One phoneme (espeak IPA symbol, or a pause marker) over [start, end) samples."""

    phoneme: str
    start_samples: int
    end_samples: int

    def shifted(self, offset_samples: int) -> PhonemeSpan:
        return PhonemeSpan(self.phoneme, self.start_samples + offset_samples,
                           self.end_samples + offset_samples)


@dataclass(frozen=True, slots=True)
class WordSpan:
    """A spoken word over [start, end) samples; ``text`` is the word as the script wrote it."""

    text: str
    start_samples: int
    end_samples: int

    def shifted(self, offset_samples: int) -> WordSpan:
        return WordSpan(self.text, self.start_samples + offset_samples,
                        self.end_samples + offset_samples)


@dataclass(frozen=True, slots=True)
class SpeechClip:
    """One synthesised sentence. Spans are relative to the clip's first sample."""

    text: str
    spoken_text: str
    audio: FloatAudio = field(repr=False)
    sample_rate_hz: int
    phonemes: tuple[PhonemeSpan, ...]
    words: tuple[WordSpan, ...]

    @property
    def n_samples(self) -> int:
        return int(self.audio.shape[0])


Sex = Literal["female", "male", "unknown"]


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """What a voice is, declared before it is loaded: so a show can be checked against it
    (language), a host matched to it (sex), and its licence shown to whoever puts it on air.
    ``sample_rate_hz`` is the voice's own rate; its clips are always on the 48 kHz engine clock.
    ``alignments``: it gives phoneme timings (else the lips follow its sound)."""

    name: str
    engine: str
    languages: tuple[str, ...]
    sex: Sex
    sample_rate_hz: int
    licence: str
    alignments: bool
    description: str = ""

    def speaks(self, language: str) -> bool:
        return language in self.languages


class TTSEngine(Protocol):
    """A voice: text in, speech out, one sentence at a time (so live mode can start early)."""

    name: str
    execution_provider: str
    info: VoiceInfo

    def synthesize(self, sentence: str) -> SpeechClip: ...


# Clause breaks: a comma/semicolon/colon followed by a space (not 1,000), or a CJK one.
_CLAUSE_BREAK = re.compile(r"(?<=[,;:])\s+|(?<=[，、；：])\s*")


def word_cuts(text: str, language: str = "en") -> list[int]:
    """Offsets where ``text`` may be cut between words, in order: after each run of spaces,
    or, in Mandarin, at jieba's word ends (never inside a word, a price or a model number).
    Japanese and Mandarin without the segmenter fall back to every character."""
    if language == "zh":
        try:
            from studio.voice.text_zh import word_ends_zh
        except ImportError:
            pass
        else:
            return [e for e in word_ends_zh(text) if 0 < e < len(text)]
    if language in ("zh", "ja"):
        return list(range(1, len(text)))
    return [m.end() for m in _SPACES.finditer(text) if m.start() > 0 and m.end() < len(text)]


_SPACES = re.compile(r"\s+")


def _cut_words(text: str, at_least: int, language: str) -> tuple[str, str]:
    """``text`` cut at the first word boundary at or after ``at_least`` characters."""
    cut = next((c for c in word_cuts(text, language) if c >= at_least), len(text))
    return text[:cut].strip(), text[cut:].strip()


def split_clauses(sentence: str, language: str = "en") -> list[str]:
    """A long sentence as chunks, so a slow voice can start speaking after the first one.

    The first chunk is short (it is what the listener waits for): the first clause, or its
    first words when the clause is long. Each later chunk takes clauses up to as many
    characters as are already out (synthesised while those play), cut at commas where it can
    and between words where a clause is longer than twice that, so there are few cuts (each
    costs a little prosody) and no chunk outgrows the audio ahead of it. Short sentences
    stay whole."""
    cjk = language in ("zh", "ja")
    long_chars, first_chars, min_chars = (6, 3, 3) if cjk else (20, 12, 8)
    text = sentence.strip()
    if len(text) <= long_chars:
        return [text] if text else []
    joiner = "" if cjk else " "
    pending = [p for p in _CLAUSE_BREAK.split(text) if p][::-1]
    chunks: list[str] = []
    current = ""
    emitted = 0

    def flush(chunk: str) -> None:
        nonlocal emitted
        chunks.append(chunk)
        emitted += len(chunk)

    while pending:
        piece = pending.pop()
        joined = f"{current}{joiner}{piece}" if current else piece
        if chunks and current and len(joined) > max(min_chars, emitted):
            flush(current)
            joined = piece
        budget = max(min_chars, emitted) if chunks else first_chars
        if len(joined) > 2 * budget:
            head, tail = _cut_words(joined, budget, language)
            if tail:
                flush(head)
                current = ""
                pending.append(tail)
                continue
        current = joined
        if not chunks and len(current) >= first_chars:
            flush(current)
            current = ""
    if current:
        if chunks and len(current) < min_chars:
            chunks[-1] = f"{chunks[-1]}{joiner}{current}"
        else:
            chunks.append(current)
    return chunks


def concat_clips(sentence: str, clips: Sequence[SpeechClip]) -> SpeechClip:
    """Clause clips back to back as one sentence (spans shifted onto the sentence)."""
    rate = clips[0].sample_rate_hz if clips else ENGINE_SAMPLE_RATE_HZ
    phonemes: list[PhonemeSpan] = []
    words: list[WordSpan] = []
    offset = 0
    for clip in clips:
        phonemes += [p.shifted(offset) for p in clip.phonemes]
        words += [w.shifted(offset) for w in clip.words]
        offset += clip.n_samples
    audio = (np.concatenate([c.audio for c in clips]).astype(np.float32, copy=False) if clips
             else np.zeros(0, np.float32))
    spoken = ""
    for c in clips:  # no space after a CJK clause
        spoken += (" " if spoken and spoken[-1].isascii() else "") + c.spoken_text
    return SpeechClip(sentence, spoken, audio, rate,
                      tuple(phonemes), tuple(words))


class StreamingTTS(TTSEngine, Protocol):
    """A voice that can hand over a sentence clause by clause (first audio sooner)."""

    def stream(self, sentence: str) -> Iterator[SpeechClip]: ...
