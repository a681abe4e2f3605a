"""Broadcast loudness: a BS.1770-4 meter, a per-sentence gain and a true-peak limiter.

The program core (shared by the offline render and the live engine) puts every sentence at
the target loudness when it is placed (-16 LUFS integrated, the usual target for streamed
programmes) and limits the program mix to -1 dBTP, so a show sounds the same, sentence to
sentence, on air and in a file.

The meter follows ITU-R BS.1770-4 (K-weighting, 400 ms blocks with 75 % overlap, absolute
gate at -70 LUFS, relative gate at -10 LU); the test suite checks it against ffmpeg's
``ebur128`` filter. The limiter adds no delay: its look-ahead reads the sentences that are
already placed ahead on the clock, so sound and lips stay aligned without shifting anything.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import numpy.typing as npt
from scipy.ndimage import minimum_filter1d
from scipy.signal import firwin, sosfilt

FloatArray = npt.NDArray[np.float64]

TARGET_LUFS = -16.0  # integrated programme loudness (streaming platforms, AES TD1004)
CEILING_DBTP = -1.0  # EBU R128 maximum true peak
PLAYOUT_CHANNELS = 2  # the mono program goes out on both channels of every output (L = R),
# which BS.1770 hears 3 dB louder than the mono signal alone
MAX_SENTENCE_GAIN_DB = 24.0  # a near-silent take is not blown up into noise
MAX_MAKEUP_DB = 3.0  # at most this much more for what the limiter takes off a peaky take
BLOCK_S = 0.4  # BS.1770 gating block
STEP_S = 0.1  # 75 % overlap
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
OVERSAMPLING = 4
TAPS_PER_PHASE = 16


@cache
def k_weighting_sos(sample_rate_hz: int) -> FloatArray:
    """The two K-weighting biquads (head shelf + RLB high-pass) for ``sample_rate_hz``.

    Designed from the analogue prototypes so that any rate works; at 48 kHz the
    coefficients are the ones printed in BS.1770-4."""
    fs = float(sample_rate_hz)
    # Stage 1: high shelf, +4 dB above ~1.7 kHz (the head's acoustic effect).
    gain_db, q, fc = 3.99984385397, 0.7071752369554193, 1681.9744509555319
    k = math.tan(math.pi * fc / fs)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.499666774155
    a0 = 1.0 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0,
             (vh - vb * k / q + k * k) / a0, 1.0, 2.0 * (k * k - 1.0) / a0,
             (1.0 - k / q + k * k) / a0]
    # Stage 2: RLB high-pass at ~38 Hz.
    q, fc = 0.5003270373253953, 38.13547087613982
    k = math.tan(math.pi * fc / fs)
    a0 = 1.0 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, high_pass], dtype=np.float64)


def _k_weighted(samples: npt.ArrayLike, sample_rate_hz: int) -> FloatArray:
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    if x.shape[0] == 0:
        return x
    out: FloatArray = sosfilt(k_weighting_sos(sample_rate_hz), x)
    return out


def _lufs(mean_square: float | FloatArray) -> FloatArray:
    """Loudness of a block's mean square (summed over channels)."""
    with np.errstate(divide="ignore"):
        out: FloatArray = -0.691 + 10.0 * np.log10(np.asarray(mean_square, dtype=np.float64))
    return out


def _block_powers(weighted: FloatArray, sample_rate_hz: int) -> FloatArray:
    """Mean square of each 400 ms block, one every 100 ms (none for a shorter signal)."""
    block = round(BLOCK_S * sample_rate_hz)
    step = round(STEP_S * sample_rate_hz)
    if weighted.shape[0] < block:
        return np.zeros(0, dtype=np.float64)
    csum = np.concatenate(([0.0], np.cumsum(weighted * weighted)))
    starts = np.arange(0, weighted.shape[0] - block + 1, step)
    powers: FloatArray = (csum[starts + block] - csum[starts]) / block
    return np.maximum(powers, 0.0)


