"""Audio-to-face: a small ONNX model turns speech audio into the mouth's parameters.

It drives the lips from a microphone, or for a voice that gives no phoneme alignments. The
model (trained by ``training.a2f.train`` on the shipped voice, labels = the engine's own
phoneme-driven mouth) sees a window of 16 kHz log-mel hops: ``context`` past ones, the current
one and ``lookahead`` ahead, so a stream's mouth trails the sound by (lookahead + 1) hops plus
the resampler's look-ahead. Offline ``track`` and streaming ``A2FStream`` use the same
resampler, features and windows, so they give the same numbers hop for hop.

It runs on onnxruntime: CUDA when onnxruntime offers it (and "auto"/"cuda" was asked for),
otherwise the CPU; the provider in use is logged and shown in ``execution_provider``, and a CUDA
that was offered but not used says so (WARNING and "CPU (CUDA failed: ...)"), never silently.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from studio.core.accel import available_providers, log_provider_once, short_provider_name
from studio.core.clock import ENGINE_SAMPLE_RATE_HZ
from studio.core.errors import DependencyError, UserInputError
from studio.face.audio_features import (
    HOP,
    MODEL_RATE_HZ,
    N_MELS,
    Resampler,
    StreamingLogMel,
    log_mel,
    resample,
    silence_frame,
)
from studio.face.params import FaceParams

_LOG = logging.getLogger("studio.face.a2f")

_CUDA = "CUDAExecutionProvider"
_CPU = "CPUExecutionProvider"
PROVIDERS = ("auto", "cuda", "cpu")
MOUTH_FIELDS = ("jaw_open", "lip_pucker", "lip_press", "lip_stretch", "smile", "tongue_up")
RETRAIN = ".venv/bin/python -m training.a2f.train --out assets/models/a2f"

F32 = npt.NDArray[np.float32]


def default_model_path() -> Path:
    from studio.paths import assets_dir

    return assets_dir() / "models" / "a2f" / "a2f.onnx"


@dataclass(frozen=True)
class MouthTrack:
    """Mouth parameters per hop for a whole clip: row i covers [start + i*hop, start+(i+1)*hop)
    seconds; outside the track the mouth is closed (all zeros)."""

    hop_s: float
    start_s: float
    params: F32 = field(repr=False)  # (n_hops, n_params)
    names: tuple[str, ...]

    @property
    def n_hops(self) -> int:
        return int(self.params.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_hops * self.hop_s

    def at(self, t_s: float) -> dict[str, float]:
        """The values during the hop that contains ``t_s`` (zeros outside the track)."""
        i = math.floor((t_s - self.start_s) / self.hop_s)
        if not 0 <= i < self.n_hops:
            return dict.fromkeys(self.names, 0.0)
        return {n: float(v) for n, v in zip(self.names, self.params[i].tolist(), strict=True)}

    def mean_over(self, t0_s: float, t1_s: float) -> F32:
        """Time average of the (piecewise constant, zero outside) track over [t0, t1): what a
        video frame spanning that interval should show."""
        if t1_s <= t0_s:
            return np.zeros(len(self.names), np.float32)
        u0 = (t0_s - self.start_s) / self.hop_s
        u1 = (t1_s - self.start_s) / self.hop_s
        a = max(0, math.floor(u0))
        b = min(self.n_hops, math.ceil(u1))
        if b <= a:
            return np.zeros(len(self.names), np.float32)
        idx = np.arange(a, b)
        w = np.minimum(idx + 1, u1) - np.maximum(idx, u0)
        out: F32 = (w @ self.params[a:b] / (u1 - u0)).astype(np.float32)
        return out


class AudioToFace:
    """The shipped (or a given) audio-to-face model on onnxruntime."""

    def __init__(self, model_path: Path | None = None, provider: str = "auto") -> None:
        if provider not in PROVIDERS:
            raise UserInputError(f"audio-to-face provider {provider!r} is not one of "
                                 f"{', '.join(PROVIDERS)}; use auto (CUDA when present)")
        self.model_path = Path(model_path) if model_path is not None else default_model_path()
        self._session, self.execution_provider = self._open(provider)
        self._read_metadata()
        self._silence = silence_frame()

    # ------------------------------------------------------------------ loading
    def _open(self, provider: str) -> tuple[Any, str]:
        import onnxruntime

        path = self.model_path
        if not path.is_file():
            raise DependencyError(f"audio-to-face model not found: {path}; restore "
                                  f"assets/models/a2f/a2f.onnx from the repository or retrain "
                                  f"it: {RETRAIN}")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1  # a tiny model: one thread is fastest per hop
        options.inter_op_num_threads = 1
        offered = available_providers()
        want_cuda = provider in ("auto", "cuda") and _CUDA in offered
        note = ""
        if provider == "cuda" and _CUDA not in offered:
            note = "CUDA not offered by this onnxruntime; install onnxruntime-gpu"
            _LOG.warning("audio-to-face: %s, running on the CPU", note)
        providers = [_CUDA, _CPU] if want_cuda else [_CPU]
        try:
            session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                   providers=providers)
        except Exception as exc:
            if not want_cuda or not self._loads_on_cpu(path, options):
                raise DependencyError(
                    f"audio-to-face model {path} cannot be loaded by onnxruntime ({exc}); the "
                    f"file is damaged or not an a2f model: restore assets/models/a2f/a2f.onnx "
                    f"from the repository or retrain it: {RETRAIN}") from None
            note = f"CUDA failed: {str(exc).splitlines()[0][:200]}"
            _LOG.warning("audio-to-face: %s; running on the CPU", note)
            session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                   providers=[_CPU])
        in_use = list(session.get_providers())
        if want_cuda and (not in_use or in_use[0] != _CUDA) and not note:
            note = ("CUDA failed: onnxruntime could not start its CUDA provider (check the "
                    "CUDA and cuDNN libraries onnxruntime-gpu needs)")
            _LOG.warning("audio-to-face: %s; running on the CPU", note)
        name = short_provider_name(log_provider_once("audio-to-face", in_use))
        return session, f"{name} ({note})" if note else name

    @staticmethod
    def _loads_on_cpu(path: Path, options: Any) -> bool:
        import onnxruntime

        try:
            onnxruntime.InferenceSession(str(path), sess_options=options, providers=[_CPU])
        except Exception:
            return False
        return True

    def _read_metadata(self) -> None:
        meta = self._session.get_modelmeta().custom_metadata_map
        try:
            self.names: tuple[str, ...] = tuple(meta["names"].split(","))
            self.context_hops = int(meta["context"])
            self.lookahead_hops = int(meta["lookahead"])
            rate, n_mels = int(meta["sample_rate_hz"]), int(meta["n_mels"])
        except (KeyError, ValueError):
            raise DependencyError(f"audio-to-face model {self.model_path} lacks its metadata "
                                  f"(names, context, lookahead); it is not an a2f model: "
                                  f"retrain it: {RETRAIN}") from None
        if rate != MODEL_RATE_HZ or n_mels != N_MELS or not set(self.names) <= set(MOUTH_FIELDS):
            raise DependencyError(f"audio-to-face model {self.model_path} expects {n_mels} mels "
                                  f"at {rate} Hz for {self.names}, not what this version "
                                  f"computes; retrain it: {RETRAIN}")
        self.window_hops = self.context_hops + 1 + self.lookahead_hops
        self.hop_s = HOP / MODEL_RATE_HZ

    # ------------------------------------------------------------------ running
    @property
    def latency_s(self) -> float:
        """Sound-to-mouth delay of a stream at the engine's rate: the model's look-ahead, the
        hop being filled and the resampler's look-ahead (compute adds well under 2 ms)."""
        return self.stream_latency_s(ENGINE_SAMPLE_RATE_HZ)

    def stream_latency_s(self, sample_rate_hz: int) -> float:
        return (self.lookahead_hops + 1) * self.hop_s + Resampler(sample_rate_hz).delay_s

    def run_windows(self, windows: F32) -> F32:
        """(n, window_hops, N_MELS) log-mel windows -> (n, len(names)) mouth values."""
        out: F32 = self._session.run(["mouth"], {"mel": windows.astype(np.float32)})[0]
        return out

    def stream(self, sample_rate_hz: int) -> A2FStream:
        return A2FStream(self, sample_rate_hz)

    def track(self, audio: npt.ArrayLike, sample_rate_hz: int) -> MouthTrack:
        """The mouth for a whole clip (its last partial hop padded with silence)."""
        x = np.nan_to_num(np.asarray(audio, np.float32).reshape(-1))
        x16 = resample(x, sample_rate_hz)
        n_hops = -(-x16.shape[0] // HOP)
        x16 = np.concatenate([x16, np.zeros(n_hops * HOP - x16.shape[0], np.float32)])
        feats = np.concatenate([np.tile(self._silence, (self.context_hops, 1)), log_mel(x16),
                                np.tile(self._silence, (self.lookahead_hops, 1))])
        idx = np.arange(n_hops)[:, None] + np.arange(self.window_hops)[None, :]
        parts = [self.run_windows(feats[idx[i: i + 2048]]) for i in range(0, n_hops, 2048)]
        params = (np.concatenate(parts) if parts
                  else np.zeros((0, len(self.names)), np.float32)).astype(np.float32)
        return MouthTrack(self.hop_s, 0.0, params, self.names)


class A2FStream:
    """Live audio in, the newest mouth out; hop i here equals hop i of ``track``."""

    def __init__(self, model: AudioToFace, sample_rate_hz: int) -> None:
        self._model = model
        self._resampler = Resampler(sample_rate_hz)
        self._mel = StreamingLogMel()
        self._frames: deque[F32] = deque(
            [model._silence] * model.context_hops, maxlen=model.window_hops)
        self._latest = np.zeros(len(model.names), np.float32)
        self.hops_out = 0
        self.latency_s = model.stream_latency_s(sample_rate_hz)

    def push(self, samples: npt.ArrayLike) -> None:
        x = np.nan_to_num(np.asarray(samples, np.float32).reshape(-1))
        frames = self._mel.push(self._resampler.push(x))
        if frames.shape[0] == 0:
            return
        windows: list[F32] = []
        for frame in frames:
            self._frames.append(frame)
            if len(self._frames) == self._model.window_hops:
                windows.append(np.stack(self._frames))
        if windows:
            out = self._model.run_windows(np.stack(windows))
            self._latest = out[-1]
            self.hops_out += len(windows)

    def mouth(self) -> FaceParams:
        """The newest prediction (for hop ``hops_out - 1``); a closed mouth before the first."""
        values = dict(zip(self._model.names, self._latest.tolist(), strict=True))
        return FaceParams(**values)
