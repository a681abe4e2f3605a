"""The program core: where each sentence is placed and when each product card comes and goes.

One core serves the offline render and the live engine, so a show looks and sounds the same
rendered to a file as on air. The callers differ only in how they get lines and audio: the
render synthesises the run-down in order; the live engine takes what the operator's queue
says next, synthesised ahead on a worker thread. Both ask the core where a line starts,
announce it (its product's card comes up part-way into the pause before it) and place it.

A product segment stays open while its product is presented: the card stays on screen
through the pauses between its sentences and fades out only when the next product's card
is announced (or the show ends).

Loudness is the core's too (``studio.program.loudness``): each sentence is put at -16 LUFS
as it is placed and the mix is true-peak limited to -1 dBTP as it is read.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from studio.core.clock import MediaClock
from studio.core.media import AudioChunk, FloatAudio
from studio.program.loudness import (
    CEILING_DBTP,
    TARGET_LUFS,
    TruePeakLimiter,
    sentence_gain_db,
)
from studio.program.mixer import PlacedAudio, SpeechMixer
from studio.program.rundown import LineKind, ScriptLine
from studio.program.timeline import ProductSegment, TimedSentence, Timeline
from studio.show.model import Show
from studio.voice.types import SpeechClip

OnSentence = Callable[[TimedSentence, FloatAudio], None]
LOOKAHEAD_S = 0.5  # the next line is placed this long before the last one ends (face motion
# anticipates speech: head, brows and lips move before the sound)


@dataclass(frozen=True, slots=True)
class Placement:
    """A placed line, with what ``ProgramCore.retract`` needs to take it back."""

    line: ScriptLine
    clip: SpeechClip
    timed: TimedSentence
    audio: PlacedAudio
    cursor_before: int
    last_line_before: ScriptLine | None
    segment: ProductSegment
    first_said: bool  # the first line said of its segment
    gain_db: float = 0.0  # what put the sentence at the program's loudness target

    @property
    def start_samples(self) -> int:
        return self.timed.start_samples

    @property
    def end_samples(self) -> int:
        return self.audio.end_samples


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



class ProgramCore:
    def __init__(self, clock: MediaClock, pacing: Pacing, title: str,
                 product_name: Callable[[str], str],
                 on_sentence: OnSentence | None = None, keep_segments: int | None = None,
                 target_lufs: float = TARGET_LUFS, ceiling_dbtp: float = CEILING_DBTP) -> None:
        self.clock = clock
        self.pacing = pacing
        self.title = title
        self._product_name = product_name
        self._on_sentence = on_sentence
        self._keep_segments = keep_segments  # live runs keep only the last few
        self.mixer = SpeechMixer(clock.sample_rate_hz)
        # Loudness is the core's, so the render and the live engine sound the same: every
        # sentence is put at the target as it is placed, and the mix is limited as it is read.
        self.target_lufs = target_lufs
        self.ceiling_dbtp = ceiling_dbtp
        self.limiter = TruePeakLimiter(clock.sample_rate_hz, ceiling_dbtp)
        self._levels: deque[tuple[FloatAudio, float]] = deque(maxlen=8)
        self._levels_lock = threading.Lock()
        self.timeline = Timeline(clock.sample_rate_hz, clock.fps)
        self.cursor = clock.s_to_samples(pacing.lead_in_s)  # where the next line may start
        self.last_line: ScriptLine | None = None
        self.sentences_placed = 0

    # --- where a line goes ------------------------------------------------------------------
    def _pause_samples(self, line: ScriptLine) -> int:
        return self.clock.s_to_samples(self.pacing.pause_before_s(self.last_line, line))

    def earliest_start(self, line: ScriptLine) -> int:
        """The first sample ``line`` may start at: after the last line and its pause."""
        return self.cursor + self._pause_samples(line)

    def card_time(self, line: ScriptLine) -> int:
        """When ``line``'s card comes up, if it brings a new product: part-way into the pause."""
        if not self.timeline.segments:
            return 0
        return self.cursor + round(self._pause_samples(line) * self.pacing.card_lead_fraction)

    def _continues(self, line: ScriptLine) -> bool:
        segments = self.timeline.segments
        if not segments or segments[-1].product_id != line.product_id:
            return False
        last = self.last_line
        return last is None or last.kind == line.kind or line.kind == LineKind.INTERJECTION

    def announce(self, line: ScriptLine) -> ProductSegment:
        """``line`` is what comes next: open its product's segment (once) at its card time."""
        segments = self.timeline.segments
        if self._continues(line):
            return segments[-1]
        name = self._product_name(line.product_id) if line.product_id else self.title
        if segments and not segments[-1].said:
            # Announced, then the plan changed before anything was said: the new product
            # takes that card's place.
            segments[-1].product_id = line.product_id
            segments[-1].name = name
            return segments[-1]
        start = self.card_time(line)
        if segments:
            segments[-1].end_samples = start
        segment = ProductSegment(line.product_id, name, start, start)  # open: end == start
        segments.append(segment)
        if self._keep_segments is not None and len(segments) > self._keep_segments:
            del segments[:-self._keep_segments]
        return segment

    def level(self, clip: SpeechClip) -> float:
        """The gain (dB) that puts ``clip`` at the program's loudness (after its limiter).

        A few milliseconds per second of speech: a caller with a synthesis thread may call it
        there, right after synthesis, and ``place`` then finds it done. Thread-safe."""
        with self._levels_lock:
            for audio, gain_db in self._levels:
                if audio is clip.audio:
                    return gain_db
        gain_db = sentence_gain_db(clip.audio, self.clock.sample_rate_hz, self.target_lufs,
                                   ceiling_dbtp=self.ceiling_dbtp)
        with self._levels_lock:
            self._levels.append((clip.audio, gain_db))  # holds the array: its id stays its
        return gain_db

    def wants_next_line(self, until_sample: int) -> bool:
        """Whether the next line should be placed now, rendering up to ``until_sample``."""
        return self.cursor <= until_sample + self.clock.s_to_samples(LOOKAHEAD_S)

    def place(self, line: ScriptLine, clip: SpeechClip, start: int) -> Placement:
        """Put ``clip`` on the clock at ``start`` (at or after ``earliest_start(line)``)."""
        cursor_before, last_before = self.cursor, self.last_line
        segment = self.announce(line)
        first_said = not segment.said
        timed = TimedSentence(line, clip.spoken_text, start, start + clip.n_samples,
                              tuple(p.shifted(start) for p in clip.phonemes),
                              tuple(w.shifted(start) for w in clip.words))
        segment.said = True
        if self._keep_segments is None:  # live runs keep no history
            segment.sentences.append(timed)
        gain_db = self.level(clip)
        audio = (clip.audio * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)
        placed = self.mixer.place(start, audio)
        self.cursor = timed.end_samples
        self.last_line = line
        self.sentences_placed += 1
        if self._on_sentence is not None:
            self._on_sentence(timed, audio)  # what is heard, at the program's loudness
        return Placement(line, clip, timed, placed, cursor_before, last_before, segment,
                         first_said, gain_db)

    def retract(self, placement: Placement) -> None:
        """Take back the last placement before it starts (the operator changed the plan)."""
        self.mixer.remove(placement.audio)
        self.cursor = placement.cursor_before
        self.last_line = placement.last_line_before
        self.sentences_placed -= 1
        segment = placement.segment
        if segment.sentences and segment.sentences[-1] is placement.timed:
            segment.sentences.pop()
        if placement.first_said:
            # Its card stays announced (not said): the next announcement takes its place.
            segment.said = False

    def cut(self, placement: Placement, at: int, fade_samples: int) -> None:
        """The last placed line stops at ``at`` with a fade; the next may follow it then."""
        placement.audio.fade_out_at(at, fade_samples)
        self.cursor = placement.audio.end_samples

    def hold_until(self, sample: int) -> None:
        """Nothing new starts before ``sample`` (after a cut, a takeover, a pause)."""
        self.cursor = max(self.cursor, sample)

    # --- reading ----------------------------------------------------------------------------
    def segment_at(self, sample: int) -> ProductSegment | None:
        return self.timeline.segment_at(sample)

    def audio_between(self, start: int, end: int) -> AudioChunk:
        """The program's sound for [start, end), true-peak limited. The limiter's look-ahead
        is read from the sentences already placed ahead (the core places the next line half
        a second early), so its gain is applied in place: no delay, lips and sound aligned.
        Read the program in order; a jump on the clock restarts the limiter."""
        mixed = self.mixer.between(start, end + self.limiter.lookahead_samples).samples
        n = end - start
        limited = self.limiter.process(start, mixed[:n], mixed[n:])
        return AudioChunk(start, limited, self.clock.sample_rate_hz)

    def end_of_show(self) -> tuple[int, int]:
        """The run-down is done: the last card fades out after the tail. Returns the show's
        length in frames and in samples (on a frame edge)."""
        end = self.cursor + self.clock.s_to_samples(self.pacing.tail_s)
        frames = self.clock.frames_covering(end)
        total = self.clock.frame_start_sample(frames)
        if self.timeline.segments:
            self.timeline.segments[-1].end_samples = total
        return frames, total

    def finish(self) -> int:
        """Close the timeline after the tail; returns its length in samples, on a frame edge."""
        frames, total = self.end_of_show()
        self.timeline.total_samples = total
        self.timeline.total_frames = frames
        return total
