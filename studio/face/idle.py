"""Idle life: blinks, breathing, head drift, gaze saccades, resting smile, and speech gestures.

A host that never blinks or breathes looks dead on a stream, so these run at all times. Every
channel is a pure function of time for a given seed: smooth signals are sums of seeded sinusoids
(O(1), no state), and discrete events (blinks, saccades) come from a seeded generator that is
consumed strictly in time order, so frame i looks the same however often or sparsely it is asked
for. Only events within a few seconds of "now" are kept, so memory stays constant in a 24 h run.
Times here are float seconds on the engine clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

TAU = 2.0 * math.pi
_SUBSAMPLES = 4  # points per frame averaged for fast events (blink, saccade) to avoid aliasing

# Head motion budget (radians): idle drift + extra while speaking + nods stay inside these bounds.
HEAD_YAW_MAX_RAD = 0.08
HEAD_PITCH_MAX_RAD = 0.05
HEAD_ROLL_MAX_RAD = 0.04
_IDLE_YAW_RAD, _SPEECH_YAW_RAD = 0.060, 0.018
_IDLE_PITCH_RAD, _SPEECH_PITCH_RAD = 0.022, 0.006
_IDLE_ROLL_RAD, _SPEECH_ROLL_RAD = 0.030, 0.008
NOD_MAX_RAD = 0.022


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


class _Sines:
    """Band-limited smooth noise: a weighted sum of sinusoids with seeded frequencies/phases.

    Weights sum to 1, so |value| <= 1 always; that makes the head-angle bounds hard guarantees.
    """

    def __init__(self, rng: np.random.Generator, bands_hz: list[tuple[float, float]]) -> None:
        self._freqs_hz = [float(rng.uniform(lo, hi)) for lo, hi in bands_hz]
        self._phases_rad = [float(rng.uniform(0.0, TAU)) for _ in bands_hz]
        raw = [float(rng.uniform(0.5, 1.0)) for _ in bands_hz]
        total = sum(raw)
        self._weights = [w / total for w in raw]

    def __call__(self, t_s: float) -> float:
        return sum(w * math.sin(TAU * f * t_s + p)
                   for w, f, p in zip(self._weights, self._freqs_hz, self._phases_rad, strict=True))


@dataclass(frozen=True, slots=True)
class _Blink:
    onset_s: float
    close_s: float
    hold_s: float
    open_s: float
    right_lag_s: float  # usually 0: both eyes together
    depth: float

    @property
    def end_s(self) -> float:
        return self.onset_s + abs(self.right_lag_s) + self.close_s + self.hold_s + self.open_s

    def lid(self, t_s: float) -> float:
        """Lid closure at t: fast close, short hold, slower open."""
        u = t_s - self.onset_s
        if u <= 0.0:
            return 0.0
        if u < self.close_s:
            return self.depth * _smoothstep(u / self.close_s)
        u -= self.close_s
        if u < self.hold_s:
            return self.depth
        u -= self.hold_s
        if u < self.open_s:
            return self.depth * (1.0 - _smoothstep(u / self.open_s))
        return 0.0


class BlinkTrack:
    """Blinks every 2–6 s (skewed towards ~3 s), ~12 % doubles, eyes mostly in sync."""

    def __init__(self, seed: np.random.SeedSequence) -> None:
        self._seed = seed
        self._reset()

    def _reset(self) -> None:
        self._rng = np.random.default_rng(self._seed)
        self._events: deque[_Blink] = deque()
        self._next_onset_s = float(self._rng.uniform(0.5, 3.0))
        self._pruned_until_s = -math.inf

    def _make(self, onset_s: float) -> _Blink:
        rng = self._rng
        lag_s = 0.0
        if rng.random() < 0.1:
            lag_s = float(rng.uniform(0.008, 0.02)) * (1.0 if rng.random() < 0.5 else -1.0)
        depth = 1.0 if rng.random() > 0.1 else float(rng.uniform(0.8, 0.95))
        return _Blink(onset_s, float(rng.uniform(0.06, 0.08)), float(rng.uniform(0.02, 0.05)),
                      float(rng.uniform(0.10, 0.16)), lag_s, depth)

    def _extend(self, until_s: float) -> None:
        while self._next_onset_s <= until_s:
            onset = self._next_onset_s
            self._events.append(self._make(onset))
            if self._rng.random() < 0.12:  # double blink
                self._events.append(self._make(onset + float(self._rng.uniform(0.28, 0.40))))
            interval_s = min(2.0 + float(self._rng.gamma(2.0, 0.8)), 6.0)
            self._next_onset_s = onset + interval_s

    def sample(self, t0_s: float, t1_s: float) -> tuple[float, float]:
        """Mean (left, right) lid closure over the frame [t0, t1)."""
        if t0_s < self._pruned_until_s:
            self._reset()  # a backward seek: replay the schedule from the start
        self._extend(t1_s + 1.0)
        while self._events and self._events[0].end_s < t0_s - 1.0:
            self._pruned_until_s = self._events.popleft().end_s + 1.0
        left = right = 0.0
        for blink in self._events:
            if blink.onset_s - 0.05 > t1_s:
                break
            if blink.end_s < t0_s:
                continue
            lag_l = max(-blink.right_lag_s, 0.0)
            lag_r = max(blink.right_lag_s, 0.0)
            for k in range(_SUBSAMPLES):
                t = t0_s + (k + 0.5) / _SUBSAMPLES * (t1_s - t0_s)
                left = max(left, blink.lid(t - lag_l))
                right = max(right, blink.lid(t - lag_r))
        return left, right

    def __len__(self) -> int:
        return len(self._events)


@dataclass(frozen=True, slots=True)
class _Saccade:
    onset_s: float
    duration_s: float
    x: float
    y: float


class GazeTrack:
    """Saccades every 1–4 s; ~65 % of fixations are on (or just off) the camera."""

    def __init__(self, seed: np.random.SeedSequence) -> None:
        self._seed = seed
        self._reset()

    def _reset(self) -> None:
        self._rng = np.random.default_rng(self._seed)
        self._events: deque[_Saccade] = deque()
        self._next_onset_s = float(self._rng.uniform(0.5, 2.0))
        self._base = (0.0, 0.0)  # fixation before the first retained saccade
        self._pruned_until_s = -math.inf

    def _extend(self, until_s: float) -> None:
        rng = self._rng
        while self._next_onset_s <= until_s:
            if rng.random() < 0.65:
                x = float(np.clip(rng.normal(0.0, 0.04), -0.1, 0.1))
                y = float(np.clip(rng.normal(0.0, 0.03), -0.08, 0.08))
            else:
                x = float(rng.uniform(0.12, 0.35)) * (1.0 if rng.random() < 0.5 else -1.0)
                y = float(rng.uniform(-0.18, 0.12))
            prev = self._events[-1] if self._events else None
            px, py = (prev.x, prev.y) if prev is not None else self._base
            amplitude = math.hypot(x - px, y - py)
            self._events.append(_Saccade(self._next_onset_s, 0.025 + 0.08 * amplitude, x, y))
            self._next_onset_s += float(rng.uniform(1.0, 4.0))

    def _at(self, t_s: float) -> tuple[float, float]:
        px, py = self._base
        for sac in self._events:
            if sac.onset_s >= t_s:
                break
            u = _smoothstep((t_s - sac.onset_s) / sac.duration_s)
            px, py = px + (sac.x - px) * u, py + (sac.y - py) * u
        return px, py

    def sample(self, t0_s: float, t1_s: float) -> tuple[float, float]:
        """Mean gaze (x, y) over the frame [t0, t1)."""
        if t0_s < self._pruned_until_s:
            self._reset()
        self._extend(t1_s + 1.0)
        # Drop saccades that are over and superseded; the last one done becomes the base.
        while len(self._events) >= 2 and self._events[1].onset_s + 0.5 < t0_s:
            done = self._events.popleft()
            self._base = (done.x, done.y)
            self._pruned_until_s = self._events[0].onset_s
        sx = sy = 0.0
        for k in range(_SUBSAMPLES):
            x, y = self._at(t0_s + (k + 0.5) / _SUBSAMPLES * (t1_s - t0_s))
            sx += x
            sy += y
        return sx / _SUBSAMPLES, sy / _SUBSAMPLES

    def __len__(self) -> int:
        return len(self._events)


@dataclass(frozen=True, slots=True)
class _Bump:
    start_s: float
    peak_s: float
    hold_s: float
    end_s: float
    amplitude: float

    def at(self, t_s: float) -> float:
        if t_s <= self.start_s or t_s >= self.end_s:
            return 0.0
        if t_s < self.peak_s:
            return self.amplitude * _smoothstep((t_s - self.start_s) / (self.peak_s - self.start_s))
        if t_s < self.peak_s + self.hold_s:
            return self.amplitude
        fall_start = self.peak_s + self.hold_s
        return self.amplitude * (1.0 - _smoothstep((t_s - fall_start) / (self.end_s - fall_start)))


class BumpTrack:
    """Transient gestures (nods, brow raises) added by the speech timeline; value = max of bumps."""

    def __init__(self) -> None:
        self._bumps: deque[_Bump] = deque()

    def add(self, start_s: float, rise_s: float, hold_s: float, fall_s: float,
            amplitude: float) -> None:
        bump = _Bump(start_s, start_s + rise_s, hold_s, start_s + rise_s + hold_s + fall_s,
                     amplitude)
        if self._bumps and bump.start_s < self._bumps[-1].start_s:
            ordered = sorted([*self._bumps, bump], key=lambda b: b.start_s)
            self._bumps = deque(ordered)
        else:
            self._bumps.append(bump)

    def value(self, t_s: float) -> float:
        while self._bumps and self._bumps[0].end_s < t_s - 5.0:
            self._bumps.popleft()
        out = 0.0
        for bump in self._bumps:
            if bump.start_s > t_s:
                break
            out = max(out, bump.at(t_s))
        return out

    def __len__(self) -> int:
        return len(self._bumps)


@dataclass(frozen=True, slots=True)
class IdleState:
    blink_left: float
    blink_right: float
    gaze_x: float
    gaze_y: float
    breath: float
    head_yaw_rad: float
    head_pitch_rad: float
    head_roll_rad: float
    brow_raise: float
    smile_rest: float


class IdleLife:
    """All non-speech motion. `speaking` (0..1) adds livelier head motion while the host talks."""

    def __init__(self, seed: int) -> None:
        root = np.random.SeedSequence([seed, 0x1D1E])
        blink_ss, gaze_ss, smooth_ss = root.spawn(3)
        self.blinks = BlinkTrack(blink_ss)
        self.gaze = GazeTrack(gaze_ss)
        self.nods = BumpTrack()
        self.brows = BumpTrack()
        rng = np.random.default_rng(smooth_ss)
        slow = [(0.04, 0.09), (0.09, 0.17), (0.17, 0.30)]
        lively = [(0.35, 0.60), (0.60, 1.00)]
        self._yaw, self._pitch, self._roll = (_Sines(rng, slow) for _ in range(3))
        self._yaw_talk, self._pitch_talk, self._roll_talk = (_Sines(rng, lively) for _ in range(3))
        self._breath_hz = float(rng.uniform(0.22, 0.28))
        self._breath_mod_hz = float(rng.uniform(0.02, 0.04))
        self._breath_mod_phase = float(rng.uniform(0.0, TAU))
        self._breath_depth = _Sines(rng, [(0.01, 0.03)])
        self._smile = _Sines(rng, [(0.005, 0.02), (0.02, 0.05)])
        self._brow = _Sines(rng, [(0.03, 0.08)])

    def breath(self, t_s: float) -> float:
        """0..1, ~0.25 Hz with ±10 % rate wander and slowly varying depth."""
        # Phase modulation: instantaneous rate = f0 * (1 ± 0.1).
        mod_index = 0.1 * self._breath_hz / self._breath_mod_hz
        phase = TAU * self._breath_hz * t_s + mod_index * math.sin(
            TAU * self._breath_mod_hz * t_s + self._breath_mod_phase)
        depth = 0.85 + 0.15 * self._breath_depth(t_s)
        return depth * (0.5 - 0.5 * math.cos(phase))

    def sample(self, t0_s: float, t1_s: float, speaking: float) -> IdleState:
        tm = 0.5 * (t0_s + t1_s)
        blink_l, blink_r = self.blinks.sample(t0_s, t1_s)
        gaze_x, gaze_y = self.gaze.sample(t0_s, t1_s)
        nod = min(self.nods.value(tm), NOD_MAX_RAD)
        yaw = _IDLE_YAW_RAD * self._yaw(tm) + speaking * _SPEECH_YAW_RAD * self._yaw_talk(tm)
        pitch = (_IDLE_PITCH_RAD * self._pitch(tm)
                 + speaking * _SPEECH_PITCH_RAD * self._pitch_talk(tm) + nod)
        roll = _IDLE_ROLL_RAD * self._roll(tm) + speaking * _SPEECH_ROLL_RAD * self._roll_talk(tm)
        brow = 0.03 * (1.0 + self._brow(tm)) + self.brows.value(tm)
        return IdleState(
            blink_left=blink_l, blink_right=blink_r, gaze_x=gaze_x, gaze_y=gaze_y,
            breath=self.breath(tm),
            head_yaw_rad=min(max(yaw, -HEAD_YAW_MAX_RAD), HEAD_YAW_MAX_RAD),
            head_pitch_rad=min(max(pitch, -HEAD_PITCH_MAX_RAD), HEAD_PITCH_MAX_RAD),
            head_roll_rad=min(max(roll, -HEAD_ROLL_MAX_RAD), HEAD_ROLL_MAX_RAD),
            brow_raise=min(brow, 1.0),
            smile_rest=0.25 + 0.05 * self._smile(tm),
        )

    def buffer_sizes(self) -> dict[str, int]:
        return {"blinks": len(self.blinks), "saccades": len(self.gaze), "nods": len(self.nods),
                "brows": len(self.brows)}
