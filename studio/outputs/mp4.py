"""MP4 (H.264 + AAC) through PyAV, timed by integer frame and sample counts.

Video packets carry pts in frames (time base 1/fps) and audio in samples (1/48000), both
counted from zero by the engine's one clock, so the two streams cannot drift apart.
"""

from __future__ import annotations

import contextlib
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.media import AudioChunk, RGBImage

AAC_FRAME_SAMPLES = 1024


class Mp4Writer:
    """Writes one MP4; frames and audio arrive in order (gaps in audio become silence)."""

    def __init__(self, path: Path, width_px: int, height_px: int, fps: Fraction, *,
                 sample_rate_hz: int = 48_000, metadata: dict[str, str] | None = None,
                 crf: int = 20, preset: str = "veryfast", audio_bitrate_bps: int = 128_000,
                 container_format: str = "mp4") -> None:
        import av

        if width_px % 2 or height_px % 2:
            raise ValueError(f"H.264 needs even frame sizes, got {width_px}x{height_px}")
        self.path = path
        self.fps = fps
        self.sample_rate_hz = sample_rate_hz
        # Fragmented MP4 would survive a crash but has no edit list: its video starts two
        # frames after its audio. A recording that must survive a crash goes to .mkv or .ts.
        options = ({"movflags": "use_metadata_tags+faststart"} if container_format == "mp4"
                   else {})
        self._container: Any = av.open(str(path), mode="w", format=container_format,
                                       options=options)
        for key, value in (metadata or {}).items():
            self._container.metadata[key] = value
        video: Any = self._container.add_stream("libx264", rate=fps)
        video.width = width_px
        video.height = height_px
        video.pix_fmt = "yuv420p"
        # The muxer rewrites the stream's time base when it starts; frames keep these.
        self._video_time_base = Fraction(fps.denominator, fps.numerator)
        self._audio_time_base = Fraction(1, sample_rate_hz)
        video.time_base = self._video_time_base
        video.codec_context.time_base = self._video_time_base
        gop = max(1, round(float(fps) * 2))
        video.codec_context.gop_size = gop
        video.options = {"crf": str(crf), "preset": preset, "profile": "high",
                         "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:rc-lookahead=10",
                         "colorprim": "bt709", "transfer": "bt709", "colormatrix": "bt709"}
        self._video = video
        audio: Any = self._container.add_stream("aac", rate=sample_rate_hz, layout="stereo")
        audio.bit_rate = audio_bitrate_bps
        # The "fast" coder is ~5x cheaper than the default "twoloop" and clean for speech.
        audio.options = {"aac_coder": "fast"}
        audio.time_base = self._audio_time_base
        self._audio = audio
        self._pending_audio = np.zeros(0, dtype=np.float32)
        self._pending_start = 0
        self._audio_written = 0
        self._frames_written = 0
        self._closed = False

    @property
    def frames_written(self) -> int:
        return self._frames_written

    @property
    def samples_written(self) -> int:
        return self._audio_written + len(self._pending_audio)

    def write_video(self, index: int, rgba_or_rgb: RGBImage) -> None:
        import av

        if index != self._frames_written:
            raise ValueError(f"video frame {index} out of order, expected {self._frames_written}")
        fmt = "rgba" if rgba_or_rgb.shape[2] == 4 else "rgb24"
        frame = av.VideoFrame.from_ndarray(rgba_or_rgb, format=fmt)
        frame = frame.reformat(format="yuv420p", src_colorspace="ITU709",
                               dst_colorspace="ITU709")
        self._encode(index, frame)

    def write_yuv420p(self, index: int, yuv: RGBImage) -> None:
        """A frame already in yuv420p (BT.709, limited range), shaped (height*3/2, width)."""
        import av

        if index != self._frames_written:
            raise ValueError(f"video frame {index} out of order, expected {self._frames_written}")
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        self._encode(index, frame)

    def _encode(self, index: int, frame: Any) -> None:
        frame.pts = index
        frame.time_base = self._video_time_base
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self._frames_written += 1

    def write_audio(self, chunk: AudioChunk) -> None:
        """Append mono samples at ``chunk.pts_samples``; a gap before it becomes silence."""
        if chunk.sample_rate_hz != self.sample_rate_hz:
            raise ValueError(f"audio at {chunk.sample_rate_hz} Hz, writer runs at "
                             f"{self.sample_rate_hz} Hz")
        expected = self.samples_written
        if chunk.pts_samples < expected:
            raise ValueError(f"audio at sample {chunk.pts_samples} overlaps what was written "
                             f"(up to {expected})")
        gap = chunk.pts_samples - expected
        parts = [self._pending_audio]
        if gap:
            parts.append(np.zeros(gap, dtype=np.float32))
        parts.append(chunk.samples.astype(np.float32, copy=False))
        self._pending_audio = np.concatenate(parts)
        self._drain_audio(final=False)

    def pad_audio_to(self, n_samples: int) -> None:
        """Fill with silence up to ``n_samples`` so audio ends exactly where the video does."""
        if n_samples > self.samples_written:
            self.write_audio(AudioChunk(n_samples, np.zeros(0, np.float32), self.sample_rate_hz))

    def _drain_audio(self, final: bool) -> None:
        import av

        n_full = len(self._pending_audio) // AAC_FRAME_SAMPLES
        n = n_full * AAC_FRAME_SAMPLES
        if final and len(self._pending_audio) > n:
            n = len(self._pending_audio)
        offset = 0
        while offset < n:
            size = min(AAC_FRAME_SAMPLES, n - offset)
            mono = self._pending_audio[offset:offset + size]
            planes = np.ascontiguousarray(np.vstack([mono, mono]))
            frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout="stereo")
            frame.sample_rate = self.sample_rate_hz
            frame.pts = self._audio_written
            frame.time_base = self._audio_time_base
            for packet in self._audio.encode(frame):
                self._container.mux(packet)
            self._audio_written += size
            offset += size
        self._pending_audio = self._pending_audio[n:]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._drain_audio(final=True)
        for packet in self._video.encode(None):
            self._container.mux(packet)
        for packet in self._audio.encode(None):
            self._container.mux(packet)
        self._container.close()

    def abort(self) -> None:
        """Close without flushing and delete the file: a failed render leaves nothing behind."""
        self._closed = True
        with contextlib.suppress(Exception):
            self._container.close()
        self.path.unlink(missing_ok=True)


def aigc_metadata(produce_id: str, producer: str) -> dict[str, str]:
    """The implicit AIGC label (GB 45438-2025) as an MP4 metadata tag holding JSON."""
    value = {"Label": "1", "ContentProducer": producer, "ProduceID": produce_id,
             "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "",
             "ReservedCode2": ""}
    return {"AIGC": json.dumps(value, ensure_ascii=False, separators=(",", ":")),
            "comment": "AI-generated content (AIGC) · AI生成"}