def _gated_mean(powers: FloatArray) -> float:
    """BS.1770 two-stage gating over block powers; 0.0 when everything is gated away."""
    powers = powers[_lufs(powers) > ABSOLUTE_GATE_LUFS]
    if powers.size == 0:
        return 0.0
    relative = float(_lufs(float(powers.mean()))) + RELATIVE_GATE_LU
    powers = powers[_lufs(powers) > relative]
    return float(powers.mean()) if powers.size else 0.0


def integrated_loudness(samples: npt.ArrayLike, sample_rate_hz: int,
                        channels: int = 1) -> float:
    """Integrated loudness (LUFS) of a mono signal played identically on ``channels``
    channels (2: the program as every output carries it); -inf when silent or too short."""
    powers = channels * _block_powers(_k_weighted(samples, sample_rate_hz), sample_rate_hz)
    mean = _gated_mean(powers)
    return float(_lufs(mean)) if mean > 0.0 else -math.inf


def sentence_loudness(samples: npt.ArrayLike, sample_rate_hz: int,
                      channels: int = PLAYOUT_CHANNELS) -> float:
    """A sentence's loudness (LUFS) as the program carries it (on ``channels`` channels):
    gated integrated loudness over the take; a take shorter than one 400 ms block (a
    "Wow!") is measured as one block over the whole take."""
    return _take_loudness(_k_weighted(samples, sample_rate_hz), sample_rate_hz, channels)


def _take_loudness(weighted: FloatArray, sample_rate_hz: int, channels: int) -> float:
    if weighted.shape[0] == 0:
        return -math.inf
    powers = _block_powers(weighted, sample_rate_hz)
    if powers.size == 0:
        powers = np.array([float(np.mean(weighted * weighted))])
    mean = _gated_mean(channels * powers)
    return float(_lufs(mean)) if mean > 0.0 else -math.inf


ESTIMATE_DECIMATION = 8  # the limiter's effect on a take is estimated at 6 kHz: ~8x cheaper


