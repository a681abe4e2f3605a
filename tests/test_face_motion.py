"""Face motion: visemes, co-articulation, silence closure, audio following and idle life.

All timelines here are synthetic (Piper-like spans with '^', stress marks, word gaps, punctuation
and '$'); the real TTS is never run. Every check is on numbers computed from the frames.
"""

from __future__ import annotations

import time
from dataclasses import fields
from fractions import Fraction

import numpy as np
import pytest

from studio.core.clock import MediaClock
from studio.face.motion import FaceMotion
from studio.face.params import FaceParams
from studio.face.visemes import Kind, build_segments, viseme_for
from studio.voice.types import PhonemeSpan

RATE = 48_000
FPS30 = MediaClock(Fraction(30), RATE)
MOUTH = ("jaw_open", "lip_pucker", "lip_press", "lip_stretch", "tongue_up")
VOWELS = list("aɑæʌəɛɪiuoʊɔe")
OPEN_VOWELS = set("aɑæʌ")
ROUNDED_VOWELS = set("uoɔ")
CONSONANTS = ["p", "b", "m", "t", "d", "n", "l", "s", "z", "f", "v", "k", "ɡ", "h", "w", "ɹ",
              "j", "ð", "θ", "ʃ", "tʃ", "dʒ", "ŋ"]

# The `show` fixture: motion, its sentences and the rendered frames.
Show = tuple[FaceMotion, list[list[PhonemeSpan]], list[FaceParams]]


def s2n(seconds: float) -> int:
    return round(seconds * RATE)


def spans(items: list[tuple[str, float]], start: int) -> tuple[list[PhonemeSpan], int]:
    """Lay out (symbol, seconds) back to back from `start`; returns spans and the end sample."""
    out: list[PhonemeSpan] = []
    t = start
    for sym, dur in items:
        n = s2n(dur)
        out.append(PhonemeSpan(sym, t, t + n))
        t += n
    return out, t


def random_sentence(rng: np.random.Generator, n_words: int,
                    vowel_s: tuple[float, float] = (0.06, 0.18)) -> list[tuple[str, float]]:
    """A Piper-like sentence: ^, words of CV(C) syllables with stress marks and gaps, '.', $."""
    items: list[tuple[str, float]] = [("^", 0.05)]
    for w in range(n_words):
        for syl in range(int(rng.integers(1, 4))):
            if rng.random() < 0.8:
                items.append((str(rng.choice(CONSONANTS)), float(rng.uniform(0.03, 0.09))))
            if syl == 0 and rng.random() < 0.6:
                items.append(("ˈ" if rng.random() < 0.7 else "ˌ", 0.0))
            items.append((str(rng.choice(VOWELS)), float(rng.uniform(*vowel_s))))
            if rng.random() < 0.15:
                items.append(("ː", 0.0))
            if rng.random() < 0.4:
                items.append((str(rng.choice(CONSONANTS)), float(rng.uniform(0.03, 0.09))))
        if w < n_words - 1:
            if rng.random() < 0.1:
                items.append((",", float(rng.uniform(0.2, 0.35))))
            items.append((" ", float(rng.uniform(0.0, 0.06))))
    items += [(str(rng.choice([".", "!", "?"])), float(rng.uniform(0.15, 0.3))), ("$", 0.05)]
    return items


def speech_audio(phonemes: list[PhonemeSpan], rng: np.random.Generator,
                 loudness: dict[int, float] | None = None) -> np.ndarray:
    """Noise bursts shaped like speech: loud on vowels (per-vowel level), faint on consonants."""
    start, end = phonemes[0].start_samples, phonemes[-1].end_samples
    env = np.zeros(end - start)
    for idx, p in enumerate(phonemes):
        a, b = p.start_samples - start, p.end_samples - start
        kind = viseme_for(p.phoneme).kind
        if kind is Kind.VOWEL:
            level = loudness.get(idx, 0.3) if loudness else float(rng.uniform(0.1, 0.5))
        elif kind in (Kind.CONSONANT, Kind.BILABIAL):
            level = 0.03
        else:
            level = 0.0
        env[a:b] = level
    ramp = np.hanning(s2n(0.02))
    env = np.convolve(env, ramp / ramp.sum(), mode="same")
    return (env * rng.standard_normal(env.shape[0])).astype(np.float32)


