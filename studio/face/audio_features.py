"""Log-mel features for audio-to-face, the same numbers in training and at run time.

Audio of any rate is first resampled to ``MODEL_RATE_HZ`` by ``Resampler`` (a polyphase
windowed-sinc FIR whose group delay is taken out of the output index, so output sample ``n`` is
the signal at ``n / MODEL_RATE_HZ`` exactly; a stream pays that delay as latency). Frame ``i``
is the 25 ms Hann window that *ends* at ``(i + 1) * HOP`` (zeros before the first sample), so a
frame never looks ahead of the hop it belongs to, and ``StreamingLogMel`` emits frame ``i`` as
soon as its hop has arrived. Batch and streaming paths share every function, so they agree to
float rounding. numpy/scipy only: no torch, no onnxruntime here.
"""

from __future__ import annotations

from functools import cache
from math import gcd

import numpy as np
import numpy.typing as npt
from scipy.signal import firwin

MODEL_RATE_HZ = 16_000
HOP = 160  # 10 ms
WIN = 400  # 25 ms
N_FFT = 512
N_MELS = 80
F_MIN_HZ = 40.0
F_MAX_HZ = 7_600.0
LOG_FLOOR = 1e-6
"""Power floor before the log: digital silence gives log(1e-6) in every bin."""
HOP_S = HOP / MODEL_RATE_HZ

_HALF_TAPS = 16  # taps each side per polyphase branch (at the slower of the two rates)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def _hz_to_mel(f: F64 | float) -> F64:
    return np.asarray(2595.0 * np.log10(1.0 + np.asarray(f) / 700.0), dtype=np.float64)


def _mel_to_hz(m: F64) -> F64:
    return np.asarray(700.0 * (10.0 ** (m / 2595.0) - 1.0), dtype=np.float64)


