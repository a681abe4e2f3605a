"""Face motion: phoneme timeline (+ optional audio) → per-frame FaceParams, with idle life.

Mouth: every sounding segment contributes its viseme target with a weight that is its
dominance × (its box span convolved with a Gaussian, averaged over the frame's samples). The
Gaussian gives co-articulation (neighbours blend over ~50–80 ms) with zero lag, and averaging
over the frame (closed form, via the integral of the normal CDF) removes aliasing. Time not
covered by any segment is silence (all targets 0) with its own dominance, so the mouth closes in
pauses and rests closed outside speech. Bilabials (p b m) additionally force full lip closure for
the whole frame(s) they occur in through a cone-shaped jaw limit whose slope keeps frame-to-frame
jaw steps small. If audio is supplied, the jaw target of every <= 40 ms piece of a segment is
scaled by the audio's zero-phase smoothed loudness over that piece, before blending, and the
sentence's spans are first shifted (<= 60 ms) to best line up with that loudness. A sentence
with no phoneme alignments can instead bring a MouthTrack (audio-to-face model output,
add_mouth_track): over the part of a frame it covers, the mouth is the track's frame average.

All state is either immutable per sentence or generated in time order from seeded generators,
so frame i is a pure function of (seed, inputs, i); data older than a few seconds is dropped.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter1d
from scipy.special import ndtr

from studio.core.clock import MediaClock
from studio.face.idle import IdleLife
from studio.face.params import FaceParams
from studio.face.visemes import (
    JAW,
    N_MOUTH,
    PRESS,
    PUCKER,
    SILENCE_DOMINANCE,
    SMILE,
    STRETCH,
    TONGUE,
    Kind,
    Segment,
    build_segments,
)
from studio.voice.types import PhonemeSpan

if TYPE_CHECKING:
    from studio.face.a2f import AudioToFace, MouthTrack

ACTIVE = N_MOUTH  # extra column: 1 while a sound plays, used to fade the resting smile out
N_COLS = N_MOUTH + 1

# Co-articulation kernel widths (Gaussian sigma) per column: jaw, pucker, press, stretch, smile,
# tongue, active. The jaw's sigma is what bounds its frame-to-frame step (< 0.35 at 30 fps).
SIGMA_S: tuple[float, ...] = (0.033, 0.035, 0.015, 0.030, 0.035, 0.015, 0.050)
_SIL_DOM = np.array([*SILENCE_DOMINANCE, 1.0], dtype=np.float64)

JAW_CLOSE_RAMP_S = 0.110
"""Around a bilabial closure the jaw may open at most 1/ramp per second (cone limit)."""
PRESS_RAMP_S = 0.050
"""Lip press falls from 1 to 0 over this time either side of a bilabial closure."""

SPEAKING_SIGMA_S = 0.30
"""Smoothing of the sentence-level 'is speaking' factor that livens head motion."""

GAIN_HOP_S = 0.005
GAIN_SIGMA_S = 0.010
GAIN_PIECE_S = 0.040
GAIN_EXPONENT = 0.6
"""Loudness → jaw gain: (rms / ref) ** 0.6, clipped to 1; ref ≈ the sentence's loud level."""

MAX_ALIGN_SHIFT_S = 0.060
"""With audio, phoneme spans may be moved by up to this much to line the vowels up with the
loudness (TTS duration alignments can sit a few tens of ms off the actual sound)."""

KEEP_S = 3.0
"""Speech data ending this long before the current frame is dropped."""

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Block:
    """One sentence, ready for evaluation (arrays sorted by time, samples as float64)."""

    speech_start_samples: int
    speech_end_samples: int
    seg_start: FloatArray  # (K,)
    seg_end: FloatArray  # (K,)
    targets: FloatArray  # (K, N_COLS)
    dominance: FloatArray  # (K, N_COLS)
    core_start: FloatArray  # (M,) bilabial closure spans
    core_end: FloatArray  # (M,)


@dataclass(frozen=True, slots=True)
class _TrackBlock:
    """A sentence whose mouth comes from audio (a MouthTrack), over [start, end) samples."""

    speech_start_samples: int
    speech_end_samples: int
    track: MouthTrack
    columns: tuple[tuple[int, int], ...]  # (track column, mouth column)


_TRACK_COLUMNS = {"jaw_open": JAW, "lip_pucker": PUCKER, "lip_press": PRESS,
                  "lip_stretch": STRETCH, "smile": SMILE, "tongue_up": TONGUE}


