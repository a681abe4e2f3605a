"""MP4 (H.264 + AAC) through PyAV, timed by integer frame and sample counts.

Video packets carry pts in frames (time base 1/fps) and audio in samples (1/48000), both
counted from zero by the engine's one clock, so the two streams cannot drift apart. The
muxing itself is shared with the network streams (``studio.outputs.mux``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from studio import __version__
from studio.core.media import RGBImage
from studio.outputs.mux import AAC_FRAME_SAMPLES, BT709, AVMuxer, gop_frames

__all__ = ["AAC_FRAME_SAMPLES", "AVATAR_TAG", "PRODUCER", "Mp4Writer", "aigc_metadata"]


class Mp4Writer(AVMuxer):
    """Writes one MP4; frames and audio arrive in order (gaps in audio become silence)."""

    def __init__(self, path: Path, width_px: int, height_px: int, fps: Fraction, *,
                 sample_rate_hz: int = 48_000, metadata: dict[str, str] | None = None,
                 crf: int = 20, preset: str = "veryfast", audio_bitrate_bps: int = 128_000,
                 container_format: str = "mp4", sink: Any = None) -> None:
        """``sink``: a file-like object the bytes go to instead of ``path`` (named by it)."""
        gop = gop_frames(fps)
        # Fragmented MP4 would survive a crash but has no edit list: its video starts two
        # frames after its audio. A recording that must survive a crash goes to .mkv or .ts.
        options = ({"movflags": "use_metadata_tags+faststart"} if container_format == "mp4"
                   else {})
        super().__init__(
            sink if sink is not None else str(path), width_px, height_px, fps,
            container_format=container_format,
            video_options={"crf": str(crf), "preset": preset, "profile": "high",
                           "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"
                                          ":rc-lookahead=10", **BT709},
            sample_rate_hz=sample_rate_hz, audio_bitrate_bps=audio_bitrate_bps,
            container_options=options, metadata=metadata)
        self.path = path

    def write_video(self, index: int, rgba_or_rgb: RGBImage, *, keyframe: bool = False) -> None:
        self._check_order(index)
        super().write_video(index, rgba_or_rgb, keyframe=keyframe)

    def write_yuv420p(self, index: int, yuv: RGBImage, *, keyframe: bool = False) -> None:
        """A frame already in yuv420p (BT.709, limited range), shaped (height*3/2, width)."""
        self._check_order(index)
        super().write_yuv420p(index, yuv, keyframe=keyframe)

    def _check_order(self, index: int) -> None:
        if index != self.frames_written:
            raise ValueError(f"video frame {index} out of order, expected {self.frames_written}")

    def abort(self) -> None:
        """Close without flushing and delete the file: a failed render leaves nothing behind."""
        super().abort()
        self.path.unlink(missing_ok=True)


PRODUCER = f"LiveHost Studio {__version__}"  # ContentProducer in the AIGC label


AVATAR_TAG = "livehost_avatar"  # the likeness on air: its consent record's identifiers


def aigc_metadata(produce_id: str, producer: str = PRODUCER,
                  avatar: Mapping[str, str] | None = None) -> dict[str, str]:
    """The implicit AIGC label (GB 45438-2025) as an MP4 metadata tag holding JSON; with a
    likeness avatar, its consent record's identifiers (record ID, whose likeness, the
    virtual-anchor registration ID) in a tag of their own, as JSON."""
    value = {"Label": "1", "ContentProducer": producer, "ProduceID": produce_id,
             "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "",
             "ReservedCode2": ""}
    tags = {"AIGC": json.dumps(value, ensure_ascii=False, separators=(",", ":")),
            "comment": "AI-generated content (AIGC) · AI生成"}
    if avatar:
        tags[AVATAR_TAG] = json.dumps(dict(avatar), ensure_ascii=False, separators=(",", ":"))
    return tags