@cache
def _mel_filterbank(warp_milli: int = 1000) -> F32:
    """(N_FFT//2+1, N_MELS) triangular filters; ``warp`` (x1000) scales the frequency axis
    (vocal-tract-length perturbation: training's stand-in for other voices)."""
    warp = warp_milli / 1000.0
    freqs = np.linspace(0.0, MODEL_RATE_HZ / 2, N_FFT // 2 + 1) * warp
    edges = _mel_to_hz(np.linspace(_hz_to_mel(F_MIN_HZ), _hz_to_mel(F_MAX_HZ), N_MELS + 2))
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    f = freqs[:, None]
    up = (f - lo) / (mid - lo)
    down = (hi - f) / (hi - mid)
    fb = np.maximum(0.0, np.minimum(up, down))
    fb *= (2.0 / (hi - lo))[None, :]  # equal area (Slaney), so levels do not depend on width
    return fb.astype(np.float32)


@cache
def _window() -> F32:
    return np.hanning(WIN + 2)[1:-1].astype(np.float32)


def _frames_to_logmel(frames: F32, warp: float = 1.0) -> F32:
    """(n, WIN) windows of samples -> (n, N_MELS) log power mel spectra."""
    spec = np.fft.rfft(frames * _window(), n=N_FFT, axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    mel = power @ _mel_filterbank(round(warp * 1000))
    out: F32 = np.log(np.maximum(mel, LOG_FLOOR)).astype(np.float32)
    return out


def silence_frame() -> F32:
    """The feature of digital silence (what frames before the first sample look like)."""
    out: F32 = _frames_to_logmel(np.zeros((1, WIN), np.float32))[0]
    return out


def log_mel(audio: npt.ArrayLike, warp: float = 1.0) -> F32:
    """Batch features of ``MODEL_RATE_HZ`` audio: (floor(len / HOP), N_MELS), frame i ending at
    sample (i + 1) * HOP."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    n = x.shape[0] // HOP
    if n == 0:
        return np.zeros((0, N_MELS), np.float32)
    padded = np.concatenate([np.zeros(WIN - HOP, np.float32), x[: n * HOP]])
    idx = np.arange(n)[:, None] * HOP + np.arange(WIN)[None, :]
    return _frames_to_logmel(padded[idx], warp)


class StreamingLogMel:
    """``log_mel`` one chunk at a time: push samples, get the frames whose hop completed."""

    def __init__(self) -> None:
        self._tail = np.zeros(WIN - HOP, np.float32)  # the samples before the next hop
        self._pending = np.zeros(0, np.float32)

    def push(self, samples: npt.ArrayLike) -> F32:
        x = np.concatenate([self._pending, np.asarray(samples, np.float32).reshape(-1)])
        n = x.shape[0] // HOP
        if n == 0:
            self._pending = x
            return np.zeros((0, N_MELS), np.float32)
        buf = np.concatenate([self._tail, x[: n * HOP]])
        idx = np.arange(n)[:, None] * HOP + np.arange(WIN)[None, :]
        out = _frames_to_logmel(buf[idx])
        self._tail = buf[-(WIN - HOP):]
        self._pending = x[n * HOP:]
        return out


class Resampler:
    """Streaming rational resampler (polyphase FIR), any rate to ``out_rate_hz``.

    ``push`` returns every output sample whose filter support has arrived; ``resample`` (batch)
    pushes the whole clip plus the filter's reach of zeros, so both give the same samples.
    ``delay_s`` is how long a stream waits for the filter's look-ahead.
    """

    def __init__(self, in_rate_hz: int, out_rate_hz: int = MODEL_RATE_HZ) -> None:
        if in_rate_hz <= 0:
            raise ValueError(f"sample rate must be positive, got {in_rate_hz}")
        g = gcd(in_rate_hz, out_rate_hz)
        self.in_rate_hz = in_rate_hz
        self.up = out_rate_hz // g
        self.down = in_rate_hz // g
        self.passthrough = self.up == self.down
        m = max(self.up, self.down)
        n_taps = 2 * _HALF_TAPS * m + 1
        cutoff = 0.92 / m  # of the upsampled Nyquist: just under the lower Nyquist
        h = firwin(n_taps, cutoff, window=("kaiser", 7.0)) * self.up
        self._centre = n_taps // 2  # group delay, in upsampled samples
        k = -(-n_taps // self.up)
        padded = np.zeros(k * self.up)
        padded[:n_taps] = h
        # table[p, j] = h[p + j * up]: output at upsampled time t uses x[t // up - j] * table[p, j]
        self._table = padded.reshape(k, self.up).T.astype(np.float64)
        self._k = k
        self._hist = np.zeros(k, np.float64)  # inputs before the first, then the running history
        self._n_in = 0  # inputs received
        self._n_out = 0  # outputs produced
        self.delay_s = 0.0 if self.passthrough else self._centre / (self.up * in_rate_hz)

    def push(self, samples: npt.ArrayLike) -> F32:
        x = np.asarray(samples, np.float64).reshape(-1)
        if self.passthrough:
            return x.astype(np.float32)
        self._hist = np.concatenate([self._hist, x])
        self._n_in += x.shape[0]
        # Output n sits at upsampled time t = n*down + centre; it needs input t // up.
        last_in = self._n_in - 1
        n_ready = max(0, (last_in * self.up - self._centre) // self.down + 1)
        n = np.arange(self._n_out, n_ready)
        if n.size == 0:
            return np.zeros(0, np.float32)
        t = n * self.down + self._centre
        j0 = t // self.up
        phase = t - j0 * self.up
        base = self._n_in - (self._hist.shape[0] - self._k)  # input index of hist[k]
        taps = np.arange(self._k)[None, :]
        y = np.empty(n.shape[0], np.float64)
        for a in range(0, n.shape[0], 4096):  # blocks: a whole clip's gather would be huge
            rows = (j0[a: a + 4096] - base + self._k)[:, None] - taps
            y[a: a + 4096] = np.einsum("ij,ij->i", self._hist[rows],
                                       self._table[phase[a: a + 4096]])
        self._n_out = int(n_ready)
        # Keep only what later outputs can still need.
        next_t = self._n_out * self.down + self._centre
        keep_from = next_t // self.up - self._k + 1  # input index
        drop = min(keep_from - base + self._k, self._hist.shape[0] - self._k)
        if drop > 0:
            self._hist = self._hist[drop:]
        out: F32 = y.astype(np.float32)
        return out

    def flush(self) -> F32:
        """Push the zeros the filter still needs, so every output the input implies comes out."""
        if self.passthrough:
            return np.zeros(0, np.float32)
        return self.push(np.zeros(-(-self._centre // self.up) + 1))

    def expected_out(self, n_in: int) -> int:
        return -(-n_in * self.up // self.down)


def resample(audio: npt.ArrayLike, in_rate_hz: int, out_rate_hz: int = MODEL_RATE_HZ) -> F32:
    """Batch resampling with exactly the stream's filter; output length ceil(n * up / down)."""
    x = np.asarray(audio, np.float32).reshape(-1)
    r = Resampler(in_rate_hz, out_rate_hz)
    if r.passthrough:
        return x.copy()
    out = np.concatenate([r.push(x), r.flush()])
    return out[: r.expected_out(x.shape[0])]
