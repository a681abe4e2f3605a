"""A recording: the program to an MP4, MKV or MPEG-TS file that loses no frame.

The engine waits for it (``FramePolicy.LOSSLESS``) rather than skip a frame; only a failing
disk stops it. An MP4 gets its index when it is finished; MKV and MPEG-TS files play up to
their last frame whatever stops them (a crash).

A full disk does not cost what was already said. Each recording holds a little space in
reserve on its file system (an unnamed, preallocated file: nothing is left behind after a
crash). When a write finds the disk full, the reserve is let go, the write goes on, and the
file is finished there: a playable recording up to that frame. Frames are then dropped
(counted) while the output waits, degraded, for free space; when there is room again, the
recording goes on in a new numbered part (``show-2.mp4``, ``show-3.mp4`` …) from the
current frame.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
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
from studio.outputs.mux import AVMuxer

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
RESERVE_BASE_BYTES = 2 << 20  # the encoders' tail and the container's own buffers
RESERVE_FRAMES = 2  # plus this many raw pictures (x264's look-ahead flushes at the end)
RESERVE_PER_FRAME_BYTES = 32  # an MP4's index grows ~20 bytes a frame (both streams)
RESERVE_GROW_FRAMES = 900  # the reserve is topped up every 30 s at 30 fps
SPACE_CHECK_S = 1.0  # while the disk is full, free space is looked at this often
_os_write = os.write  # the one place the recording's bytes reach the disk


def disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


class _Reserve:
    """Space held on the recording's file system so that the recording can be finished
    when the disk fills up: an unnamed file (``O_TMPFILE``) with its blocks allocated. Where
    the system cannot make one (too little space, no ``O_TMPFILE``), nothing is held."""

    def __init__(self, folder: Path, n_bytes: int) -> None:
        self._fd: int | None = None
        self.n_bytes = 0
        flags = getattr(os, "O_TMPFILE", 0)
        if not flags or not hasattr(os, "posix_fallocate"):
            return
        try:
            fd = os.open(folder, flags | os.O_WRONLY, 0o600)
        except OSError:
            return
        try:
            os.posix_fallocate(fd, 0, n_bytes)
        except OSError:
            os.close(fd)
            return
        self._fd = fd
        self.n_bytes = n_bytes

    @property
    def held(self) -> bool:
        return self._fd is not None

    def grow(self, n_bytes: int) -> None:
        """Hold ``n_bytes`` now (an MP4's index grows with the recording); best effort."""
        if self._fd is not None and n_bytes > self.n_bytes:
            with contextlib.suppress(OSError):
                os.posix_fallocate(self._fd, 0, n_bytes)
                self.n_bytes = n_bytes

    def release(self) -> None:
        fd, self._fd = self._fd, None
        self.n_bytes = 0
        if fd is not None:
            os.close(fd)


class _RecordingFile:
    """The recording's bytes, written here (PyAV calls these methods). A write that finds
    the disk full lets the reserve go and goes on, so the file can still be finished;
    ``full`` then tells the output to finish it."""

    def __init__(self, path: Path, reserve: _Reserve) -> None:
        self.name = str(path)  # PyAV names the container by it (MP4's faststart reopens it)
        self._reserve = reserve
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self.full = False

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            try:
                n = _os_write(self._fd, view)
            except OSError as exc:
                if exc.errno not in FULL_ERRNOS:
                    raise
                self.full = True
                if not self._reserve.held:
                    raise
                self._reserve.release()  # room to finish the file: the write goes on
                continue
            view = view[n:]
        return len(data)

    def read(self, n_bytes: int = -1) -> bytes:
        if n_bytes < 0:
            n_bytes = max(0, os.fstat(self._fd).st_size - self.tell())
        return os.read(self._fd, n_bytes)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self._fd, offset, whence)

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_CUR)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


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
        self.avatar: dict[str, str] = {}  # the likeness on air (its consent record's IDs)
        self.parts: list[Path] = []  # every file this recording wrote, in order
        self._writer: Mp4Writer | None = None  # None while waiting for free space
        self._file: _RecordingFile | None = None
        self._reserve: _Reserve | None = None
        self._index = 0  # frames in the current part
        self._part_start_samples = 0  # the engine sample at the current part's time 0
        self._next_space_check = 0.0
        self._container = ""

    def tags(self) -> dict[str, str]:
        """The metadata every part of the recording carries: its AIGC label, the avatar."""
        return aigc_metadata(self.produce_id, avatar=self.avatar)

    def start_worker(self, fmt: ProgramFormat, start_samples: int) -> None:
        suffix = self.path.suffix.lower()
        container = FILE_SUFFIXES.get(suffix)
        if container is None:
            raise UserInputError(f"recording {self.path}: use a file ending in "
                                 + ", ".join(FILE_SUFFIXES))
        if not self.path.parent.is_dir():
            raise UserInputError(f"recording {self.path}: the folder {self.path.parent} does "
                                 "not exist; create it or choose another")
        self._container = container
        self._clock = MediaClock(fmt.fps, fmt.sample_rate_hz)
        try:
            self._open_part(self.path, start_samples)
        except OSError as exc:
            raise UserInputError(f"recording {self.path} cannot be created "
                                 f"({exc.strerror or exc}); choose a folder you can write "
                                 "to") from None

    # --- parts -----------------------------------------------------------------------------
    def _reserve_bytes(self, n_frames: int) -> int:
        fmt = self.format
        picture = fmt.width_px * fmt.height_px * 3 // 2
        return RESERVE_BASE_BYTES + RESERVE_FRAMES * picture + RESERVE_PER_FRAME_BYTES * n_frames

    def _next_part_path(self) -> Path:
        """``show-2.mp4`` after ``show.mp4``: the first number whose file does not exist."""
        number = len(self.parts) + 1
        while True:
            path = self.path.with_name(f"{self.path.stem}-{number}{self.path.suffix}")
            if not path.exists():
                return path
            number += 1

    def _open_part(self, path: Path, start_samples: int) -> None:
        fmt = self.format
        metadata = self.tags()
        if self.parts:  # which part of the recording, and where in the show it starts
            metadata["livehost_part"] = str(len(self.parts) + 1)
            metadata["livehost_show_start_s"] = f"{start_samples / fmt.sample_rate_hz:.3f}"
        reserve = _Reserve(path.parent, self._reserve_bytes(0))
        try:
            file = _RecordingFile(path, reserve)
        except OSError:
            reserve.release()
            raise
        try:
            writer = Mp4Writer(path, fmt.width_px, fmt.height_px, fmt.fps,
                               sample_rate_hz=fmt.sample_rate_hz,
                               preset=self.spec.option("preset", "veryfast"),
                               metadata=metadata, container_format=self._container,
                               sink=file)
        except BaseException:
            file.close()
            reserve.release()
            path.unlink(missing_ok=True)
            raise
        self._writer, self._file, self._reserve = writer, file, reserve
        self._index = 0
        self._part_start_samples = start_samples
        self.parts.append(path)

    def _close_part(self) -> None:
        """Finish the current part: audio ends exactly where its last frame ends."""
        writer, file, reserve = self._writer, self._file, self._reserve
        self._writer = self._file = self._reserve = None
        try:
            if writer is not None:
                end = self._clock.frame_start_sample(self._index)
                writer.pad_audio_to(end)
                writer.close()
        finally:
            if file is not None:
                file.close()
            if reserve is not None:
                reserve.release()

    def _after_write(self) -> None:
        file = self._file
        if file is not None and file.full:  # the reserve made room: finish here, and wait
            saved = self.parts[-1]
            seconds = self._index / float(self.format.fps)
            self._close_part()
            self._next_space_check = time.monotonic() + SPACE_CHECK_S
            self.set_state(OutputState.DEGRADED,
                           f"the disk is full: {saved} is saved up to {seconds:.1f} s and "
                           f"plays; free some space on {saved.parent} and the recording "
                           f"goes on in {self._next_part_path().name} (frames are not "
                           "recorded meanwhile)", code="file.disk_full")
        elif self._reserve is not None and self._index % RESERVE_GROW_FRAMES == 0:
            self._reserve.grow(self._reserve_bytes(self._index))

    def _resume(self, at_samples: int) -> None:
        """Waiting for space: at a frame boundary, once there is room, open the next part."""
        now = time.monotonic()
        clock = self._clock
        if now < self._next_space_check or \
                clock.frame_start_sample(clock.frame_at_sample(at_samples)) != at_samples:
            return
        self._next_space_check = now + SPACE_CHECK_S
        folder = self.path.parent
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return
        if free < 2 * self._reserve_bytes(0):
            return
        path = self._next_part_path()
        try:
            self._open_part(path, at_samples)
        except OSError as exc:
            if disk_full(exc):
                return  # taken again meanwhile: keep waiting
            raise
        previous = self.parts[-2]
        self.set_state(OutputState.UP, f"the recording goes on in {path.name} ({previous.name} "
                       "ended when the disk was full)", code="file.resumed")

    # --- the worker ------------------------------------------------------------------------
    def write_video(self, frame: ProgramFrame) -> bool:
        writer = self._writer
        if writer is None:
            return False  # the disk is full: not recorded (counted)
        if frame.yuv420p is not None:
            writer.write_yuv420p(self._index, frame.yuv420p)
        else:
            writer.write_video(self._index, frame.rgba)
        self._index += 1
        self._after_write()
        return True

    def write_audio(self, chunk: AudioChunk) -> None:
        if self._writer is None:
            self._resume(chunk.pts_samples)
        writer = self._writer
        if writer is None:
            return
        writer.write_audio(AudioChunk(chunk.pts_samples - self._part_start_samples,
                                      chunk.samples, chunk.sample_rate_hz))
        self._after_write()

    def finish(self) -> None:
        self._close_part()

    def fail(self, exc: BaseException) -> None:
        full = disk_full(exc) or (self._file is not None and self._file.full)
        seconds = self._index / float(self.format.fps)
        path = self.parts[-1] if self.parts else self.path
        writer, self._writer = self._writer, None
        if writer is not None:
            AVMuxer.abort(writer)  # whatever can be closed; the file stays
        if self._file is not None:
            self._file.close()
        if self._reserve is not None:
            self._reserve.release()
        self._file = self._reserve = None
        if full:
            message = (f"the disk is full: recording {path} stopped after {seconds:.1f} s; "
                       "free some space and start a new recording")
            code = "file.disk_full"
        else:
            message = (f"recording {path} stopped after {seconds:.1f} s: {exc}; check the "
                       "disk and start a new recording")
            code = "file.write_failed"
        self.set_state(OutputState.DOWN, message, code=code)


register_output("file", FileOutput, "a recording: .mp4, .mkv or .ts")
