"""Typed media frames that flow between stages. Plain dataclasses: they are on the hot path."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatAudio = npt.NDArray[np.float32]
RGBImage = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Mono float32 samples in [-1, 1] starting at ``pts_samples`` on the engine clock."""

    pts_samples: int
    samples: FloatAudio
    sample_rate_hz: int

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def end_samples(self) -> int:
        return self.pts_samples + self.n_samples


def copy_overlap(dst: FloatAudio, dst_start: int, src: FloatAudio, src_start: int, *,
                 add: bool = False) -> None:
    """Copy (or, with ``add``, mix) the part of ``src`` that overlaps ``dst`` into it; each
    array starts at its sample on the engine clock. The rest of ``dst`` is left as it is."""
    lo = max(dst_start, src_start)
    hi = min(dst_start + dst.shape[0], src_start + src.shape[0])
    if lo >= hi:
        return
    part = src[lo - src_start:hi - src_start]
    if add:
        dst[lo - dst_start:hi - dst_start] += part
    else:
        dst[lo - dst_start:hi - dst_start] = part


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """An RGB frame; ``index`` counts frames from the start, ``pts_samples`` is its start."""

    index: int
    pts_samples: int
    rgb: RGBImage = field(repr=False)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])
