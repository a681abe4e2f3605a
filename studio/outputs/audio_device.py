"""Program audio to a sound device through PortAudio (sounddevice), behind a small interface.

The device callback only copies from a ring buffer; the engine writes one frame's worth of
samples per video frame and paces itself on how much the device has consumed, so the sound
card's clock is the master whenever a device is in use.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Protocol

import numpy as np

from studio.core.errors import DependencyError, UserInputError
from studio.core.media import AudioChunk
from studio.outputs.base import (
    FramePolicy,
    Output,
    OutputSpec,
    OutputState,
    ProgramFormat,
    ProgramFrame,
    register_output,
)


class AudioSink(Protocol):
    sample_rate_hz: int

    def write(self, chunk: AudioChunk) -> None: ...

    @property
    def buffered_samples(self) -> int: ...

    @property
    def underruns(self) -> int: ...

    @property
    def alive(self) -> bool: ...

    @property
    def device_latency_samples(self) -> int: ...

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
    def device_latency_samples(self) -> int:
        """What PortAudio reports between the callback and the speaker."""
        return round(float(self._stream.latency) * self.sample_rate_hz)

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


class AudioDeviceOutput(Output):
    """The program audio on a sound device. While it plays, its clock paces the show: the
    engine renders the next frame when the device has played down to ``AUDIO_TARGET_S``."""

    kind: ClassVar[str] = "audio"
    policy: ClassVar[FramePolicy] = FramePolicy.DROP
    paces: ClassVar[bool] = True

    def __init__(self, spec: OutputSpec, sink: AudioSink | None = None) -> None:
        super().__init__(spec)
        self.name = f"audio: {spec.target or 'default device'}"
        self._sink = sink
        self._gain = 1.0

    def open(self, fmt: ProgramFormat, start_samples: int) -> None:
        if self._sink is None:
            self._sink = SoundDeviceSink(parse_device(self.spec.target), fmt.sample_rate_hz)
        self.set_state(OutputState.UP)

    @property
    def sink(self) -> AudioSink:
        assert self._sink is not None, "open() first"
        return self._sink

    def send_video(self, frame: ProgramFrame) -> None:
        pass

    def send_audio(self, chunk: AudioChunk) -> None:
        if self._sink is not None and self.state == OutputState.UP:
            if self._gain != 1.0:
                chunk = AudioChunk(chunk.pts_samples, chunk.samples * np.float32(self._gain),
                                   chunk.sample_rate_hz)
            self._sink.write(chunk)

    def buffered_samples(self) -> int:
        return self._sink.buffered_samples if self._sink is not None else 0

    @property
    def underruns(self) -> int:
        return self._sink.underruns if self._sink is not None else 0

    @property
    def alive(self) -> bool:
        return self._sink is not None and self._sink.alive

    def latency_samples(self) -> int:
        return self._sink.device_latency_samples if self._sink is not None else 0

    def set_volume(self, volume: float, muted: bool) -> None:
        """Device gain (the program level elsewhere is unchanged)."""
        self._gain = 0.0 if muted else volume

    def play_test_tone(self, seconds: float = 1.0) -> None:
        """Mix a 1 kHz tone at -18 dBFS into what this device plays next."""
        raise NotImplementedError  # helper C

    def lost(self, reason: str) -> None:
        """The device stopped consuming: this output is down; the show goes on without it."""
        self.set_state(OutputState.DOWN, reason)
        if self._sink is not None:
            self._sink.close()

    def close(self) -> None:
        if self._sink is not None and self.state != OutputState.DOWN:
            self._sink.close()
            self.set_state(OutputState.STOPPED)


register_output("audio", AudioDeviceOutput, "program audio on a sound device")
