"""The offline render's speech: the run-down synthesised in order and placed by the core.

Pull-based: the caller asks for audio up to a sample; the scheduler synthesises the sentences
needed to cover it (plus a look-ahead for lip-sync anticipation) and never more. Placement
and card timing are the program core's (``studio.program.core``), shared with the live
engine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from studio.core.clock import MediaClock
from studio.core.media import AudioChunk
from studio.program.core import OnSentence, Pacing, ProgramCore
from studio.program.rundown import ScriptLine
from studio.program.timeline import TimedSentence
from studio.voice.types import TTSEngine


class SpeechScheduler:
    """The offline driver of the program core: the run-down in order, synthesised on demand."""

    def __init__(self, tts: TTSEngine, clock: MediaClock, lines: Iterable[ScriptLine],
                 product_names: dict[str, str], title: str, pacing: Pacing | None = None,
                 on_sentence: OnSentence | None = None) -> None:
        self._tts = tts
        self._pending: deque[ScriptLine] = deque(lines)
        self.core = ProgramCore(clock, pacing or Pacing(), title,
                                lambda pid: product_names.get(pid, ""), on_sentence)
        self.timeline = self.core.timeline

    @property
    def finished(self) -> bool:
        return not self._pending

    @property
    def sentences_done(self) -> int:
        return self.core.sentences_placed

    @property
    def end_of_speech_samples(self) -> int:
        """Where the last placed sentence ends."""
        return self.core.cursor

    def synthesize_next(self) -> TimedSentence | None:
        """Synthesise and place the next line; None when the run-down is done."""
        if not self._pending:
            return None
        line = self._pending.popleft()
        clip = self._tts.synthesize(line.text)
        return self.core.place(line, clip, self.core.earliest_start(line)).timed

    def ensure_until(self, sample: int) -> None:
        """Synthesise what must be placed to render up to ``sample`` (with the core's
        look-ahead), or until nothing is left."""
        while self._pending and self.core.wants_next_line(sample):
            self.synthesize_next()

    def finish(self) -> int:
        return self.core.finish()

    def audio_between(self, start: int, end: int) -> AudioChunk:
        """Mixed speech for [start, end); silence where no sentence plays."""
        return self.core.audio_between(start, end)