def frame_rms(clock: MediaClock, audio: np.ndarray, start: int, n_frames: int) -> np.ndarray:
    """Audio RMS over each frame's samples, on the same clock (0 outside the audio)."""
    out = np.zeros(n_frames)
    for i in range(n_frames):
        a = max(clock.frame_start_sample(i) - start, 0)
        b = max(clock.frame_start_sample(i + 1) - start, 0)
        seg = audio[a:b].astype(np.float64)
        out[i] = float(np.sqrt(np.mean(seg**2))) if seg.size else 0.0
    return out


def render(motion: FaceMotion, n_frames: int, first: int = 0) -> list[FaceParams]:
    return [motion.params_at_frame(i) for i in range(first, first + n_frames)]


def col(frames: list[FaceParams], name: str) -> np.ndarray:
    return np.array([getattr(p, name) for p in frames])


def frames_within(clock: MediaClock, a: int, b: int) -> range:
    """Frames whose whole span lies inside [a, b) samples."""
    first = clock.frame_at_sample(a)
    if clock.frame_start_sample(first) < a:
        first += 1
    last = clock.frame_at_sample(b) - 1
    return range(first, max(first, last + 1))


def frames_touching(clock: MediaClock, a: int, b: int) -> range:
    return range(clock.frame_at_sample(a), clock.frame_at_sample(max(a, b - 1)) + 1)


@pytest.fixture(scope="module")
def show() -> Show:
    """Twelve random sentences with audio and 0.3–1.5 s pauses, rendered at 30 fps."""
    rng = np.random.default_rng(7)
    motion = FaceMotion(FPS30, seed=3)
    sentences: list[list[PhonemeSpan]] = []
    t = s2n(1.0)
    for _ in range(12):
        ph, end = spans(random_sentence(rng, int(rng.integers(3, 9))), t)
        motion.add_speech(ph, speech_audio(ph, rng), ph[0].start_samples)
        sentences.append(ph)
        t = end + s2n(float(rng.uniform(0.3, 1.5)))
    frames = render(motion, FPS30.frame_at_sample(t) + 30)
    return motion, sentences, frames


# ---------------------------------------------------------------- visemes / timeline clean-up

def test_viseme_classes() -> None:
    assert viseme_for("p").target[2] == pytest.approx(1.0) and viseme_for("m").target[0] == 0.0
    for sym in ["^", "$", ".", ",", "!", "?", ";", ":", "—", "…"]:
        vis = viseme_for(sym)
        assert vis.kind is Kind.SILENCE and max(vis.target) == 0.0
    assert viseme_for("a").target[0] > 0.6 and viseme_for("u").target[1] > 0.7
    assert viseme_for("f").target[2] == pytest.approx(0.5)
    assert viseme_for("i").target[3] > 0.4 and viseme_for("l").target[5] > 0.8
    assert viseme_for("tʃ").kind is Kind.CONSONANT and viseme_for("Q").kind is Kind.CONSONANT


def test_markers_fold_into_sounds_and_silence_is_dropped() -> None:
    ph, _ = spans([("^", 0.05), ("h", 0.05), ("ə", 0.06), ("l", 0.06), ("ˈ", 0.005), ("o", 0.1),
                   ("ʊ", 0.08), ("ː", 0.01), (" ", 0.03), ("ð", 0.05), ("ˈ", 0.0), ("ɛ", 0.1),
                   ("ɹ", 0.08), ("!", 0.2), ("$", 0.05)], 0)
    segs = build_segments(ph, RATE)
    assert [s.symbol for s in segs] == ["h", "ə", "l", "o", "ʊ", "ð", "ɛ", "ɹ"]
    o, u, dh = segs[3], segs[4], segs[5]
    assert o.start_samples == ph[4].start_samples and o.stress == 1  # 'ˈ' joins the next sound
    assert u.end_samples >= ph[7].end_samples  # 'ː' lengthens the previous sound
    assert u.end_samples == dh.start_samples  # a short word gap is co-articulated through
    assert segs[6].stress == 1 and segs[0].start_samples == ph[1].start_samples
    # Anticipatory rounding: 'l' before 'o' is already rounded.
    assert segs[2].target[1] > 0.3
    # Fused diphthongs split into two shapes.
    fused = build_segments(spans([("aɪ", 0.2)], 0)[0], RATE)
    assert [s.symbol for s in fused] == ["a", "ɪ"]


# ---------------------------------------------------------------- mouth behaviour

