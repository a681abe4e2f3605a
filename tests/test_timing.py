"""Audio and video never drift: exact integer timing over hours, checked on timestamps."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from studio.core.clock import MediaClock, parse_fps
from studio.core.media import AudioChunk
from studio.outputs.mp4 import Mp4Writer
from studio.program.rundown import LineKind, ScriptLine
from studio.program.scheduler import SpeechScheduler
from studio.voice.piper_tts import PiperTTS
from studio.voice.types import SpeechClip

TWO_HOURS_S = 2 * 60 * 60


@pytest.mark.parametrize("fps", ["30", "25", "29.97", "60", "24000/1001"])
def test_frame_spans_tile_the_samples_exactly(fps: str) -> None:
    clock = MediaClock(parse_fps(fps))
    n_frames = clock.frames_covering(TWO_HOURS_S * clock.sample_rate_hz)
    starts = np.array([clock.frame_start_sample(i) for i in range(n_frames + 1)])
    spans = np.diff(starts)
    assert starts[0] == 0 and spans.min() >= 1
    assert int(spans.sum()) == clock.frame_start_sample(n_frames)  # no gap, no overlap
    # The video's end (frames / fps) and the audio's end agree to the sample.
    video_end_s = Fraction(n_frames) / clock.fps
    assert abs(video_end_s - Fraction(clock.frame_start_sample(n_frames),
                                      clock.sample_rate_hz)) < Fraction(1, clock.sample_rate_hz)
    assert clock.frame_at_sample(clock.frame_start_sample(n_frames - 1)) == n_frames - 1


class ReplayTTS:
    """Real Piper clips, synthesised once and replayed: two hours of speech in seconds."""

    name = "replay"
    execution_provider = "CPU"

    def __init__(self, voice: PiperTTS, sentences: list[str]) -> None:
        self._clips = {s: voice.synthesize(s) for s in sentences}

    def synthesize(self, sentence: str) -> SpeechClip:
        return self._clips[sentence]


def test_two_hour_show_keeps_audio_and_video_locked(piper_voice: PiperTTS) -> None:
    sentences = ["This kettle boils 1.5 L in three minutes.", "Only ¥129 today!",
                 "Order now and it ships in 3-5 days."]
    tts = ReplayTTS(piper_voice, sentences)
    clock = MediaClock(Fraction(30000, 1001))
    mean_s = np.mean([c.n_samples for c in tts._clips.values()]) / clock.sample_rate_hz
    n_lines = int(TWO_HOURS_S / (mean_s + 0.35))
    lines = [ScriptLine(LineKind.SCRIPT, f"p{n // 40}", (n // 5) % 8, n % 40, sentences[n % 3])
             for n in range(n_lines)]
    names = {f"p{k}": f"Product {k}" for k in range(n_lines // 40 + 1)}
    scheduler = SpeechScheduler(tts, clock, lines, names, "Two hours")  # type: ignore[arg-type]
    written = 0
    index = 0
    total_frames: int | None = None
    checked = 0
    while total_frames is None or index < total_frames:
        start, end = clock.frame_start_sample(index), clock.frame_start_sample(index + 1)
        scheduler.ensure_until(end + 24_000)
        if total_frames is None and scheduler.finished:
            scheduler.finish()
            total_frames = scheduler.timeline.total_frames
        chunk = scheduler.audio_between(start, end)
        assert chunk.pts_samples == written  # audio is contiguous, frame by frame
        written += chunk.n_samples
        index += 1
    assert written == clock.frame_start_sample(total_frames)
    duration_s = written / clock.sample_rate_hz
    assert TWO_HOURS_S * 0.9 < duration_s < TWO_HOURS_S * 1.1
    assert abs(total_frames / float(clock.fps) - duration_s) < 1 / float(clock.fps)
    # Every sentence starts exactly where the timeline says, to the sample, even at the end.
    sentences_placed = [s for seg in scheduler.timeline.segments for s in seg.sentences]
    assert len(sentences_placed) == n_lines
    for placed in (sentences_placed[0], sentences_placed[len(sentences_placed) // 2],
                   sentences_placed[-1]):
        clip = tts.synthesize(placed.line.text)
        assert placed.end_samples - placed.start_samples == clip.n_samples
        assert placed.phonemes[0].start_samples == placed.start_samples
        checked += 1
    assert checked == 3


def test_mp4_durations_match_after_minutes(tmp_path: Path) -> None:
    clock = MediaClock(Fraction(30000, 1001))
    path = tmp_path / "long.mp4"
    writer = Mp4Writer(path, 32, 32, clock.fps)
    n_frames = clock.frames_covering(5 * 60 * clock.sample_rate_hz)
    yuv = np.full((48, 32), 128, np.uint8)
    rng = np.random.default_rng(0)
    for i in range(n_frames):
        start, end = clock.frame_start_sample(i), clock.frame_start_sample(i + 1)
        writer.write_yuv420p(i, yuv)
        writer.write_audio(AudioChunk(start, (rng.standard_normal(end - start) * 0.05)
                                      .astype(np.float32), clock.sample_rate_hz))
    writer.close()
    info = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)],
        check=True, capture_output=True, text=True).stdout)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert int(video["nb_frames"]) == n_frames
    assert abs(float(video["duration"]) - float(audio["duration"])) <= 1001 / 30000
    assert float(video["duration"]) == pytest.approx(n_frames * 1001 / 30000, abs=1e-3)
