"""Places synthesised sentences on the engine clock, one ahead of what is playing.

Pull-based: the caller asks for audio up to a sample; the scheduler synthesises the sentences
needed to cover it (plus a look-ahead for lip-sync anticipation) and never more, so a live
run can change the queue up to the next sentence boundary.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from studio.core.clock import MediaClock
from studio.core.media import AudioChunk, FloatAudio
from studio.program.mixer import SpeechMixer
from studio.program.rundown import LineKind, ScriptLine
from studio.program.timeline import ProductSegment, TimedSentence, Timeline
from studio.show.model import Show
from studio.voice.types import TTSEngine

_LOG = logging.getLogger("studio.program")


@dataclass(frozen=True, slots=True)
class Pacing:
    """Pauses a presenter leaves, in seconds."""

    lead_in_s: float = 0.6
    between_sentences_s: float = 0.3
    between_paragraphs_s: float = 0.55
    between_products_s: float = 0.9
    tail_s: float = 0.8
    card_lead_fraction: float = 0.3  # the next card appears this far into the pause

    @staticmethod
    def for_show(show: Show) -> Pacing:
        meta = show.show
        return Pacing(between_sentences_s=meta.pause_between_sentences_s,
                      between_paragraphs_s=meta.pause_between_sentences_s * 1.8,
                      between_products_s=meta.pause_between_products_s)

    def pause_before_s(self, last: ScriptLine | None, line: ScriptLine) -> float:
        """The pause before ``line`` when ``last`` was said just before it."""
        if last is None:
            return 0.0
        if LineKind.INTERJECTION in (line.kind, last.kind):
            return self.between_sentences_s
        if line.product_id != last.product_id or line.kind != last.kind:
            return self.between_products_s
        if line.paragraph_index != last.paragraph_index:
            return self.between_paragraphs_s
        return self.between_sentences_s


class SpeechScheduler:
    def __init__(self, tts: TTSEngine, clock: MediaClock, lines: Iterable[ScriptLine],
                 product_names: dict[str, str], title: str, pacing: Pacing = Pacing(),
                 on_sentence: Callable[[TimedSentence, FloatAudio], None] | None = None) -> None:
        self._tts = tts
        self._clock = clock
        self._pending: deque[ScriptLine] = deque(lines)
        self._names = product_names
        self._title = title
        self._pacing = pacing
        self._on_sentence = on_sentence
        self._mixer = SpeechMixer(clock.sample_rate_hz)
        self.timeline = Timeline(clock.sample_rate_hz, clock.fps)
        self._cursor = clock.s_to_samples(pacing.lead_in_s)  # where the next sentence may start
        self._last: ScriptLine | None = None
        self.sentences_done = 0

    @property
    def finished(self) -> bool:
        return not self._pending

    @property
    def end_of_speech_samples(self) -> int:
        """Where the last placed sentence ends."""
        return self._cursor

    def _segment_for(self, line: ScriptLine, pause_samples: int) -> ProductSegment:
        segments = self.timeline.segments
        current = segments[-1] if segments else None
        same = (current is not None and current.product_id == line.product_id
                and (self._last is None or self._last.kind == line.kind
                     or line.kind == LineKind.INTERJECTION))
        if current is not None and same:
            return current
        start = 0 if current is None else (
            self._cursor + round(pause_samples * self._pacing.card_lead_fraction))
        if current is not None:
            current.end_samples = start
        name = self._names.get(line.product_id, "") if line.product_id else self._title
        segment = ProductSegment(line.product_id, name, start, start)
        segments.append(segment)
        return segment

    def synthesize_next(self) -> TimedSentence | None:
        """Synthesise and place the next line; None when the run-down is done."""
        if not self._pending:
            return None
        line = self._pending.popleft()
        clip = self._tts.synthesize(line.text)
        pause = self._clock.s_to_samples(self._pacing.pause_before_s(self._last, line))
        segment = self._segment_for(line, pause)
        start = self._cursor + pause
        timed = TimedSentence(line, clip.spoken_text, start, start + clip.n_samples,
                              tuple(p.shifted(start) for p in clip.phonemes),
                              tuple(w.shifted(start) for w in clip.words))
        segment.sentences.append(timed)
        segment.end_samples = timed.end_samples
        self._mixer.place(start, clip.audio)
        self._cursor = timed.end_samples
        self._last = line
        self.sentences_done += 1
        if self._on_sentence is not None:
            self._on_sentence(timed, clip.audio)
        return timed

    def ensure_until(self, sample: int) -> None:
        """Synthesise until speech is placed past ``sample`` or nothing is left."""
        while self._cursor <= sample and self._pending:
            self.synthesize_next()

    def finish(self) -> int:
        """Close the timeline after the tail; returns its length in samples, on a frame edge."""
        end = self._cursor + self._clock.s_to_samples(self._pacing.tail_s)
        frames = self._clock.frames_covering(end)
        total = self._clock.frame_start_sample(frames)
        if self.timeline.segments:
            self.timeline.segments[-1].end_samples = total
        self.timeline.total_samples = total
        self.timeline.total_frames = frames
        return total

    def audio_between(self, start: int, end: int) -> AudioChunk:
        """Mixed speech for [start, end); silence where no sentence plays."""
        return self._mixer.between(start, end)
