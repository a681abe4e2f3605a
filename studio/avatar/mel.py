"""The mel window a Wav2Lip-style model hears, computed from the program's sound.

Wav2Lip (``audio.py`` with its ``hparams.py``) turns 16 kHz audio into an 80-band mel
spectrogram with 80 frames a second and gives the generator, for each video frame, a window of
16 of them (200 ms). The same computation is done here for one frame at a time from the
program's sound around the frame (:class:`studio.avatar.base.FrameAudio`), with every
setting taken from the plug-in's manifest (``"mel"``, :class:`MelSpec`; the defaults are
Wav2Lip's):

1. the program (48 kHz) resampled to ``sample_rate_hz`` (scipy's polyphase FIR, zero phase:
   mel-rate sample ``n`` is the program at ``n / sample_rate_hz`` s on the engine clock);
2. pre-emphasis ``y[n] = x[n] - k x[n-1]`` (``preemphasis`` k; 0: none);
3. a short-time Fourier transform, frames centred on multiples of ``hop_length`` (librosa's
   ``center=True``), a periodic Hann window of ``win_length`` padded to ``n_fft``;
4. magnitude (``"amplitude"``, Wav2Lip's) or power, through a mel filter bank
   (``mel_scale`` slaney or htk, ``filter_norm`` slaney area or none, ``n_mels`` bands from
   ``fmin_hz`` to ``fmax_hz``: librosa's ``filters.mel``);
5. decibels: ``20 log10(max(x, 10^(min_level_db / 20))) - ref_level_db`` (10 log10 for
   power), so the values run from ``min_level_db - ref_level_db`` (silence) to about 0 dB.

The manifest's mel ``normalisation`` then maps ``[min_level_db, 0]`` dB onto the model's
range (Wav2Lip: ``{"range": [-4, 4]}``, clipped as its ``_normalize`` clips).

Which mel frames: frame ``j`` is centred at ``j * hop_length / sample_rate_hz`` s on the engine
clock; the window of a video frame starting at ``t`` begins with the first frame centred at
or after ``t + offset_ms`` (``floor``, as Wav2Lip's ``int(80 * t)``) and holds ``mel_frames``.
``offset_ms`` defaults to centring the window on the frame's start (-100 ms for 16 frames of
12.5 ms); Wav2Lip's own ``inference.py`` uses 0 (the window starts at the frame). Before the
show starts the program is silence.
"""

from __future__ import annotations

import math
from functools import cached_property
from math import gcd
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from studio.avatar.base import FrameAudio

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# Reach of scipy's resample_poly filter (its default half length is 10 taps per phase of the
# faster rate), plus a little: samples of the program read beyond what the frames cover, so
# the resampled window equals the whole program resampled.
_FIR_HALF_TAPS = 10
EDGE_MARGIN_S = 0.005  # asked for beyond what the window needs (rounding, the FIR's reach)