def test_mouth_closed_before_between_and_after_speech(show: Show) -> None:
    _, sentences, frames = show
    mouth_max = np.max(np.stack([col(frames, m) for m in MOUTH]), axis=0)
    first_sound = sentences[0][1].start_samples
    assert mouth_max[: FPS30.frame_at_sample(first_sound - s2n(0.1))].max() < 0.05
    checked = 0
    for ph in sentences:
        sounding = [p for p in ph if viseme_for(p.phoneme).kind in
                    (Kind.VOWEL, Kind.CONSONANT, Kind.BILABIAL)]
        # Every silence longer than 200 ms (punctuation pauses, gaps between sentences): closed
        # from 100 ms after the sound stops until 100 ms before it resumes.
        ends = [p.end_samples for p in sounding]
        starts = [p.start_samples for p in sounding[1:]] + [ph[-1].end_samples + s2n(0.3)]
        for end, nxt in zip(ends, starts, strict=True):
            if nxt - end > s2n(0.2):
                idx = list(frames_within(FPS30, end + s2n(0.1), nxt - s2n(0.1)))
                assert idx and mouth_max[idx].max() < 0.05, (end, nxt, mouth_max[idx])
                checked += 1
    assert checked >= 12
    # And it stays closed after the last sentence.
    last_end = max(p.end_samples for p in sentences[-1] if p.phoneme not in "$.!?")
    tail = frames_within(FPS30, last_end + s2n(0.1), FPS30.frame_start_sample(len(frames)))
    assert len(tail) > 10 and mouth_max[list(tail)].max() < 0.05


def test_every_bilabial_closes_the_lips(show: Show) -> None:
    _, sentences, frames = show
    press, jaw = col(frames, "lip_press"), col(frames, "jaw_open")
    n = 0
    for ph in sentences:
        for p in ph:
            if p.phoneme in ("p", "b", "m"):
                idx = list(frames_touching(FPS30, p.start_samples, p.end_samples))
                assert any(press[i] > 0.8 and jaw[i] < 0.15 for i in idx), (p, press[idx], jaw[idx])
                n += 1
    assert n >= 10


