"""Broadcast loudness: the program is at -16 LUFS, sentence to sentence, with no true peak
over -1 dBTP, as an independent meter (ffmpeg's ebur128 filter) hears it."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from scipy.io import wavfile

from studio.core.clock import MediaClock
from studio.engine.render import RenderSettings, render_show
from studio.program.core import Pacing, ProgramCore
from studio.program.loudness import (
    CEILING_DBTP,
    TARGET_LUFS,
    TruePeakLimiter,
    integrated_loudness,
    sentence_gain_db,
    sentence_loudness,
    true_peak_dbtp,
)
from studio.program.rundown import LineKind, ScriptLine
from studio.show.loader import load_show
from studio.voice.types import SpeechClip

RATE_HZ = 48_000
FRAME = RATE_HZ // 30

SHOW = """
[show]
title = "Loud Show"
language = "en"

[host]
voice = "en_US-joe-medium"

[[products]]
id = "mug"
name = "Coffee Mug"
price = 39.9
currency = "CNY"
script = \"\"\"Wow! This mug costs ¥39.9 today, and it keeps your coffee hot for hours.
Papa bought a big bass boom box. Pick one up now, before they are gone.\"\"\"
"""


def ebur128(path: Path) -> tuple[float, float]:
    """ffmpeg's integrated loudness (LUFS) and true peak (dBTP) of a file's audio."""
    err = subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-vn", "-af",
                          "ebur128=peak=true", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    summary = err[err.rindex("Summary:"):]
    integrated = re.search(r"I:\s+(-?inf|-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?inf|-?[\d.]+) dBFS", summary)
    assert integrated is not None and peak is not None, summary
    return float(integrated.group(1)), float(peak.group(1))


def write_wav(path: Path, samples: npt.NDArray[np.float64] | npt.NDArray[np.float32],
              channels: int = 1) -> Path:
    data = np.asarray(samples, dtype=np.float32)
    wavfile.write(path, RATE_HZ, np.stack([data] * channels, axis=1) if channels > 1 else data)
    return path


def test_meter_agrees_with_ffmpeg_on_test_signals(tmp_path: Path) -> None:
    t = np.arange(RATE_HZ * 6) / RATE_HZ
    rng = np.random.default_rng(7)
    signals: dict[str, npt.NDArray[np.float64]] = {
        "1 kHz at -20 dBFS": 0.1 * np.sin(2 * np.pi * 1000 * t),
        "100 Hz (high-pass)": 0.3 * np.sin(2 * np.pi * 100 * t),
        "5 kHz (shelf)": 0.05 * np.sin(2 * np.pi * 5000 * t),
        "noise": 0.05 * rng.standard_normal((t.shape[0],)),
        # Loud bursts and near-silence: the gates decide what counts.
        "bursts": np.where(t % 1.0 < 0.3, 0.3, 0.002) * np.sin(2 * np.pi * 500 * t),
        "inter-sample peak": 0.5 * np.sin(2 * np.pi * 6000 * t + np.pi / 4),
    }
    for name, x in signals.items():
        for channels in (1, 2):
            path = write_wav(tmp_path / f"{channels}.wav", x, channels)
            ff_lufs, ff_peak = ebur128(path)
            assert abs(integrated_loudness(x, RATE_HZ, channels) - ff_lufs) <= 0.5, name
            assert abs(true_peak_dbtp(x, RATE_HZ) - ff_peak) <= 0.5, name
    # 1 kHz at -20 dBFS peak reads -23 LUFS in mono, 3 dB more on two channels (BS.1770).
    tone = signals["1 kHz at -20 dBFS"]
    assert integrated_loudness(tone, RATE_HZ) == pytest.approx(-23.0, abs=0.1)
    assert integrated_loudness(tone, RATE_HZ, 2) == pytest.approx(-20.0, abs=0.1)
    assert integrated_loudness(np.zeros(RATE_HZ), RATE_HZ) == -np.inf


def test_short_and_silent_takes() -> None:
    t = np.arange(RATE_HZ * 3) / RATE_HZ
    tone = 0.2 * np.sin(2 * np.pi * 800 * t)
    # A "Wow!" shorter than one 400 ms block is measured over the whole take.
    short = tone[: RATE_HZ // 4]
    assert sentence_loudness(short, RATE_HZ) == pytest.approx(
        sentence_loudness(tone, RATE_HZ), abs=0.2)
    assert sentence_gain_db(np.zeros(RATE_HZ, dtype=np.float32), RATE_HZ) == 0.0
    assert sentence_gain_db(np.zeros(0, dtype=np.float32), RATE_HZ) == 0.0


@dataclass
class Rendered:
    video: Path
    audio: npt.NDArray[np.float32]  # one channel (both carry the same)
    spans: list[tuple[int, int, str]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, piper_voice: object) -> Rendered:
    folder = tmp_path_factory.mktemp("loud")
    show_path = folder / "show.toml"
    show_path.write_text(SHOW, encoding="utf-8")
    result = render_show(load_show(show_path), folder / "show.mp4", RenderSettings(320, 180),
                         tts=piper_voice)  # type: ignore[arg-type]
    with av.open(str(result.video_path)) as container:
        audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    timeline = json.loads(result.timeline_path.read_text(encoding="utf-8"))
    spans = [(s["start_sample"], s["end_sample"], s["text"]) for seg in timeline["segments"]
             for s in seg["sentences"]]
    return Rendered(result.video_path, audio.astype(np.float32), spans)


def test_render_is_at_target_with_no_true_peak_over_the_ceiling(rendered: Rendered) -> None:
    ff_lufs, ff_peak = ebur128(rendered.video)
    assert abs(ff_lufs - TARGET_LUFS) <= 1.0
    assert ff_peak <= CEILING_DBTP
    # Studio's meter hears the rendered file as ffmpeg does (stereo, L = R).
    assert abs(integrated_loudness(rendered.audio, RATE_HZ, 2) - ff_lufs) <= 0.5
    assert true_peak_dbtp(rendered.audio, RATE_HZ) <= CEILING_DBTP


def test_every_sentence_is_at_target(rendered: Rendered) -> None:
    assert len(rendered.spans) >= 4
    loudness = {text: sentence_loudness(rendered.audio[a:b], RATE_HZ)
                for a, b, text in rendered.spans}
    assert "Wow!" in loudness  # the short one counts too
    off = {text: round(value - TARGET_LUFS, 2) for text, value in loudness.items()
           if abs(value - TARGET_LUFS) > 1.5}
    assert off == {}


def _core() -> ProgramCore:
    return ProgramCore(MediaClock(Fraction(30)), Pacing(), "t", lambda _pid: "")


def _read(core: ProgramCore, total: int, sizes: list[int]) -> npt.NDArray[np.float32]:
    out, start, i = [], 0, 0
    while start < total:
        end = min(total, start + sizes[i % len(sizes)])
        chunk = core.audio_between(start, end)
        assert chunk.pts_samples == start and chunk.n_samples == end - start
        out.append(chunk.samples)
        start, i = end, i + 1
    return np.concatenate(out)


@pytest.fixture(scope="module")
def take(piper_voice: object) -> SpeechClip:
    clip: SpeechClip = piper_voice.synthesize(  # type: ignore[attr-defined]
        "Papa bought a big bass boom box, and it is loud!")
    return clip


def test_hot_clip_is_limited_without_clipping(take: SpeechClip, tmp_path: Path) -> None:
    hot = (take.audio * np.float32(4.0)).astype(np.float32)  # +12 dB
    assert float(np.abs(hot).max()) > 1.0 and true_peak_dbtp(hot) > 0.0
    core = _core()
    core.mixer.place(1000, hot)  # straight into the mix, not levelled: the limiter alone
    total = 1000 + hot.shape[0] + 2 * FRAME
    heard = _read(core, total, [FRAME])
    assert float(np.abs(heard).max()) < 1.0
    assert true_peak_dbtp(heard) <= CEILING_DBTP
    assert ebur128(write_wav(tmp_path / "hot.wav", heard, 2))[1] <= CEILING_DBTP
    # The gain moves smoothly (no clicks): under 0.5 dB from one sample to the next.
    x = np.zeros(total, dtype=np.float64)
    x[1000:1000 + hot.shape[0]] = hot
    valid = np.abs(x) > 0.01
    gain_db = np.zeros(total)
    gain_db[valid] = 20 * np.log10(np.abs(heard[valid]) / np.abs(x[valid]))
    both = valid[1:] & valid[:-1]
    assert float(gain_db[valid].min()) < -6.0  # it did limit
    assert float(np.abs(np.diff(gain_db)[both]).max()) < 0.5
    # A take under the ceiling passes untouched, sample for sample.
    quiet = (take.audio * np.float32(10 ** (-6 / 20) / np.abs(take.audio).max()))
    core = _core()
    core.mixer.place(0, quiet.astype(np.float32))
    assert np.array_equal(_read(core, quiet.shape[0], [FRAME]), quiet.astype(np.float32))


def test_core_puts_a_hot_take_at_target(take: SpeechClip) -> None:
    core = _core()
    hot = replace(take, audio=(take.audio * np.float32(4.0)).astype(np.float32))
    line = ScriptLine(LineKind.INTRO, None, 0, 0, "Papa bought a big bass boom box.")
    placement = core.place(line, hot, core.earliest_start(line))
    assert placement.gain_db < -6.0
    heard = _read(core, placement.end_samples + FRAME, [FRAME])
    span = heard[placement.start_samples:placement.end_samples]
    assert sentence_loudness(span, RATE_HZ) == pytest.approx(TARGET_LUFS, abs=0.5)
    assert true_peak_dbtp(heard) <= CEILING_DBTP


def test_interrupted_sentence_fade_stays_under_the_ceiling(take: SpeechClip) -> None:
    core = _core()
    placed = core.mixer.place(0, (take.audio * np.float32(4.0)).astype(np.float32))
    total = placed.end_samples
    first = _read(core, total // 2, [FRAME])
    placed.fade_out_at(total // 2 + 200, RATE_HZ // 50)  # cut just after what was read
    rest = [core.audio_between(s, s + FRAME).samples for s in range(total // 2, total, FRAME)]
    heard = np.concatenate([first, *rest])
    assert true_peak_dbtp(heard) <= CEILING_DBTP
    assert float(np.abs(heard[total // 2 + 200 + RATE_HZ // 50:]).max()) == 0.0


def test_limiter_output_does_not_depend_on_chunking(take: SpeechClip) -> None:
    def program(sizes: list[int]) -> npt.NDArray[np.float32]:
        core = _core()
        loud = (take.audio * np.float32(3.0)).astype(np.float32)
        core.mixer.place(500, loud)
        core.mixer.place(500 + loud.shape[0] + 7000, loud)
        return _read(core, 2 * loud.shape[0] + 9000, sizes)

    frames = program([FRAME])
    assert np.array_equal(frames, program([RATE_HZ]))
    assert np.array_equal(frames, program([1, 777, FRAME, 5 * FRAME + 3, 96]))
    assert true_peak_dbtp(frames) <= CEILING_DBTP


def test_limiter_restarts_on_a_jump() -> None:
    limiter = TruePeakLimiter(RATE_HZ)
    loud = np.full(FRAME, 0.99, dtype=np.float32)
    limiter.process(0, loud, loud[: limiter.lookahead_samples])
    out = limiter.process(10 * FRAME, np.zeros(FRAME, dtype=np.float32), np.zeros(0))
    assert not out.any()


def test_the_microphone_leveller_settles_on_speech_and_holds_in_silence(
        take: SpeechClip) -> None:
    from studio.program.loudness import MicLeveller, sentence_loudness

    rate = take.sample_rate_hz
    quiet = (take.audio * np.float32(0.1)).astype(np.float32)  # -20 dB
    leveller = MicLeveller(rate)
    out = np.concatenate([leveller.process(quiet[i:i + 1600])
                          for _ in range(4) for i in range(0, quiet.shape[0], 1600)])
    settled = out[-quiet.shape[0]:]
    assert abs(sentence_loudness(settled, rate) - TARGET_LUFS) <= 1.0
    assert float(np.max(np.abs(np.diff(out)))) < 0.5  # a ramp, never a step
    gain = leveller.gain_db
    hiss = (np.random.default_rng(1).normal(0, 1e-4, 5 * rate)).astype(np.float32)  # -80 dBFS
    for i in range(0, hiss.shape[0], 1600):
        leveller.process(hiss[i:i + 1600])
    assert abs(leveller.gain_db - gain) < 0.5  # pauses are not pumped up into noise