class MelSpec(BaseModel):
    """How the model's mel spectrogram is computed (manifest ``"mel"``; Wav2Lip's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_rate_hz: Annotated[int, Field(ge=4_000, le=48_000)] = 16_000
    n_fft: Annotated[int, Field(ge=16, le=8192)] = 800
    hop_length: Annotated[int, Field(ge=1, le=8192)] = 200
    win_length: Annotated[int, Field(ge=16, le=8192)] = 800
    n_mels: Annotated[int, Field(ge=1, le=512)] = 80
    fmin_hz: Annotated[float, Field(ge=0.0)] = 55.0
    fmax_hz: Annotated[float, Field(gt=0.0)] = 7_600.0
    preemphasis: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.97
    magnitude: Literal["amplitude", "power"] = "amplitude"
    mel_scale: Literal["slaney", "htk"] = "slaney"
    filter_norm: Literal["slaney", "none"] = "slaney"
    min_level_db: Annotated[float, Field(lt=0.0, ge=-300.0)] = -100.0
    ref_level_db: float = 20.0
    offset_ms: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MelSpec:
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length {self.win_length} is longer than n_fft {self.n_fft}; "
                             f"make win_length at most n_fft (Wav2Lip: both 800)")
        nyquist = self.sample_rate_hz / 2
        if self.fmax_hz > nyquist:
            raise ValueError(f"fmax_hz {self.fmax_hz:g} is above half of sample_rate_hz "
                             f"({nyquist:g} Hz); lower fmax_hz or raise sample_rate_hz")
        if self.fmin_hz >= self.fmax_hz:
            raise ValueError(f"fmin_hz {self.fmin_hz:g} must be below fmax_hz "
                             f"{self.fmax_hz:g}")
        return self

    @property
    def silence_db(self) -> float:
        """What digital silence gives in every band."""
        return self.min_level_db - self.ref_level_db

    @property
    def default_source_range(self) -> tuple[float, float]:
        """The dB range a ``{"range": …}`` normalisation maps (Wav2Lip's ``_normalize``)."""
        return (self.min_level_db, 0.0)


# ---------------------------------------------------------------------------- the filter bank
def hz_to_mel(f: F64 | float, htk: bool = False) -> F64:
    """librosa's ``hz_to_mel``: Slaney's (linear to 1 kHz, then logarithmic) or HTK's."""
    f = np.asarray(f, np.float64)
    if htk:
        return np.asarray(2595.0 * np.log10(1.0 + f / 700.0), np.float64)
    f_sp = 200.0 / 3.0
    mels = f / f_sp
    min_log_hz = 1000.0
    logstep = math.log(6.4) / 27.0
    log = min_log_hz / f_sp + np.log(np.maximum(f, 1e-12) / min_log_hz) / logstep
    return np.asarray(np.where(f >= min_log_hz, log, mels), np.float64)


def mel_to_hz(m: F64 | float, htk: bool = False) -> F64:
    m = np.asarray(m, np.float64)
    if htk:
        return np.asarray(700.0 * (10.0 ** (m / 2595.0) - 1.0), np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.asarray(np.where(m >= min_log_mel,
                               min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m),
                      np.float64)


def mel_filter_bank(spec: MelSpec) -> F32:
    """(n_mels, n_fft // 2 + 1) triangular filters, as librosa's ``filters.mel``."""
    freqs = np.linspace(0.0, spec.sample_rate_hz / 2, 1 + spec.n_fft // 2)
    htk = spec.mel_scale == "htk"
    edges = mel_to_hz(np.linspace(hz_to_mel(spec.fmin_hz, htk), hz_to_mel(spec.fmax_hz, htk),
                                  spec.n_mels + 2), htk)
    fdiff = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if spec.filter_norm == "slaney":
        weights *= (2.0 / (edges[2:spec.n_mels + 2] - edges[:spec.n_mels]))[:, None]
    return weights.astype(np.float32)


def stft_window(spec: MelSpec) -> F32:
    """A periodic Hann window of ``win_length``, centred in ``n_fft`` (librosa's)."""
    n = spec.win_length
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    out = np.zeros(spec.n_fft, np.float64)
    left = (spec.n_fft - n) // 2
    out[left:left + n] = w
    return out.astype(np.float32)


# ---------------------------------------------------------------------------- per frame
class MelWindow:
    """``mel_frames`` frames of a model's mel spectrogram for one video frame."""

    def __init__(self, spec: MelSpec, mel_frames: int) -> None:
        self.spec = spec
        self.frames = mel_frames
        self._basis = mel_filter_bank(spec)
        self._window = stft_window(spec)

    @cached_property
    def offset_s(self) -> float:
        """Where the first mel frame's centre is, relative to the video frame's start."""
        s = self.spec
        if s.offset_ms is not None:
            return s.offset_ms / 1000.0
        return -self.frames * s.hop_length / s.sample_rate_hz / 2.0

    @property
    def audio_window_s(self) -> tuple[float, float]:
        """The program's sound this needs around a frame's start: (seconds before, after)."""
        s = self.spec
        sr = s.sample_rate_hz
        half = (s.n_fft // 2 + 1) / sr  # a frame's reach before its centre (+ pre-emphasis)
        reach = s.n_fft / sr  # ... and after it
        first = self.offset_s - s.hop_length / sr  # the floor moves it at most one hop back
        last = self.offset_s + self.frames * s.hop_length / sr
        before = max(0.0, -(first - half)) + EDGE_MARGIN_S
        after = max(0.0, last + reach) + EDGE_MARGIN_S
        return (before, after)

    def first_frame(self, frame_start_samples: int, program_rate_hz: int) -> int:
        """The index (on the mel's own 80 Hz-or-so grid from the show's start) of the window's
        first frame for the video frame starting at ``frame_start_samples``."""
        s = self.spec
        t_mel = frame_start_samples * s.sample_rate_hz / program_rate_hz  # mel-rate samples
        return math.floor((t_mel + self.offset_s * s.sample_rate_hz) / s.hop_length + 1e-9)

    def compute(self, audio: FrameAudio | None) -> F32:
        """(mel_frames, n_mels) in dB for the frame ``audio`` is around; None: silence."""
        s = self.spec
        if audio is None:
            return np.full((self.frames, s.n_mels), s.silence_db, np.float32)
        rate = audio.sound.sample_rate_hz
        g = gcd(rate, s.sample_rate_hz)
        up, down = s.sample_rate_hz // g, rate // g
        j0 = self.first_frame(audio.frame_start_samples, rate)
        half = s.n_fft // 2
        # Mel-rate samples the frames read (and one before, for the pre-emphasis).
        lo = j0 * s.hop_length - half - 1
        hi = (j0 + self.frames - 1) * s.hop_length - half + s.n_fft
        # Program samples around them, starting on a sample that lands on the mel grid.
        margin = math.ceil(_FIR_HALF_TAPS * max(up, down) / up) + 2
        k_lo = math.floor(lo / up) - math.ceil(margin / down)
        k_hi = math.ceil(hi / up) + math.ceil(margin / down)
        x = audio.between(k_lo * down, k_hi * down)
        if up == down == 1:
            y = x
        else:
            from scipy.signal import resample_poly

            y = np.asarray(resample_poly(x.astype(np.float64), up, down), np.float64)
        seg = np.asarray(y[lo - k_lo * up: hi - k_lo * up], np.float64)
        seg = seg[1:] - s.preemphasis * seg[:-1]  # 0: none (the sample before is read only)
        idx = np.arange(self.frames)[:, None] * s.hop_length + np.arange(s.n_fft)[None, :]
        spectrum = np.abs(np.fft.rfft(seg[idx] * self._window, axis=1))
        if s.magnitude == "power":
            spectrum = spectrum ** 2
        mel = spectrum @ self._basis.T.astype(np.float64)  # (frames, n_mels)
        if s.magnitude == "power":
            floor = 10.0 ** (s.min_level_db / 10.0)
            db = 10.0 * np.log10(np.maximum(floor, mel))
        else:
            floor = 10.0 ** (s.min_level_db / 20.0)
            db = 20.0 * np.log10(np.maximum(floor, mel))
        return np.asarray(db - s.ref_level_db, np.float32)
