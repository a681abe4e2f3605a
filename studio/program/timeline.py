"""What was said when: sentences, words and phonemes on the engine clock, saved as JSON.

The teleprompter reads it live; tests read it to check lip sync; editors read it afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from studio.program.rundown import ScriptLine
from studio.voice.types import PhonemeSpan, WordSpan

TIMELINE_VERSION = 1


@dataclass(frozen=True, slots=True)
class TimedSentence:
    line: ScriptLine
    spoken_text: str
    start_samples: int
    end_samples: int
    phonemes: tuple[PhonemeSpan, ...]  # absolute
    words: tuple[WordSpan, ...]  # absolute


@dataclass(slots=True)
class ProductSegment:
    """A stretch of program during which one product (or none) is presented."""

    product_id: str | None
    name: str
    start_samples: int
    end_samples: int  # equal to the start while the segment is open (its card stays up)
    sentences: list[TimedSentence] = field(default_factory=list)
    said: bool = False  # a sentence of it went on air (live runs keep no sentence list)


@dataclass(slots=True)
class Timeline:
    sample_rate_hz: int
    fps: Fraction
    segments: list[ProductSegment] = field(default_factory=list)
    total_samples: int = 0
    total_frames: int = 0

    def segment_at(self, sample: int) -> ProductSegment | None:
        for segment in reversed(self.segments):
            if segment.start_samples <= sample:
                return segment
        return None

    def to_json(self, produce_id: str = "") -> dict[str, Any]:
        rate = self.sample_rate_hz

        def s(samples: int) -> float:
            return round(samples / rate, 6)

        def sentence(ts: TimedSentence) -> dict[str, Any]:
            return {
                "kind": ts.line.kind.value, "paragraph": ts.line.paragraph_index,
                "index": ts.line.sentence_index, "text": ts.line.text,
                "spoken_text": ts.spoken_text,
                "start_s": s(ts.start_samples), "end_s": s(ts.end_samples),
                "start_sample": ts.start_samples, "end_sample": ts.end_samples,
                "words": [{"text": w.text, "start_s": s(w.start_samples),
                           "end_s": s(w.end_samples)} for w in ts.words],
                "phonemes": [{"p": p.phoneme, "start_s": s(p.start_samples),
                              "end_s": s(p.end_samples)} for p in ts.phonemes],
            }

        return {
            "version": TIMELINE_VERSION,
            "produce_id": produce_id,
            "sample_rate_hz": rate,
            "fps": f"{self.fps.numerator}/{self.fps.denominator}",
            "duration_s": s(self.total_samples),
            "total_samples": self.total_samples,
            "total_frames": self.total_frames,
            "segments": [{
                "product_id": seg.product_id, "name": seg.name,
                "start_s": s(seg.start_samples), "end_s": s(seg.end_samples),
                "start_sample": seg.start_samples, "end_sample": seg.end_samples,
                "sentences": [sentence(ts) for ts in seg.sentences],
            } for seg in self.segments],
        }

    def write(self, path: Path, produce_id: str = "") -> None:
        path.write_text(json.dumps(self.to_json(produce_id), ensure_ascii=False, indent=1),
                        encoding="utf-8")
