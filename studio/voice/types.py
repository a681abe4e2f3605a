"""What a voice produces: audio on the engine clock plus the exact span of every phoneme."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

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


class TTSEngine(Protocol):
    """A voice: text in, speech out, one sentence at a time (so live mode can start early)."""

    name: str
    execution_provider: str

    def synthesize(self, sentence: str) -> SpeechClip: ...
