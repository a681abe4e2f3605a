"""Opening a stand-in media file (or a lavfi graph) with PyAV, with one clear message per
failure: not found, not readable, no stream of the kind needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from studio.core.errors import UserInputError
from studio.inputs.base import LAVFI_PREFIX, InputSpec


def open_media(spec: InputSpec, stream_type: str) -> tuple[Any, Any]:
    """(container, its first ``stream_type`` stream) for a file or ``lavfi:`` spec."""
    import av

    what = "camera" if stream_type == "video" else "microphone"
    target = spec.target.strip()
    lavfi = target.lower().startswith(LAVFI_PREFIX)
    example = "a video file (mp4, mkv, mov, webm)" if stream_type == "video" \
        else "an audio file (wav, flac, mp3, ogg, m4a)"
    if lavfi:
        url, fmt = target[len(LAVFI_PREFIX):], "lavfi"
    else:
        path = Path(target).expanduser()
        if not path.is_file():
            where = "is a folder" if path.is_dir() else "was not found"
            raise UserInputError(f"{what} file {str(path)!r} {where}; check the path, or give "
                                 f"{example}, or a device")
        url, fmt = str(path), None
    try:
        container = av.open(url, format=fmt, timeout=(10.0, 10.0))
    except (av.FFmpegError, OSError) as exc:
        if lavfi:
            raise UserInputError(f"{what} lavfi graph {url!r} does not open ({exc}); write a "
                                 "graph FFmpeg accepts, e.g. "
                                 + ("testsrc2=size=1280x720:rate=30" if stream_type == "video"
                                    else "sine=f=440")) from None
        raise UserInputError(f"{what} file {url!r} cannot be read ({exc}); give {example} "
                             "that FFmpeg can decode (try: ffprobe FILE)") from None
    streams = container.streams.video if stream_type == "video" else container.streams.audio
    if not streams:
        container.close()
        raise UserInputError(f"{what} file {url!r} has no {stream_type} stream; give {example}")
    return container, streams[0]


class MonoResampler:
    """Mono float32 at one rate to another, streaming (FFmpeg's swresample through PyAV):
    its filter state carries across calls, so blocks join without clicks."""

    def __init__(self, in_rate_hz: int, out_rate_hz: int) -> None:
        import av

        self.in_rate_hz = in_rate_hz
        self.out_rate_hz = out_rate_hz
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=out_rate_hz)

    def push(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        import av

        if samples.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1), format="flt",
            layout="mono")
        frame.sample_rate = self.in_rate_hz
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32, copy=False) if out \
            else np.zeros(0, dtype=np.float32)
