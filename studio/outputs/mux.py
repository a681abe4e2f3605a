"""H.264 + AAC in one container through PyAV, timed by integer frame and sample counts.

Video packets carry pts in frames (time base 1/fps) and audio in samples (1/48000), both
counted from the mux's start on the engine's one clock, so the two streams cannot drift
apart. Recordings (``Mp4Writer``) and network streams share this muxer; they differ in the
encoder settings and in where the bytes go (a path, or a file-like object).
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from typing import Any

import numpy as np

from studio.core.media import AudioChunk, RGBImage

AAC_FRAME_SAMPLES = 1024
BT709 = {"colorprim": "bt709", "transfer": "bt709", "colormatrix": "bt709"}


def gop_frames(fps: Fraction, seconds: float = 2.0) -> int:
    """Frames between keyframes: ``seconds`` of video."""
    return max(1, round(float(fps) * seconds))


class AVMuxer:
    """One container holding an H.264 and an AAC stream; frames and audio arrive in order.

    ``target`` is a path or URL PyAV opens, or a writable object (``write(bytes)``). Video
    pts must increase (gaps are allowed: a dropped frame); audio gaps become silence."""

    def __init__(self, target: str | Any, width_px: int, height_px: int, fps: Fraction, *,
                 container_format: str, video_options: dict[str, str],
                 video_bitrate_bps: int = 0, sample_rate_hz: int = 48_000,
                 audio_bitrate_bps: int = 128_000,
                 container_options: dict[str, str] | None = None,
                 metadata: dict[str, str] | None = None) -> None:
        import av

        if width_px % 2 or height_px % 2:
            raise ValueError(f"H.264 needs even frame sizes, got {width_px}x{height_px}")
        self.fps = fps
        self.sample_rate_hz = sample_rate_hz
        self._container: Any = av.open(target, mode="w", format=container_format,
                                       container_options=container_options or {})
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
        video.codec_context.gop_size = gop_frames(fps)
        if video_bitrate_bps:
            video.bit_rate = video_bitrate_bps
        video.options = dict(video_options)
        self._video = video
        audio: Any = self._container.add_stream("aac", rate=sample_rate_hz, layout="stereo")
        audio.bit_rate = audio_bitrate_bps
        # The "fast" coder is ~5x cheaper than the default "twoloop" and clean for speech.
        audio.options = {"aac_coder": "fast"}
        audio.time_base = self._audio_time_base
        self._audio = audio
        self._pending_audio = np.zeros(0, dtype=np.float32)
        self._audio_written = 0
        self._frames_written = 0
        self._last_video_pts = -1
        self.bytes_muxed = 0  # encoded payload, both streams
        self._closed = False

    @property
    def frames_written(self) -> int:
        return self._frames_written

    @property
    def samples_written(self) -> int:
        return self._audio_written + len(self._pending_audio)

    def write_video(self, pts: int, rgba_or_rgb: RGBImage, *, keyframe: bool = False) -> None:
        """An RGB(A) picture at frame ``pts``, converted to yuv420p with BT.709."""
        import av

        fmt = "rgba" if rgba_or_rgb.shape[2] == 4 else "rgb24"
        frame = av.VideoFrame.from_ndarray(rgba_or_rgb, format=fmt)
        frame = frame.reformat(format="yuv420p", src_colorspace="ITU709",
                               dst_colorspace="ITU709")
        self._encode(pts, frame, keyframe)

    def write_yuv420p(self, pts: int, yuv: RGBImage, *, keyframe: bool = False) -> None:
        """A frame already in yuv420p (BT.709, limited range), shaped (height*3/2, width)."""
        import av

        self._encode(pts, av.VideoFrame.from_ndarray(yuv, format="yuv420p"), keyframe)

    def _encode(self, pts: int, frame: Any, keyframe: bool) -> None:
        import av

        if pts <= self._last_video_pts:
            raise ValueError(f"video frame {pts} does not come after {self._last_video_pts}")
        frame.pts = pts
        frame.time_base = self._video_time_base
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        for packet in self._video.encode(frame):
            self._mux(packet)
        self._last_video_pts = pts
        self._frames_written += 1

    def _mux(self, packet: Any) -> None:
        self.bytes_muxed += packet.size
        self._container.mux(packet)

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
            planes = np.ascontiguousarray(np.vstack([mono, mono]))  # mono program, both ears
            frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout="stereo")
            frame.sample_rate = self.sample_rate_hz
            frame.pts = self._audio_written
            frame.time_base = self._audio_time_base
            for packet in self._audio.encode(frame):
                self._mux(packet)
            self._audio_written += size
            offset += size
        self._pending_audio = self._pending_audio[n:]

    def close(self) -> None:
        """Flush both encoders and finish the container."""
        if self._closed:
            return
        self._closed = True
        self._drain_audio(final=True)
        for packet in self._video.encode(None):
            self._mux(packet)
        for packet in self._audio.encode(None):
            self._mux(packet)
        self._container.close()

    def abort(self) -> None:
        """Close without flushing (the output is being thrown away)."""
        self._closed = True
        with contextlib.suppress(Exception):
            self._container.close()
