"""Program audio to a sound device through PortAudio (sounddevice), behind a small interface.

The device callback only copies from a ring buffer; the engine writes one frame's worth of
samples per video frame and paces itself on how much the device has consumed, so the sound
card's clock is the master whenever a device is in use.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import numpy as np

from studio.core.errors import DependencyError, UserInputError
from studio.core.media import AudioChunk


class AudioSink(Protocol):
    sample_rate_hz: int

    def write(self, chunk: AudioChunk) -> None: ...

    @property
    def buffered_samples(self) -> int: ...

    @property
    def underruns(self) -> int: ...

    @property
    def alive(self) -> bool: ...

    def close(self) -> None: ...


def parse_device(spec: str | None) -> str | int | None:
    """A device as the operator names it: "default" (or nothing), a number, or a name."""
    if spec is None or spec.strip().lower() in {"", "default"}:
        return None
    return int(spec) if spec.strip().isdigit() else spec


class SoundDeviceSink:
    """Mono program audio to a PortAudio output device (duplicated to every channel)."""

    def __init__(self, device: str | int | None = None, sample_rate_hz: int = 48_000,
                 channels: int = 2, capacity_s: float = 2.0, latency_s: float = 0.05) -> None:
        try:
            import sounddevice
        except OSError as exc:  # PortAudio library missing
            raise DependencyError(f"PortAudio is not installed ({exc}); install it: "
                                  "apt-get install libportaudio2") from None
        self.sample_rate_hz = sample_rate_hz
        self._ring = np.zeros(int(capacity_s * sample_rate_hz), dtype=np.float32)
        self._read = 0
        self._write = 0
        self._lock = threading.Lock()
        self._underruns = 0
        self._started = False
        try:
            self._stream: Any = sounddevice.OutputStream(
                device=device, samplerate=sample_rate_hz, channels=channels, dtype="float32",
                latency=latency_s, callback=self._callback)
        except Exception as exc:  # PortAudioError, ValueError for an unknown device name
            raise UserInputError(f"audio device {device!r} cannot be opened ({exc}); list the "
                                 "devices with: python -m sounddevice") from None

    def _callback(self, out: Any, frames: int, _time: Any, _status: Any) -> None:
        with self._lock:
            available = self._write - self._read
            n = min(frames, available)
            size = len(self._ring)
            start = self._read % size
            first = min(n, size - start)
            out[:first] = self._ring[start:start + first, None]
            out[first:n] = self._ring[:n - first, None]
            out[n:] = 0.0
            self._read += n
            if n < frames and self._started:
                self._underruns += 1

    def write(self, chunk: AudioChunk) -> None:
        data = chunk.samples
        with self._lock:
            size = len(self._ring)
            free = size - (self._write - self._read)
            data = data[:free]  # never overwrite what the device has not played yet
            start = self._write % size
            first = min(len(data), size - start)
            self._ring[start:start + first] = data[:first]
            self._ring[:len(data) - first] = data[first:]
            self._write += len(data)
        if not self._started:
            self._started = True
            self._stream.start()

    @property
    def buffered_samples(self) -> int:
        with self._lock:
            return self._write - self._read

    @property
    def underruns(self) -> int:
        return self._underruns

    @property
    def alive(self) -> bool:
        """False once a started stream has stopped by itself (device unplugged, server gone)."""
        return not self._started or bool(self._stream.active)

    def close(self) -> None:
        """Stop the stream; never blocks the caller long (PortAudio can hang on a dead device)."""

        def stop() -> None:
            try:
                self._stream.abort()
                self._stream.close()
            except Exception:
                pass

        device_gone = not self.alive
        closer = threading.Thread(target=stop, name="audio-close", daemon=True)
        closer.start()
        closer.join(timeout=1.0)
        if device_gone or closer.is_alive():
            # PortAudio hangs or aborts (an assertion in its JACK host API) when it shuts
            # down against a device that is gone; skip its exit handler so the app can quit.
            # The OS frees the device at exit.
            import atexit

            import sounddevice

            atexit.unregister(sounddevice._exit_handler)