def test_short_bilabial_closes_a_whole_frame() -> None:
    motion = FaceMotion(FPS30)
    ph, _ = spans([("^", 0.2), ("a", 0.15), ("b", 0.02), ("a", 0.15), ("$", 0.3)], 0)
    motion.add_speech(ph)
    frames = render(motion, 30)
    b = ph[2]
    idx = FPS30.frame_at_sample((b.start_samples + b.end_samples) // 2)
    assert frames[idx].lip_press == pytest.approx(1.0) and frames[idx].jaw_open == 0.0
    jaw = col(frames, "jaw_open")
    assert jaw.max() > 0.3 and np.abs(np.diff(jaw)).max() < 0.35


def test_rounded_vowels_pucker_and_open_vowels_open_the_jaw(show: Show) -> None:
    _, sentences, frames = show
    pucker = col(frames, "lip_pucker")
    n_round = 0
    for ph in sentences:
        for p in ph:
            if p.phoneme in ROUNDED_VOWELS and p.end_samples - p.start_samples >= s2n(0.08):
                idx = list(frames_touching(FPS30, p.start_samples, p.end_samples))
                assert pucker[idx].max() > 0.5, (p, pucker[idx])
                n_round += 1
    assert n_round >= 5
    # Without audio (loudness would scale the jaw), in a consonant context.
    motion = FaceMotion(FPS30)
    items = [("^", 0.1)]
    for v in ["a", "ɑ", "æ", "ʌ", "u", "o", "ɔ"]:
        items += [("t", 0.06), ("ˈ", 0.0), (v, 0.11), ("s", 0.06), (" ", 0.02)]
    ph, end = spans([*items, (".", 0.2)], 0)
    motion.add_speech(ph)
    frames = render(motion, FPS30.frame_at_sample(end) + 5)
    jaw, pucker = col(frames, "jaw_open"), col(frames, "lip_pucker")
    for p in ph:
        idx = list(frames_touching(FPS30, p.start_samples, p.end_samples))
        if p.phoneme in OPEN_VOWELS:
            assert jaw[idx].max() > 0.5, (p.phoneme, jaw[idx])
        if p.phoneme in ROUNDED_VOWELS:
            assert pucker[idx].max() > 0.5, (p.phoneme, pucker[idx])


def test_no_pops_jaw_step_bounded_at_30fps(show: Show) -> None:
    _, _, frames = show
    for name in MOUTH:
        steps = np.abs(np.diff(col(frames, name)))
        assert steps.max() < (0.35 if name == "jaw_open" else 1.0), name
    # Also without audio, over many random sentences (weak consonants next to silence etc.).
    rng = np.random.default_rng(11)
    motion = FaceMotion(FPS30, seed=1)
    t = 0
    for _ in range(30):
        ph, t = spans(random_sentence(rng, 5, vowel_s=(0.05, 0.2)), t + s2n(0.2))
        motion.add_speech(ph)
    jaw = col(render(motion, FPS30.frame_at_sample(t)), "jaw_open")
    assert jaw.max() > 0.6 and np.abs(np.diff(jaw)).max() < 0.35


def test_jaw_follows_audio_envelope_within_one_frame() -> None:
    rng = np.random.default_rng(5)
    motion = FaceMotion(FPS30, seed=2)
    items: list[tuple[str, float]] = [("^", 0.2)]
    for _ in range(40):
        items += [(str(rng.choice(["t", "k", "s", "d", "l"])), float(rng.uniform(0.04, 0.08))),
                  (str(rng.choice(["a", "ɑ", "æ", "ʌ", "ɛ", "ə"])), float(rng.uniform(0.1, 0.25)))]
        if rng.random() < 0.2:
            items.append((",", float(rng.uniform(0.15, 0.3))))
    ph, end = spans([*items, (".", 0.3), ("$", 0.1)], s2n(0.5))
    loudness = {i: float(rng.choice([0.04, 0.1, 0.2, 0.4])) for i in range(len(ph))}
    audio = speech_audio(ph, rng, loudness)
    motion.add_speech(ph, audio, ph[0].start_samples)
    n = FPS30.frame_at_sample(end)
    jaw = col(render(motion, n), "jaw_open")
    rms = frame_rms(FPS30, audio, ph[0].start_samples, n)
    x, y = jaw - jaw.mean(), rms - rms.mean()
    lags = range(-5, 6)
    corr = [float(np.dot(x[max(k, 0): n + min(k, 0)], y[max(-k, 0): n - max(k, 0)])) for k in lags]
    best = list(lags)[int(np.argmax(corr))]
    assert abs(best) <= 1, corr
    assert np.corrcoef(x, y)[0, 1] > 0.6
    # Loud vowels open the jaw more than quiet ones.
    peaks: dict[float, list[float]] = {lvl: [] for lvl in (0.04, 0.4)}
    for i, p in enumerate(ph):
        if viseme_for(p.phoneme).kind is Kind.VOWEL and loudness[i] in peaks:
            idx = list(frames_touching(FPS30, p.start_samples, p.end_samples))
            peaks[loudness[i]].append(jaw[idx].max())
    assert np.mean(peaks[0.4]) > 2 * np.mean(peaks[0.04])


def test_late_phoneme_alignment_is_corrected_by_the_audio() -> None:
    """TTS duration alignments can sit tens of ms off the sound; with audio the jaw follows it."""
    clock = MediaClock(Fraction(60), RATE)
    rng = np.random.default_rng(9)
    items: list[tuple[str, float]] = [("^", 0.2)]
    for _ in range(30):
        items += [(str(rng.choice(["t", "k", "s"])), float(rng.uniform(0.04, 0.08))),
                  (str(rng.choice(["a", "æ", "ʌ", "ə"])), float(rng.uniform(0.06, 0.2)))]
    ph, end = spans([*items, (".", 0.3)], s2n(0.5))
    audio = speech_audio(ph, rng)
    late = [p.shifted(s2n(0.045)) for p in ph]  # spans 45 ms after the sound
    n = clock.frame_at_sample(end)

    def lag_frames(motion: FaceMotion) -> int:
        jaw = np.array([motion.params_at_frame(i).jaw_open for i in range(n)])
        rms = frame_rms(clock, audio, ph[0].start_samples, n)
        x, y = jaw - jaw.mean(), rms - rms.mean()
        corr = [float(np.dot(x[max(k, 0): n + min(k, 0)], y[max(-k, 0): n - max(k, 0)]))
                for k in range(-6, 7)]
        return int(np.argmax(corr)) - 6

    without_audio = FaceMotion(clock)
    without_audio.add_speech(late)
    assert lag_frames(without_audio) >= 2  # the misalignment is visible at 60 fps...
    with_audio = FaceMotion(clock)
    with_audio.add_speech(late, audio, ph[0].start_samples)
    assert abs(lag_frames(with_audio)) <= 1  # ...and the audio pulls the mouth back in sync


def test_bilabial_closure_wins_over_loud_audio() -> None:
    rng = np.random.default_rng(1)
    motion = FaceMotion(FPS30)
    ph, end = spans([("^", 0.1), ("a", 0.15), ("m", 0.03), ("a", 0.15), ("p", 0.03),
                     ("a", 0.15), ("$", 0.2)], 0)
    audio = (0.5 * rng.standard_normal(end)).astype(np.float32)  # loud throughout
    motion.add_speech(ph, audio, 0)
    frames = render(motion, FPS30.frame_at_sample(end))
    for p in ph:
        if p.phoneme in "mp":
            idx = FPS30.frame_at_sample((p.start_samples + p.end_samples) // 2)
            assert frames[idx].lip_press > 0.8 and frames[idx].jaw_open < 0.15


def test_silent_audio_keeps_mouth_shut() -> None:
    motion = FaceMotion(FPS30)
    ph, end = spans([("^", 0.1), ("a", 0.3), ("$", 0.1)], 0)
    motion.add_speech(ph, np.zeros(end, dtype=np.float32), 0)
    assert max(p.jaw_open for p in render(motion, 20)) < 0.05


# ---------------------------------------------------------------- idle life

@pytest.fixture(scope="module")
def ten_minutes() -> list[FaceParams]:
    """Ten minutes at 30 fps: speech in the first and last minute, idle in between."""
    rng = np.random.default_rng(3)
    motion = FaceMotion(FPS30, seed=9)
    for start_s in (0.5, 20.0, 560.0, 580.0):
        t = s2n(start_s)
        for _ in range(4):
            ph, t = spans(random_sentence(rng, 6), t + s2n(0.5))
            motion.add_speech(ph)
    return render(motion, 10 * 60 * 30)


def blink_onsets_s(frames: list[FaceParams], fps: float = 30.0) -> np.ndarray:
    closed = col(frames, "blink_left") > 0.5
    onsets = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
    return onsets / fps


def test_blinks_have_natural_random_intervals(ten_minutes: list[FaceParams]) -> None:
    onsets = blink_onsets_s(ten_minutes)
    intervals = np.diff(onsets)
    doubles = intervals < 0.7  # the second lid closure of a double blink
    episodes = np.diff(onsets[np.concatenate(([True], ~doubles))])
    assert 100 <= len(episodes) <= 300
    assert episodes.min() >= 1.5 and episodes.max() <= 7.0
    assert 2.0 <= episodes.mean() <= 6.0 and episodes.std() > 0.3
    assert 0 < doubles.sum() < 0.3 * len(episodes)
    left, right = col(ten_minutes, "blink_left"), col(ten_minutes, "blink_right")
    assert left.max() > 0.9 and np.mean(np.abs(left - right) < 0.05) > 0.97
    # Closure ~100–150 ms: frames with the lid more than half closed per blink.
    assert 2 <= (left > 0.5).sum() / len(onsets) <= 5


def test_head_gaze_breath_move_within_bounds(ten_minutes: list[FaceParams]) -> None:
    for name, bound in (("head_yaw_rad", 0.08), ("head_pitch_rad", 0.05),
                        ("head_roll_rad", 0.04)):
        v = col(ten_minutes, name)
        assert np.abs(v).max() <= bound + 1e-9 and v.std() > bound / 10, name
        assert np.abs(np.diff(v)).max() < bound / 5, name  # smooth, no jumps
    gx, gy = col(ten_minutes, "gaze_x"), col(ten_minutes, "gaze_y")
    assert np.abs(gx).max() <= 0.5 and np.abs(gy).max() <= 0.5
    assert np.mean((np.abs(gx) < 0.1) & (np.abs(gy) < 0.1)) > 0.4  # mostly at the camera
    shifts = np.flatnonzero(np.abs(np.diff(gx)) + np.abs(np.diff(gy)) > 0.02)
    assert len(shifts) > 100
    breath = col(ten_minutes, "breath")
    assert breath.min() < 0.1 and breath.max() > 0.8
    spectrum = np.abs(np.fft.rfft(breath - breath.mean()))
    peak_hz = np.fft.rfftfreq(len(breath), 1 / 30)[int(np.argmax(spectrum))]
    assert 0.2 <= peak_hz <= 0.3


def test_speech_livens_the_face(ten_minutes: list[FaceParams]) -> None:
    smile = col(ten_minutes, "smile")
    idle = slice(40 * 30, 540 * 30)
    assert smile[idle].min() >= 0.2 and smile[idle].max() <= 0.3
    yaw = col(ten_minutes, "head_yaw_rad")
    brow = col(ten_minutes, "brow_raise")
    talk = slice(0, 40 * 30)
    assert brow[talk].max() > 0.2 and brow[idle].max() < 0.1  # raises only come with speech
    assert np.abs(np.diff(yaw[talk])).mean() > np.abs(np.diff(yaw[idle])).mean()


def test_never_frozen(ten_minutes: list[FaceParams]) -> None:
    names = [f.name for f in fields(FaceParams)]
    values = np.array([[getattr(p, n) for n in names] for p in ten_minutes])
    moving = np.any(np.abs(np.diff(values, axis=0)) > 1e-6, axis=1).astype(int)
    window = 60  # two seconds at 30 fps
    per_window = np.convolve(moving, np.ones(window - 1, dtype=int), mode="valid")
    assert per_window.min() > 0


# ---------------------------------------------------------------- determinism, memory, cost

def build_motion(seed: int) -> FaceMotion:
    rng = np.random.default_rng(21)
    motion = FaceMotion(FPS30, seed=seed)
    t = s2n(0.5)
    for _ in range(5):
        ph, t = spans(random_sentence(rng, 5), t + s2n(0.4))
        motion.add_speech(ph, speech_audio(ph, rng), ph[0].start_samples)
    return motion


def test_deterministic_per_seed_and_independent_of_call_pattern() -> None:
    dense = render(build_motion(4), 900)
    assert render(build_motion(4), 900) == dense
    sparse_motion = build_motion(4)
    sparse = [sparse_motion.params_at_frame(i) for i in range(0, 900, 7)]
    assert sparse == dense[::7]
    other = render(build_motion(5), 900)
    assert other != dense
    assert np.abs(col(other, "head_yaw_rad") - col(dense, "head_yaw_rad")).max() > 1e-3
    assert not np.array_equal(blink_onsets_s(other), blink_onsets_s(dense))


def test_other_frame_rates() -> None:
    for fps in (Fraction(25), Fraction(30000, 1001), Fraction(60)):
        clock = MediaClock(fps, RATE)
        motion = FaceMotion(clock)
        ph, end = spans([("^", 0.1), ("m", 0.04), ("a", 0.2), ("p", 0.05), ("$", 0.3)], 0)
        motion.add_speech(ph)
        frames = [motion.params_at_frame(i) for i in range(clock.frame_at_sample(end) + 1)]
        jaw = col(frames, "jaw_open")
        assert jaw.max() > 0.3 and jaw[-1] < 0.05
        for p in (ph[1], ph[3]):
            idx = clock.frame_at_sample((p.start_samples + p.end_samples) // 2)
            assert frames[idx].lip_press > 0.8 and frames[idx].jaw_open < 0.15


def test_memory_bounded_over_an_hour_of_speech() -> None:
    rng = np.random.default_rng(8)
    templates = [random_sentence(rng, int(rng.integers(3, 10))) for _ in range(20)]
    audio = (0.1 * rng.standard_normal(s2n(3.0))).astype(np.float32)
    motion = FaceMotion(FPS30, seed=1)
    t = 0
    sizes: list[int] = []
    while t < s2n(3600.0):
        ph, end = spans(templates[len(sizes) % len(templates)], t)
        motion.add_speech(ph, audio, t)
        motion.params_at_frame(FPS30.frame_at_sample(t))  # playback catches up sentence by sentence
        sizes.append(sum(motion.buffer_sizes().values()))
        t = end + s2n(0.4)
    assert len(sizes) > 700
    assert max(sizes[-100:]) <= max(sizes[:100]) + 50
    assert motion.buffer_sizes()["sentences"] <= 4
    frame = motion.params_at_frame(FPS30.frame_at_sample(t) + 300)
    assert frame.jaw_open == 0.0


def test_params_at_frame_is_cheap() -> None:
    motion = build_motion(0)
    motion.params_at_frame(0)
    n = 1500
    t0 = time.perf_counter()
    for i in range(n):
        motion.params_at_frame(i)
    per_frame_ms = (time.perf_counter() - t0) / n * 1e3
    assert per_frame_ms < 0.5, per_frame_ms
