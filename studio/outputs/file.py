"""A recording: the program to an MP4, MKV or MPEG-TS file that loses no frame.

The engine waits for it (``FramePolicy.LOSSLESS``) rather than skip a frame; only a failing
disk stops it. An MP4 gets its index when it is finished; MKV and MPEG-TS files play up to
their last frame whatever stops them (a full disk, a crash).
"""

from __future__ import annotations

import errno
import uuid
from pathlib import Path
from typing import ClassVar

from studio.core.clock import MediaClock
from studio.core.errors import UserInputError
from studio.core.media import AudioChunk
from studio.outputs.base import (
    FILE_SUFFIXES,
    FramePolicy,
    OutputSpec,
    OutputState,
    ProgramFormat,
    ProgramFrame,
    ThreadedOutput,
    register_output,
)
from studio.outputs.mp4 import Mp4Writer, aigc_metadata


class FileOutput(ThreadedOutput):
    kind: ClassVar[str] = "file"
    policy: ClassVar[FramePolicy] = FramePolicy.LOSSLESS
    wants_yuv: ClassVar[bool] = True
    max_pending_frames: ClassVar[int] = 8
    niceness: ClassVar[int] = 5  # behind its queue it may lag a little; the frame loop not

    def __init__(self, spec: OutputSpec) -> None:
        super().__init__(spec)
        self.path = Path(spec.target).expanduser()
        self.produce_id = str(uuid.uuid4())
        self._writer: Mp4Writer | None = None
        self._index = 0

    def start_worker(self, fmt: ProgramFormat, start_samples: int) -> None:
        suffix = self.path.suffix.lower()
        container = FILE_SUFFIXES.get(suffix)
        if container is None:
            raise UserInputError(f"recording {self.path}: use a file ending in "
                                 + ", ".join(FILE_SUFFIXES))
        if not self.path.parent.is_dir():
            raise UserInputError(f"recording {self.path}: the folder {self.path.parent} does "
                                 "not exist; create it or choose another")
        try:
            self._writer = Mp4Writer(self.path, fmt.width_px, fmt.height_px, fmt.fps,
                                     sample_rate_hz=fmt.sample_rate_hz,
                                     preset=self.spec.option("preset", "veryfast"),
                                     metadata=aigc_metadata(self.produce_id),
                                     container_format=container)
        except OSError as exc:
            raise UserInputError(f"recording {self.path} cannot be created "
                                 f"({exc.strerror or exc}); choose a folder you can write "
                                 "to") from None

    def write_video(self, frame: ProgramFrame) -> None:
        assert self._writer is not None
        if frame.yuv420p is not None:
            self._writer.write_yuv420p(self._index, frame.yuv420p)
        else:
            self._writer.write_video(self._index, frame.rgba)
        self._index += 1

    def write_audio(self, chunk: AudioChunk) -> None:
        assert self._writer is not None
        self._writer.write_audio(AudioChunk(chunk.pts_samples - self.start_samples,
                                            chunk.samples, chunk.sample_rate_hz))

    def finish(self) -> None:
        assert self._writer is not None
        # Audio ends exactly where the last frame ends.
        fmt = self.format
        end = MediaClock(fmt.fps, fmt.sample_rate_hz).frame_start_sample(self._index)
        self._writer.pad_audio_to(end)
        self._writer.close()

    def fail(self, exc: BaseException) -> None:
        full = isinstance(exc, OSError) and exc.errno in {errno.ENOSPC, errno.EDQUOT}
        seconds = self._index / float(self.format.fps)
        if full:
            message = (f"the disk is full: recording {self.path.name} stopped after "
                       f"{seconds:.1f} s; free some space and start a new recording")
        else:
            message = (f"recording {self.path.name} stopped after {seconds:.1f} s: {exc}; "
                       "check the disk and start a new recording")
        self.set_state(OutputState.DOWN, message)


register_output("file", FileOutput, "a recording: .mp4, .mkv or .ts")