def _ramp_integral(u: FloatArray) -> FloatArray:
    """∫_{-∞}^{u} Φ(v) dv = u·Φ(u) + φ(u): integrates the smoothed box edge over a frame."""
    out: FloatArray = u * ndtr(u) + _INV_SQRT_2PI * np.exp(-0.5 * u * u)
    return out


def _loudness_gain(audio: npt.NDArray[np.float32], hop: int, sigma_hops: float) -> FloatArray:
    """Zero-phase smoothed RMS per hop, mapped to a 0..1 jaw gain relative to the loud level."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    n_hops = -(-x.shape[0] // hop)
    padded = np.zeros(n_hops * hop, dtype=np.float64)
    padded[: x.shape[0]] = x
    env = np.sqrt(np.mean(padded.reshape(n_hops, hop) ** 2, axis=1))
    env = gaussian_filter1d(env, sigma=sigma_hops, mode="constant")
    peak = float(env.max()) if env.size else 0.0
    if peak < 1e-5:  # digital silence: the mouth follows the audio and stays shut
        return np.zeros_like(env)
    loud = env[env >= 0.1 * peak]
    ref = 0.8 * float(np.percentile(loud, 90))
    gain: FloatArray = np.clip(env / ref, 0.0, 1.0) ** GAIN_EXPONENT
    return gain


def _alignment_shift(segments: list[Segment], gain: FloatArray, gain_start_samples: int,
                     hop: int, max_shift_samples: int) -> int:
    """Shift (samples) that best lines the phoneme jaw targets up with the audio loudness.

    Cross-correlates the un-smoothed jaw-target curve with the loudness gain over +-max shift
    and returns the best lag when the match is clear; 0 otherwise (e.g. silent/flat audio).
    """
    n = int(gain.shape[0])
    max_lag = max_shift_samples // hop
    if n < 4 * max_lag + 4:
        return 0
    curve = np.zeros(n)
    for seg in segments:
        i0 = min(max((seg.start_samples - gain_start_samples) // hop, 0), n)
        i1 = min(max((seg.end_samples - gain_start_samples) // hop, 0), n)
        curve[i0:i1] = seg.target[JAW]
    x = curve - curve.mean()
    y = gain - gain.mean()
    norm = float(np.sqrt(np.dot(x, x) * np.dot(y, y)))
    if norm <= 1e-12:
        return 0
    # score[k]: curve moved k hops earlier vs the loudness (k > 0: phonemes are late).
    lags = range(-max_lag, max_lag + 1)
    scores = [float(np.dot(x[max(k, 0): n + min(k, 0)], y[max(-k, 0): n - max(k, 0)])) / norm
              for k in lags]
    best = int(np.argmax(scores))
    if scores[best] < 0.3 or scores[best] - scores[max_lag] < 0.01:
        return 0
    return -lags[best] * hop


class FaceMotion:
    """Per-frame face parameters from sentences of phonemes, plus idle life, for one host."""

    def __init__(self, clock: MediaClock, seed: int = 0) -> None:
        self._clock = clock
        self._rate = clock.sample_rate_hz
        self._sigma_samples = np.array(SIGMA_S, dtype=np.float64) * self._rate
        self._margin_samples = 4.5 * float(self._sigma_samples.max())
        self._blocks: deque[_Block] = deque()
        self._tracks: deque[_TrackBlock] = deque()
        self._idle = IdleLife(seed)
        self._gesture_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x6E57]))
        self._gain_hop = max(1, round(GAIN_HOP_S * self._rate))
        self._last_frame_start = -1
        self._a2f: AudioToFace | None = None

    # ------------------------------------------------------------------ input
    def add_speech(self, phonemes: Sequence[PhonemeSpan],
                   audio: npt.NDArray[np.float32] | None = None,
                   audio_start_samples: int = 0) -> None:
        """Append one sentence (absolute sample spans, in time order) and optional audio.

        A voice that gives no alignments (no phonemes, but audio) gets its mouth from the
        audio-to-face model instead, heard over the whole sentence."""
        segments = build_segments(phonemes, self._rate)
        if not segments:
            if not any(True for _ in phonemes) and audio is not None and \
                    np.asarray(audio).size > 0:
                self.add_mouth_track(self._audio_to_face().track(audio, self._rate),
                                     audio_start_samples)
            return
        gain: FloatArray | None = None
        if audio is not None and np.asarray(audio).size > 0:
            gain = _loudness_gain(audio, self._gain_hop, GAIN_SIGMA_S * self._rate / self._gain_hop)
            shift = _alignment_shift(segments, gain, audio_start_samples, self._gain_hop,
                                     round(MAX_ALIGN_SHIFT_S * self._rate))
            for seg in segments:
                seg.start_samples += shift
                seg.end_samples += shift
        seg_start, seg_end, targets, dominance = self._segment_arrays(
            segments, gain, audio_start_samples)

        cores = [self._closure_core(s) for s in segments if s.kind is Kind.BILABIAL]
        block = _Block(
            speech_start_samples=int(seg_start[0]),
            speech_end_samples=int(seg_end[-1]),
            seg_start=seg_start, seg_end=seg_end, targets=targets, dominance=dominance,
            core_start=np.array([c[0] for c in cores], dtype=np.float64),
            core_end=np.array([c[1] for c in cores], dtype=np.float64),
        )
        if self._blocks and block.speech_start_samples < self._blocks[-1].speech_start_samples:
            self._blocks = deque(sorted([*self._blocks, block],
                                        key=lambda b: b.speech_start_samples))
        else:
            self._blocks.append(block)
        self._add_gestures(segments)

    def _audio_to_face(self) -> AudioToFace:
        """The audio-to-face model, loaded on first need (a missing model is a clear error)."""
        if self._a2f is None:
            from studio.face.a2f import AudioToFace

            self._a2f = AudioToFace()
        return self._a2f

    def add_mouth_track(self, track: MouthTrack, start_samples: int) -> None:
        """Append a sentence that has no phoneme alignments: its mouth follows ``track`` (from
        the audio-to-face model, time 0 = ``start_samples``), frame-averaged like phoneme
        sentences; outside it the mouth closes as in any pause."""
        if track.n_hops == 0:
            return
        start = start_samples + round(track.start_s * self._rate)
        end = start + round(track.duration_s * self._rate)
        cols = tuple((i, _TRACK_COLUMNS[n]) for i, n in enumerate(track.names)
                     if n in _TRACK_COLUMNS)
        self._tracks.append(_TrackBlock(start, end, track, cols))
        self._tracks = deque(sorted(self._tracks, key=lambda b: b.speech_start_samples))

    def _segment_arrays(self, segments: list[Segment], gain: FloatArray | None,
                        gain_start_samples: int
                        ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Segment spans, targets and dominances as arrays; with audio, the jaw target of each
        piece (segments cut into <= GAIN_PIECE_S) is scaled by the loudness over that piece.

        Scaling targets *before* the co-articulation blend keeps the jaw's frame-to-frame step
        bounded by the kernel, which a per-frame product of two rising edges would not.
        """
        starts: list[int] = []
        ends: list[int] = []
        rows_t: list[list[float]] = []
        rows_d: list[list[float]] = []
        piece = max(1, round(GAIN_PIECE_S * self._rate))
        hop = self._gain_hop
        for seg in segments:
            n_pieces = 1 if gain is None else max(1, -(-(seg.end_samples - seg.start_samples)
                                                      // piece))
            length = seg.end_samples - seg.start_samples
            for p in range(n_pieces):
                a = seg.start_samples + length * p // n_pieces
                b = seg.start_samples + length * (p + 1) // n_pieces
                target = [*seg.target, 1.0]
                if gain is not None:
                    i0 = min(max((a - gain_start_samples) // hop, 0), gain.shape[0])
                    i1 = min(max(-(-(b - gain_start_samples) // hop), i0 + 1), gain.shape[0])
                    level = float(gain[i0:i1].mean()) if i1 > i0 else 1.0
                    target[JAW] *= level
                starts.append(a)
                ends.append(b)
                rows_t.append(target)
                rows_d.append([*seg.dominance, 1.0])
        return (np.array(starts, dtype=np.float64), np.array(ends, dtype=np.float64),
                np.array(rows_t, dtype=np.float64), np.array(rows_d, dtype=np.float64))

    def _closure_core(self, seg: Segment) -> tuple[int, int]:
        """Span of full lip closure: the bilabial itself plus the whole frame at its centre."""
        frame = self._clock.frame_at_sample(seg.center_samples)
        return (min(seg.start_samples, self._clock.frame_start_sample(frame)),
                max(seg.end_samples, self._clock.frame_start_sample(frame + 1)))

    def _add_gestures(self, segments: list[Segment]) -> None:
        """Nods and brow raises on stressed syllables and at sentence starts (seeded, sparse)."""
        rng = self._gesture_rng
        vowels = [s for s in segments if s.kind is Kind.VOWEL]
        if not vowels:
            return
        rate = float(self._rate)
        if rng.random() < 0.5:  # raise the brows as the sentence starts
            t = vowels[0].start_samples / rate
            self._idle.brows.add(t - 0.10, 0.12, 0.10, float(rng.uniform(0.3, 0.5)),
                                 float(rng.uniform(0.25, 0.5)))
        for vowel in vowels:
            if vowel.stress == 0:
                continue
            t = vowel.center_samples / rate
            primary = vowel.stress == 1
            if rng.random() < (0.5 if primary else 0.2):
                # Nod (pitch down) leading the stressed vowel slightly, as speakers do.
                self._idle.nods.add(t - 0.20, 0.15, 0.03, 0.22,
                                    float(rng.uniform(0.010, 0.022)) * (1.0 if primary else 0.6))
            if primary and rng.random() < 0.15:
                self._idle.brows.add(t - 0.12, 0.12, 0.08, float(rng.uniform(0.3, 0.45)),
                                     float(rng.uniform(0.2, 0.4)))

    # ------------------------------------------------------------------ output
    def cut_speech(self, at_samples: int) -> None:
        """Silence everything from ``at_samples`` on (an interrupted sentence): the mouth
        closes there as it would at a pause."""
        blocks = (_cut_block(b, at_samples) for b in self._blocks)
        self._blocks = deque(b for b in blocks if b is not None)
        self._tracks = deque(
            _TrackBlock(t.speech_start_samples, min(t.speech_end_samples, at_samples), t.track,
                        t.columns)
            for t in self._tracks if t.speech_start_samples < at_samples)

    def params_at_frame(self, frame_index: int) -> FaceParams:
        """Face parameters for the frame starting at clock.frame_start_sample(frame_index)."""
        s0 = self._clock.frame_start_sample(frame_index)
        s1 = self._clock.frame_start_sample(frame_index + 1)
        self._prune(s0)
        mid = 0.5 * (s0 + s1)
        mouth = self._mouth(s0, s1)
        if self._tracks:
            self._blend_tracks(mouth, s0, s1)
        jaw_limit, press_floor = self._closure(mid)
        speaking = self._speaking(mid)
        idle = self._idle.sample(s0 / self._rate, s1 / self._rate, speaking)

        active = min(max(mouth[ACTIVE], 0.0), 1.0)
        jaw = min(mouth[JAW], jaw_limit)
        press = max(mouth[PRESS], press_floor)
        smile = idle.smile_rest * (1.0 - active) + mouth[SMILE]

        def unit(v: float) -> float:
            return min(max(v, 0.0), 1.0)

        return FaceParams(
            jaw_open=unit(jaw),
            lip_pucker=unit(mouth[PUCKER]),
            lip_press=unit(press),
            lip_stretch=unit(mouth[STRETCH]),
            smile=unit(smile),
            tongue_up=unit(mouth[TONGUE]),
            blink_left=unit(idle.blink_left),
            blink_right=unit(idle.blink_right),
            brow_raise=unit(idle.brow_raise),
            head_yaw_rad=idle.head_yaw_rad,
            head_pitch_rad=idle.head_pitch_rad,
            head_roll_rad=idle.head_roll_rad,
            gaze_x=idle.gaze_x,
            gaze_y=idle.gaze_y,
            breath=unit(idle.breath),
        )

    def _prune(self, s0: int) -> None:
        if s0 < self._last_frame_start:
            return  # backward seek: keep what we have (dropped sentences stay dropped)
        self._last_frame_start = s0
        horizon = s0 - KEEP_S * self._rate
        while self._blocks and self._blocks[0].speech_end_samples < horizon:
            self._blocks.popleft()
        while self._tracks and self._tracks[0].speech_end_samples < horizon:
            self._tracks.popleft()

    def _blend_tracks(self, mouth: list[float], s0: int, s1: int) -> None:
        """Where audio-driven sentences cover part of the frame, that part shows their mouth
        (frame average of the track); the rest keeps the phoneme/silence mouth."""
        span = float(s1 - s0)
        for blk in self._tracks:
            if blk.speech_start_samples >= s1:
                break
            a, b = max(s0, blk.speech_start_samples), min(s1, blk.speech_end_samples)
            if b <= a:
                continue
            cover = (b - a) / span
            start = blk.speech_start_samples
            t0 = blk.track.start_s
            vals = blk.track.mean_over(t0 + (a - start) / self._rate,
                                       t0 + (b - start) / self._rate)
            for c in range(N_COLS):
                mouth[c] *= 1.0 - cover
            for i, c in blk.columns:
                mouth[c] += cover * float(vals[i])
            mouth[ACTIVE] += cover

    def _mouth(self, s0: int, s1: int) -> list[float]:
        """Dominance-weighted, frame-averaged Gaussian blend of the segment targets."""
        lo, hi = s0 - self._margin_samples, s1 + self._margin_samples
        num = np.zeros(N_COLS)
        den = np.zeros(N_COLS)
        covered = np.zeros(N_COLS)
        sigma = self._sigma_samples
        scale = sigma / float(s1 - s0)
        for blk in self._blocks:
            if blk.speech_start_samples > hi:
                break
            if blk.speech_end_samples < lo:
                continue
            a = int(np.searchsorted(blk.seg_end, lo, side="right"))
            b = int(np.searchsorted(blk.seg_start, hi, side="left"))
            if a >= b:
                continue
            starts = blk.seg_start[a:b, None]
            ends = blk.seg_end[a:b, None]
            u = np.stack((s1 - starts, s0 - starts, s1 - ends, s0 - ends)) / sigma
            r = _ramp_integral(u)
            w = np.maximum((r[0] - r[1] - r[2] + r[3]) * scale, 0.0)  # (k, N_COLS)
            wd = w * blk.dominance[a:b]
            num += (wd * blk.targets[a:b]).sum(axis=0)
            den += wd.sum(axis=0)
            covered += w.sum(axis=0)
        total = den + np.maximum(1.0 - covered, 0.0) * _SIL_DOM
        out: list[float] = (num / np.maximum(total, 1e-12)).tolist()
        return out

    def _closure(self, mid: float) -> tuple[float, float]:
        """(jaw upper limit, lip-press lower limit) from the nearest bilabial closure."""
        best = math.inf
        reach = JAW_CLOSE_RAMP_S * self._rate
        for blk in self._blocks:
            if blk.speech_start_samples > mid + reach:
                break
            if blk.speech_end_samples < mid - reach or blk.core_start.size == 0:
                continue
            i = int(np.searchsorted(blk.core_end, mid - reach, side="left"))
            j = int(np.searchsorted(blk.core_start, mid + reach, side="right"))
            for c0, c1 in zip(blk.core_start[i:j].tolist(), blk.core_end[i:j].tolist(),
                              strict=True):
                best = min(best, max(c0 - mid, mid - c1, 0.0))
        if best == math.inf:
            return math.inf, 0.0
        dist_s = best / self._rate
        return dist_s / JAW_CLOSE_RAMP_S, max(1.0 - dist_s / PRESS_RAMP_S, 0.0)

    def _speaking(self, mid: float) -> float:
        """Smoothed 0..1 'a sentence is being spoken' factor for livelier head motion."""
        sigma = SPEAKING_SIGMA_S * self._rate
        reach = 4.0 * sigma
        total = 0.0
        for blk in self._blocks:
            if blk.speech_start_samples > mid + reach:
                break
            if blk.speech_end_samples < mid - reach:
                continue
            a = (mid - blk.speech_start_samples) / (sigma * math.sqrt(2.0))
            b = (mid - blk.speech_end_samples) / (sigma * math.sqrt(2.0))
            total += 0.5 * (math.erf(a) - math.erf(b))
        for trk in self._tracks:
            if trk.speech_start_samples > mid + reach:
                break
            if trk.speech_end_samples < mid - reach:
                continue
            a = (mid - trk.speech_start_samples) / (sigma * math.sqrt(2.0))
            b = (mid - trk.speech_end_samples) / (sigma * math.sqrt(2.0))
            total += 0.5 * (math.erf(a) - math.erf(b))
        return min(total, 1.0)

    def buffer_sizes(self) -> dict[str, int]:
        """Diagnostics: how many items each internal buffer holds (constant over long runs)."""
        sizes = {"sentences": len(self._blocks), "audio_sentences": len(self._tracks),
                 "segments": sum(int(b.seg_start.shape[0]) for b in self._blocks)}
        sizes.update(self._idle.buffer_sizes())
        return sizes


def _cut_block(block: _Block, at_samples: int) -> _Block | None:
    """The part of a sentence before ``at_samples`` (None if nothing of it remains)."""
    if block.speech_start_samples >= at_samples:
        return None
    at = float(at_samples)
    keep = block.seg_start < at
    cores = block.core_start < at
    return _Block(
        block.speech_start_samples, min(block.speech_end_samples, at_samples),
        block.seg_start[keep], np.minimum(block.seg_end[keep], at),
        block.targets[keep], block.dominance[keep],
        block.core_start[cores], np.minimum(block.core_end[cores], at))