def sentence_gain_db(samples: npt.ArrayLike, sample_rate_hz: int,
                     target_lufs: float = TARGET_LUFS,
                     channels: int = PLAYOUT_CHANNELS,
                     ceiling_dbtp: float | None = CEILING_DBTP) -> float:
    """The gain (dB) that puts a sentence at ``target_lufs`` as the program carries it;
    0 for a silent take.

    With ``ceiling_dbtp``, the gain also makes up what the program's limiter will take
    off this take's peaks (a peaky take loses up to ~2 LU to it), so that sentences sound
    equally loud after the limiter, not just before it. The limiter's gain is estimated
    from the take's sample peaks at a lower rate and applied to the K-weighted take (it
    moves slowly next to the weighting filter): a few ms for a 4 s sentence."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    weighted = _k_weighted(x, sample_rate_hz)
    loudness = _take_loudness(weighted, sample_rate_hz, channels)
    if not math.isfinite(loudness):
        return 0.0
    gain_db = float(np.clip(target_lufs - loudness, -MAX_SENTENCE_GAIN_DB,
                            MAX_SENTENCE_GAIN_DB))
    if ceiling_dbtp is None:
        return gain_db
    d = ESTIMATE_DECIMATION
    limiter = TruePeakLimiter(max(1, sample_rate_hz // d), ceiling_dbtp)
    peak = np.abs(x)
    if float(peak.max()) * 10.0 ** (gain_db / 20.0) < limiter.threshold:
        return gain_db  # the limiter will not touch it
    n = x.shape[0]
    env = np.pad(peak, (0, -n % d)).reshape(-1, d).max(axis=1)
    plain_db = gain_db
    for _ in range(2):  # the make-up gain is limited in turn: two steps settle it
        scale = 10.0 ** (gain_db / 20.0)
        curve = np.repeat(10.0 ** (limiter.gain_curve_db(env * scale) / 20.0), d)[:n]
        after = _take_loudness(weighted * (curve * scale), sample_rate_hz, channels)
        if not math.isfinite(after) or abs(target_lufs - after) < 0.05:
            break
        gain_db = float(np.clip(gain_db + target_lufs - after, plain_db,
                                min(plain_db + MAX_MAKEUP_DB, MAX_SENTENCE_GAIN_DB)))
    return gain_db


@cache
def _polyphase() -> FloatArray:
    """The 4x interpolation filter as (phase, tap) for y_p[j] = sum_k h[4k+p] x[j-k]."""
    n_taps = OVERSAMPLING * TAPS_PER_PHASE
    h = firwin(n_taps, 1.0 / OVERSAMPLING, window=("kaiser", 8.0)) * OVERSAMPLING
    return np.asarray(h, dtype=np.float64).reshape(TAPS_PER_PHASE, OVERSAMPLING).T.copy()


def _peak_envelope(x: FloatArray) -> FloatArray:
    """Per input sample, the largest |value| of the 4x oversampled signal within +-7/8 of a
    sample of it (and |x| itself): an inter-sample peak counts for both its neighbours.

    ``x`` carries TAPS_PER_PHASE // 2 samples of context on each side; the result covers
    the samples between. Elementwise only, so the result for a sample does not depend on
    where the array was cut (the limiter's output is the same for any chunking)."""
    half = TAPS_PER_PHASE // 2
    phases = _polyphase()
    n_out = x.shape[0] - 2 * half
    # G(j) = max_p |y_p(j + half - 1)|, needing x[j - half .. j + half - 1]; for the output
    # sample i we need G(i) and G(i + 1).
    n_groups = n_out + 1
    groups = np.zeros(n_groups, dtype=np.float64)
    for p in range(OVERSAMPLING):
        acc = np.zeros(n_groups, dtype=np.float64)
        for k in range(TAPS_PER_PHASE):
            # y_p(j') = sum_k h[4k+p] x[j'-k] with j' = j + half - 1; j runs from the
            # first output sample (x index half) to one past the last.
            lo = 2 * half - 1 - k
            acc += phases[p, k] * x[lo:lo + n_groups]
        np.maximum(groups, np.abs(acc), out=groups)
    env = np.maximum(groups[:-1], groups[1:])
    np.maximum(env, np.abs(x[half:half + n_out]), out=env)
    return env


def true_peak_dbtp(samples: npt.ArrayLike, sample_rate_hz: int = 48_000) -> float:
    """True peak (dBTP) of a mono signal, from a 4x oversampled estimate (BS.1770-4 annex 2)."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    half = TAPS_PER_PHASE // 2
    env = _peak_envelope(np.pad(x, half))
    peak = float(env.max()) if env.size else 0.0
    return 20.0 * math.log10(peak) if peak > 0.0 else -math.inf


def _box_sums(values: FloatArray, width: int) -> FloatArray:
    """Sums of ``width`` consecutive values (len - width + 1 of them); exact for integers."""
    csum = np.concatenate(([0.0], np.cumsum(values)))
    out: FloatArray = csum[width:] - csum[:-width]
    return out


_GRID = float(2 ** 16)  # gains are held on a 1/65536 dB grid: sums of them are exact


class TruePeakLimiter:
    """A streaming true-peak limiter with look-ahead and no delay.

    ``process(pts, chunk, ahead)`` limits ``chunk`` (the samples at ``pts``) given the next
    ``lookahead_samples`` samples as they are known now. The gain never exceeds what keeps
    each sample's oversampled neighbourhood under the ceiling, so nothing passes it; it
    falls over ``attack_s`` before a peak (a triangular, click-free ramp fed by the
    look-ahead) and recovers at ``release_db_per_s``. Every step is elementwise or exact
    (integer sums on a fine dB grid), so the output is bit-for-bit the same whether the
    stream is cut into frame-sized chunks or larger ones.
    """

    def __init__(self, sample_rate_hz: int, ceiling_dbtp: float = CEILING_DBTP,
                 attack_s: float = 0.003, release_db_per_s: float = 40.0,
                 margin_db: float = 0.3) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.ceiling_dbtp = ceiling_dbtp
        # The limiter aims a little under the ceiling: the output's own inter-sample
        # peaks (the gain moves) and an AAC encoder's overshoot stay under it.
        self.threshold = 10.0 ** ((ceiling_dbtp - margin_db) / 20.0)
        self._ramp = max(1, round(attack_s * sample_rate_hz / 2))  # M; hold window 2M - 1
        self._hold = 2 * self._ramp - 1
        self._release = release_db_per_s / sample_rate_hz
        self._half = TAPS_PER_PHASE // 2
        self.lookahead_samples = self._hold - 1 + self._half
        self.reset(0)

    def reset(self, pts_samples: int) -> None:
        """Start afresh at ``pts_samples`` (silence before it, no gain reduction)."""
        self._next_pts = pts_samples
        self._x_history = np.zeros(self._half, dtype=np.float64)
        self._q_history = np.zeros(self._hold - 1, dtype=np.float64)
        self._release_min = math.inf  # min over committed u of (r(u) - u * release)
        self.reduction_db = 0.0  # the deepest gain reduction of the last chunk (for meters)

    def _gain_db(self, pts_samples: int, n: int,
                 env: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Gain (dB) for the ``n`` samples at ``pts_samples`` from the peak envelope of those
        samples and the ``hold - 1`` after them; also the release minima and the release
        curve (with the history before), from which the state is committed."""
        # Required gain r (dB, <= 0), on the grid.
        required = np.zeros(env.shape[0], dtype=np.float64)
        over = env > self.threshold
        if over.any():
            required[over] = np.maximum(
                np.floor(20.0 * np.log10(self.threshold / env[over]) * _GRID) / _GRID, -100.0)
        # Release: q(u) = min over u' <= u of r(u') + (u - u') * release, on absolute time.
        u = np.arange(pts_samples, pts_samples + env.shape[0], dtype=np.float64) * self._release
        running = np.minimum.accumulate(np.concatenate(([self._release_min], required - u)))[1:]
        q = np.minimum(running + u, 0.0)
        q_all = np.concatenate((self._q_history, q))  # from pts - (hold - 1)
        # Attack: hold the minimum over the next `hold` samples, then a triangular average
        # (two boxes of `ramp`) whose every term covers the sample itself, so the gain never
        # exceeds r there. On the grid the sums are exact integers, whatever the chunking.
        held = minimum_filter1d(q_all, self._hold, origin=-(self._hold // 2), mode="nearest")
        held = np.floor(held[:n + self._hold - 1] * _GRID)
        box = _box_sums(_box_sums(held, self._ramp), self._ramp)
        gain_db: FloatArray = box / (_GRID * float(self._ramp * self._ramp))
        return gain_db, running, q_all

    def gain_curve_db(self, envelope: FloatArray) -> FloatArray:
        """The gain (dB) this limiter would give a signal with this peak envelope, heard
        alone from silence (for levelling a take ahead; the stream's state is left as is)."""
        saved = (self._next_pts, self._x_history, self._q_history, self._release_min,
                 self.reduction_db)
        self.reset(0)
        env = np.concatenate((envelope, np.zeros(self._hold - 1)))
        gain_db = self._gain_db(0, envelope.shape[0], env)[0]
        (self._next_pts, self._x_history, self._q_history, self._release_min,
         self.reduction_db) = saved
        return gain_db

    def process(self, pts_samples: int, chunk: npt.ArrayLike,
                ahead: npt.ArrayLike) -> npt.NDArray[np.float32]:
        x_now = np.asarray(chunk, dtype=np.float64).reshape(-1)
        n = x_now.shape[0]
        if pts_samples != self._next_pts:
            self.reset(pts_samples)  # a jump on the clock: nothing before it is known
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        x_ahead = np.zeros(self.lookahead_samples, dtype=np.float64)
        known = np.asarray(ahead, dtype=np.float64).reshape(-1)[:self.lookahead_samples]
        x_ahead[:known.shape[0]] = known
        x = np.concatenate((self._x_history, x_now, x_ahead))
        env = _peak_envelope(x)  # samples [pts, pts + n + hold - 1)
        gain_db, running, q_all = self._gain_db(pts_samples, n, env)
        # Commit the state for the next chunk (only samples up to pts + n are final).
        self._release_min = float(running[n - 1])
        self._q_history = q_all[n:n + self._hold - 1].copy()
        self._x_history = x[n:n + self._half].copy()
        self._next_pts = pts_samples + n
        self.reduction_db = float(gain_db.min())
        out = x_now.copy()
        limited = gain_db < 0.0
        if limited.any():
            out[limited] *= 10.0 ** (gain_db[limited] / 20.0)
        return out.astype(np.float32)


class MicLeveller:
    """Slow automatic gain for the microphone, towards the program's target loudness.

    A human's voice goes on air at the level the AI's sentences have (``target_lufs`` as the
    program carries it), whatever the microphone's gain. Its loudness is measured as BS.1770
    measures a sentence (K-weighting, 400 ms blocks every 100 ms, an absolute gate at
    ``gate_lufs`` and a relative gate 10 LU under the running level) over an exponential
    window of ``window_s``; in pauses and silence the gain holds, so room noise is never
    pumped up. The gain moves towards the target at most ``rate_db_per_s``, sample by sample
    (no steps), within [``min_gain_db``, ``max_gain_db``]; the limiter after the mix still
    catches the peaks. It runs on every microphone chunk, on air or not, so it has settled
    when the human goes on air.
    """

    def __init__(self, sample_rate_hz: int, target_lufs: float = TARGET_LUFS,
                 channels: int = PLAYOUT_CHANNELS, window_s: float = 3.0,
                 gate_lufs: float = -45.0, rate_db_per_s: float = 6.0,
                 min_gain_db: float = -12.0, max_gain_db: float = MAX_SENTENCE_GAIN_DB) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.target_lufs = target_lufs
        self._channels = channels
        self._sos = k_weighting_sos(sample_rate_hz)
        self._zi = np.zeros((self._sos.shape[0], 2), dtype=np.float64)
        self._step = round(STEP_S * sample_rate_hz)
        self._steps_per_block = round(BLOCK_S / STEP_S)
        self._alpha = 1.0 - math.exp(-STEP_S / window_s)
        self._gate_lufs = gate_lufs
        self._rate_db_per_sample = rate_db_per_s / sample_rate_hz
        self._min_gain_db = min_gain_db
        self._max_gain_db = max_gain_db
        self._partial = 0.0  # sum of squares of the step being filled
        self._filled = 0  # its samples so far
        self._steps: list[float] = []  # mean squares of the last steps (one block)
        self._power = 0.0  # windowed mean square of the gated blocks
        self._weight = 0.0  # how much of the window has been heard (0..1)
        self.gain_db = 0.0

    @property
    def loudness_lufs(self) -> float:
        """The microphone's loudness before the gain, as the program carries it."""
        if self._weight <= 0.0 or self._power <= 0.0:
            return -math.inf
        return float(_lufs(self._channels * self._power / self._weight))

    def _measure(self, weighted: FloatArray) -> None:
        squares = weighted * weighted
        at = 0
        while at < squares.shape[0]:
            take = min(self._step - self._filled, squares.shape[0] - at)
            self._partial += float(squares[at:at + take].sum())
            self._filled += take
            at += take
            if self._filled < self._step:
                break
            self._steps = [*self._steps[1 - self._steps_per_block:], self._partial / self._step]
            self._partial, self._filled = 0.0, 0
            if len(self._steps) < self._steps_per_block:
                continue
            block = sum(self._steps) / self._steps_per_block
            lufs = float(_lufs(self._channels * block)) if block > 0.0 else -math.inf
            if lufs > self._gate_lufs and lufs > self.loudness_lufs + RELATIVE_GATE_LU:
                self._power += self._alpha * (block - self._power)
                self._weight += self._alpha * (1.0 - self._weight)

    def process(self, chunk: npt.ArrayLike) -> npt.NDArray[np.float32]:
        x = np.asarray(chunk, dtype=np.float64).reshape(-1)
        n = x.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        weighted, self._zi = sosfilt(self._sos, x, zi=self._zi)
        self._measure(weighted)
        start_db = self.gain_db
        if math.isfinite(self.loudness_lufs):
            wanted = float(np.clip(self.target_lufs - self.loudness_lufs,
                                   self._min_gain_db, self._max_gain_db))
            limit = self._rate_db_per_sample * n
            self.gain_db = start_db + float(np.clip(wanted - start_db, -limit, limit))
        ramp = np.linspace(start_db, self.gain_db, n, endpoint=False)
        return (x * 10.0 ** (ramp / 20.0)).astype(np.float32)
