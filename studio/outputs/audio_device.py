"""Program audio to a sound device through PortAudio (sounddevice), behind a small interface.

The device callback only copies from a ring buffer; the engine writes one frame's worth of
samples per video frame and paces itself on how much the device has consumed, so the sound
card's clock is the master whenever a device is in use. The callback also notes when each
buffer reaches the DAC (PortAudio's ``outputBufferDacTime``), so ``heard_at_monotonic_s``
tells when any sample is heard: what a picture shown with it must wait for.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from studio.core.backoff import Backoff
from studio.core.errors import DependencyError, StudioError, UserInputError
from studio.core.media import AudioChunk
from studio.core.portaudio import (
    portaudio_devices,
    sounddevice_module,
)
from studio.outputs.base import (
    FramePolicy,
    Output,
    OutputSpec,
    OutputState,
    ProgramFormat,
    ProgramFrame,
    register_output,
)

_LOG = logging.getLogger("studio.outputs.audio")


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


# --- which devices exist ------------------------------------------------------------------
NO_DEVICE_FIX = ("connect speakers or headphones, or start the sound server (PipeWire, "
                 "PulseAudio or JACK), then add the audio output again")


@dataclass(frozen=True, slots=True)
class AudioDeviceInfo:
    """An output device as PortAudio lists it."""

    name: str
    index: int
    host_api: str
    channels: int  # output channels
    default: bool  # PortAudio's default output device

    @property
    def label(self) -> str:
        """How the operator sees it: ``0 'system' (JACK)``."""
        return f"{self.index} {self.name!r} ({self.host_api})"


def list_output_devices(sounddevice: Any = None) -> list[AudioDeviceInfo]:
    """Every device PortAudio can play to, the default one flagged. PortAudio reads the list
    when it starts: a device plugged in later shows after a restart of the app, or in a
    PortAudio started again (``fresh_portaudio``)."""
    return [AudioDeviceInfo(d.name, d.index, d.host_api, d.channels, d.default)
            for d in portaudio_devices("output", sounddevice)]


def _portaudio_path(sounddevice: Any) -> str | None:
    """The PortAudio library this process loaded (from its memory map), or None."""
    name = str(getattr(sounddevice, "_libname", "") or "")
    if os.path.isabs(name):
        return name
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            for line in maps:
                path = line.split(None, 5)[5].strip() if len(line.split(None, 5)) == 6 else ""
                if "libportaudio" in os.path.basename(path) and os.path.exists(path):
                    return path
    except OSError:
        pass
    return None


def fresh_portaudio() -> Any:
    """A new, separate PortAudio (a sounddevice module over its own copy of the library),
    which lists the devices as they are now.

    PortAudio reads its devices once, and cannot be started again in this process after a
    device (or JACK's server) went away: ``Pa_Terminate`` then hangs closing the dead
    stream. A private copy of the library has its own state, so the device can be opened
    again while the dead stream is left alone. Raises ``DependencyError`` where there is no
    library file to copy (then the output stays down, as before)."""
    import ctypes.util
    import importlib.util
    import shutil
    import tempfile

    current = sounddevice_module()
    source = _portaudio_path(current)
    spec = importlib.util.spec_from_file_location("sounddevice", current.__file__)
    if source is None or spec is None or spec.loader is None:
        raise DependencyError("PortAudio cannot be started again in this process; restart "
                              "the studio to hear the sound device")
    fd, copy = tempfile.mkstemp(prefix="livehost-portaudio-", suffix=".so")
    os.close(fd)
    module = importlib.util.module_from_spec(spec)
    find_library = ctypes.util.find_library
    with _FRESH_LOCK:
        try:
            shutil.copyfile(source, copy)
            ctypes.util.find_library = (  # type: ignore[assignment]
                lambda name: copy if name == "portaudio" else find_library(name))
            spec.loader.exec_module(module)  # dlopen the copy, and Pa_Initialize
        finally:
            ctypes.util.find_library = find_library  # type: ignore[assignment]
            os.unlink(copy)  # mapped, it stays loaded
    return module


def drop_portaudio(sounddevice: Any) -> None:
    """Let go of a fresh PortAudio that opened nothing (no stream: safe to terminate)."""
    import atexit

    with contextlib.suppress(Exception):
        atexit.unregister(sounddevice._exit_handler)
        sounddevice._terminate()
        sounddevice._ffi.dlclose(sounddevice._lib)


_FRESH_LOCK = threading.Lock()


def _opens(sounddevice: Any, device: AudioDeviceInfo, sample_rate_hz: int) -> bool:
    """PortAudio lists some devices that do not open (a sound server's plugin with no server,
    a card another program holds): try, without playing anything."""
    try:
        stream = sounddevice.OutputStream(device=device.index, samplerate=sample_rate_hz,
                                          channels=min(2, device.channels), dtype="float32")
    except Exception:
        return False
    with contextlib.suppress(Exception):  # a stream that never started: nothing to lose
        stream.close()
    return True


def default_output_device(sample_rate_hz: int = 48_000) -> AudioDeviceInfo | None:
    """The system's default output device if it exists and opens, else None (no sound card,
    no sound server): then the program audio stays off rather than failing."""
    try:
        sounddevice = sounddevice_module()
    except DependencyError:
        return None
    default = next((d for d in list_output_devices() if d.default), None)
    if default is None or not _opens(sounddevice, default, sample_rate_hz):
        return None
    return default


def _device_list(devices: list[AudioDeviceInfo]) -> str:
    return ", ".join(d.label for d in devices) if devices else "none"


def resolve_output_device(device: str | int | None,
                          sounddevice: Any = None) -> AudioDeviceInfo:
    """The device the operator named (None: the default): an index, an exact name, or a
    part of one name. Raises ``UserInputError`` listing the devices that exist."""
    devices = list_output_devices(sounddevice)
    choose = "choose one in Settings ▸ Audio or --out audio:NAME"
    if device is None:
        found = next((d for d in devices if d.default), None)
        if found is None:
            raise DependencyError(f"no sound output device is available ({NO_DEVICE_FIX}); "
                                  f"devices: {_device_list(devices)}")
        return found
    if isinstance(device, int):
        found = next((d for d in devices if d.index == device), None)
        if found is None:
            raise UserInputError(f"audio device {device} not found; devices: "
                                 f"{_device_list(devices)}; {choose}")
        return found
    wanted = device.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted
             or f"{d.name} ({d.host_api})".lower() == wanted]
    partial = [d for d in devices if wanted in d.name.lower()]
    matches = exact or partial
    if not matches:
        raise UserInputError(f"audio device {device!r} not found; devices: "
                             f"{_device_list(devices)}; {choose}")
    if len(matches) > 1:
        raise UserInputError(f"audio device {device!r} matches several: "
                             f"{_device_list(matches)}; name one exactly or by its number")
    return matches[0]


# No callback for this long: the device is gone. Callbacks come every few ms (512 frames at
# 48 kHz is 11 ms); a loaded machine delays them by tens of ms, never by this much.
CALLBACKS_GONE_S = 0.3


class SoundDeviceSink:
    """Mono program audio to a PortAudio output device (duplicated to every channel)."""

    timing_history: ClassVar[int] = 512  # callbacks remembered (~5 s at 512 frames each)
    clock_window: ClassVar[int] = 64  # callbacks over which the clock offset is estimated

    def __init__(self, device: str | int | None = None, sample_rate_hz: int = 48_000,
                 channels: int = 2, capacity_s: float = 2.0, latency_s: float = 0.05,
                 sounddevice: Any = None) -> None:
        if sounddevice is None:
            sounddevice = sounddevice_module()
        self._sounddevice = sounddevice  # this PortAudio (``fresh_portaudio`` makes others)
        self.device = resolve_output_device(device, sounddevice)
        self.sample_rate_hz = sample_rate_hz
        self._ring = np.zeros(int(capacity_s * sample_rate_hz), dtype=np.float32)
        self._read = 0
        self._write = 0
        self._lock = threading.Lock()
        self._underruns = 0
        self._started = False
        self._pts_base: int | None = None  # engine sample of ring position 0
        # Per callback: ring position of its first sample, samples it took from the ring,
        # its buffer size, and when (stream clock) that buffer reaches the DAC.
        self._timing: deque[tuple[int, int, int, float]] = deque(maxlen=self.timing_history)
        self._clock_offsets: deque[float] = deque(maxlen=self.clock_window)
        self._dac_delays_s: deque[float] = deque(maxlen=self.clock_window)
        self._latency_s = latency_s  # until PortAudio says what it is
        self._last_callback_s: float | None = None  # time.monotonic of the last callback
        try:
            self._stream: Any = sounddevice.OutputStream(
                device=self.device.index, samplerate=sample_rate_hz,
                channels=min(channels, self.device.channels), dtype="float32",
                latency=latency_s, callback=self._callback)
        except Exception as exc:  # PortAudioError: busy, unsupported rate, server gone
            raise UserInputError(f"audio device {self.device.label} cannot be opened ({exc}); "
                                 "close the program that holds it, or choose another in "
                                 "Settings ▸ Audio or --out audio:NAME") from None
        self._latency_s = float(self._stream.latency)

    @property
    def device_name(self) -> str:
        """The device in use, as PortAudio names it (e.g. "system" on JACK)."""
        return self.device.name

    def _callback(self, out: Any, frames: int, time_info: Any, _status: Any) -> None:
        now_s = time.monotonic()
        self._last_callback_s = now_s
        with self._lock:
            available = self._write - self._read
            n = min(frames, available)
            size = len(self._ring)
            start = self._read % size
            first = min(n, size - start)
            out[:first] = self._ring[start:start + first, None]
            out[first:n] = self._ring[:n - first, None]
            out[n:] = 0.0
            current_s = float(time_info.currentTime)
            dac_s = float(time_info.outputBufferDacTime)
            if current_s <= 0.0 or dac_s <= 0.0:  # a host API that does not tell
                current_s, dac_s = now_s, now_s + self._latency_s
            # The callback runs some time after PortAudio read its clock; the smallest gap
            # seen lately is the best estimate of the stream clock against time.monotonic.
            self._clock_offsets.append(now_s - current_s)
            self._dac_delays_s.append(dac_s - current_s)
            self._timing.append((self._read, n, frames, dac_s))
            self._read += n
            if n < frames and self._started:
                self._underruns += 1

    def heard_at_monotonic_s(self, sample_index: int) -> float | None:
        """When (``time.monotonic``) the engine sample ``sample_index`` reaches the DAC, from
        the callback that played it or, for one still in the buffer, the latest callback;
        None before the device has played anything."""
        with self._lock:
            if not self._timing or self._pts_base is None:
                return None
            position = sample_index - self._pts_base
            starts = [t[0] for t in self._timing]
            k = max(0, bisect.bisect_right(starts, position) - 1)
            read_start, n, frames, dac_s = self._timing[k]
            offset_s = min(self._clock_offsets)
        ahead = position - read_start
        if ahead >= n:  # not played yet: it follows this buffer (its silent tail included)
            ahead += frames - n
        return dac_s + offset_s + ahead / self.sample_rate_hz

    def write(self, chunk: AudioChunk) -> None:
        data = chunk.samples
        with self._lock:
            if self._pts_base is None:
                self._pts_base = chunk.pts_samples - self._write
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
        return round(self._latency_s * self.sample_rate_hz)

    @property
    def dac_delay_samples(self) -> int | None:
        """Measured: from a callback to its first sample at the DAC (PortAudio's
        ``outputBufferDacTime - currentTime``), once the device has played; None before.
        On JACK this is two periods where ``stream.latency`` reports one."""
        with self._lock:
            if not self._dac_delays_s:
                return None
            delay_s = float(np.median(self._dac_delays_s))
        return round(delay_s * self.sample_rate_hz)

    @property
    def alive(self) -> bool:
        """False once a started stream has stopped by itself (device unplugged, server gone),
        or its callbacks stopped coming: PortAudio's JACK stream stays "active" for a while
        after its server died, and the show would wait on it meanwhile."""
        if not self._started:
            return True
        last = self._last_callback_s
        if last is not None and time.monotonic() - last > CALLBACKS_GONE_S:
            return False
        return bool(self._stream.active)

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
        # Against a device that is gone PortAudio's stop hangs: the caller (the engine's frame
        # loop) does not wait for it then.
        closer.join(timeout=0.0 if device_gone else 1.0)
        if device_gone or closer.is_alive():
            # PortAudio hangs or aborts (an assertion in its JACK host API) when it shuts
            # down against a device that is gone; skip its exit handler so the app can quit.
            # The OS frees the device at exit.
            import atexit

            atexit.unregister(self._sounddevice._exit_handler)


DEVICE_GONE = ("the audio device stopped playing (unplugged, or its server quit); the show "
               "goes on, paced by the system clock")
TONE_HZ = 1000.0
TONE_PEAK = 10 ** (-18 / 20)  # -18 dBFS: the usual line-up level (RMS -21 dBFS)
TONE_FADE_S = 0.005
GAIN_RAMP_S = 0.005  # a volume change or mute glides this long: no click


class AudioDeviceOutput(Output):
    """The program audio on a sound device. While it plays, its clock paces the show: the
    engine renders the next frame when the device has played down to ``AUDIO_TARGET_S``.

    Volume, mute and the test tone are this device's alone: recordings and streams keep the
    program level, and the engine's meter reads the program before this fader."""

    kind: ClassVar[str] = "audio"
    policy: ClassVar[FramePolicy] = FramePolicy.DROP
    paces: ClassVar[bool] = True

    def __init__(self, spec: OutputSpec, sink: AudioSink | None = None) -> None:
        super().__init__(spec)
        self.name = f"audio: {spec.target or 'default device'}"
        self._sink = sink
        self._gain = 1.0  # applied to the last sample sent
        self._target_gain = 1.0
        self._tone_at = 0  # samples of the tone already played
        self._tone_samples = 0  # its whole length (0: no tone)
        self._reopens = sink is None  # a device this output opened itself is reopened
        self._rate_hz = 48_000
        self._closing = threading.Event()
        self._reopener: threading.Thread | None = None
        self.reopen_backoff = Backoff(0.5, 10.0)

    def open(self, fmt: ProgramFormat, start_samples: int) -> None:
        self._rate_hz = fmt.sample_rate_hz
        if self._sink is None:
            self._sink = SoundDeviceSink(parse_device(self.spec.target), fmt.sample_rate_hz)
        self.set_state(OutputState.UP)

    def _reopen(self) -> None:
        """Own thread, after the device went away: try it again with backoff, each time in
        a fresh PortAudio (the old one cannot see it come back, nor start again)."""
        while not self._closing.wait(self.reopen_backoff.next_delay_s()):
            try:
                portaudio = fresh_portaudio()
            except StudioError as exc:
                self.set_state(OutputState.DOWN, f"{DEVICE_GONE}: {exc}",
                               code="audio.device_lost")
                return
            except Exception:
                _LOG.warning("PortAudio could not be started again", exc_info=True)
                continue
            try:
                sink = SoundDeviceSink(parse_device(self.spec.target), self._rate_hz,
                                       sounddevice=portaudio)
            except StudioError:  # not back yet
                drop_portaudio(portaudio)
                continue
            if self._closing.is_set():
                sink.close()
                return
            sys.modules["sounddevice"] = portaudio  # what lists the devices from now on
            self._sink = sink  # before UP: the engine feeds it from then on
            self.reconnects += 1
            self.reopen_backoff.reset()
            self.set_state(OutputState.UP, f"the audio device {sink.device.label} is back",
                           code="audio.device_back")
            return

    @property
    def sink(self) -> AudioSink:
        assert self._sink is not None, "open() first"
        return self._sink

    @property
    def device_name(self) -> str:
        """The device playing, once open ("" before, or for a sink without a name)."""
        return str(getattr(self._sink, "device_name", ""))

    def send_video(self, frame: ProgramFrame) -> None:
        pass

    def send_audio(self, chunk: AudioChunk) -> None:
        if self._sink is None or self.state != OutputState.UP:
            return
        samples = chunk.samples
        if self._gain != 1.0 or self._target_gain != 1.0:
            samples = samples * self._gains(len(samples))
        if self._tone_samples:
            samples = np.clip(samples + self._tone(len(samples), chunk.sample_rate_hz),
                              -1.0, 1.0, dtype=np.float32)
        if samples is not chunk.samples:
            chunk = AudioChunk(chunk.pts_samples, samples.astype(np.float32, copy=False),
                               chunk.sample_rate_hz)
        self._sink.write(chunk)

    def _gains(self, n: int) -> npt.NDArray[np.float32]:
        """Per-sample gain for the next ``n`` samples: a short ramp after a change."""
        start, end = self._gain, self._target_gain
        self._gain = end
        if start == end:
            return np.full(n, end, dtype=np.float32)
        ramp = max(1, round(GAIN_RAMP_S * self.sink.sample_rate_hz))
        gains = np.full(n, end, dtype=np.float32)
        k = min(n, ramp)
        gains[:k] = start + (end - start) * (np.arange(1, k + 1, dtype=np.float32) / ramp)
        if k < ramp:  # a chunk shorter than the ramp: carry on in the next one
            self._gain = float(gains[k - 1]) if k else start
        return gains

    def _tone(self, n: int, rate_hz: int) -> npt.NDArray[np.float32]:
        """The next ``n`` samples of the test tone (zeros after its end)."""
        k = np.arange(self._tone_at, self._tone_at + n, dtype=np.float64)
        fade = TONE_FADE_S * rate_hz
        envelope = np.clip(np.minimum(k + 1, self._tone_samples - k) / fade, 0.0, 1.0)
        tone = TONE_PEAK * np.sin(2 * math.pi * TONE_HZ / rate_hz * k) * envelope
        self._tone_at += n
        if self._tone_at >= self._tone_samples:
            self._tone_at = self._tone_samples = 0
        return tone.astype(np.float32)

    def buffered_samples(self) -> int:
        return self._sink.buffered_samples if self._sink is not None else 0

    @property
    def underruns(self) -> int:
        return self._sink.underruns if self._sink is not None else 0

    @property
    def alive(self) -> bool:
        """False once the device is gone. The engine asks before every feed and while it
        paces on the device: the first to find it gone takes this output down, so the loss
        is reported (OutputsChanged, a Problem) rather than the output silently skipped."""
        if self._sink is None:
            return False
        if self._sink.alive:
            return True
        if self.state == OutputState.UP:
            self.lost(DEVICE_GONE)
        return False

    def latency_samples(self) -> int:
        """From taking samples to the DAC: measured once the device plays (see
        ``SoundDeviceSink.dac_delay_samples``), PortAudio's figure before."""
        if self._sink is None:
            return 0
        measured = getattr(self._sink, "dac_delay_samples", None)
        return int(measured) if measured is not None else self._sink.device_latency_samples

    def heard_at_monotonic_s(self, sample_index: int) -> float | None:
        """When the engine sample ``sample_index`` reaches this device's DAC (monotonic
        clock), or None if the sink cannot tell yet."""
        heard_at = getattr(self._sink, "heard_at_monotonic_s", None)
        return heard_at(sample_index) if heard_at is not None else None

    def set_volume(self, volume: float, muted: bool) -> None:
        """Device gain (the program level elsewhere is unchanged); glides over 5 ms."""
        self._target_gain = 0.0 if muted else float(volume)

    def play_test_tone(self, seconds: float = 1.0) -> None:
        """Mix a 1 kHz tone at -18 dBFS peak into what this device plays next, on top of the
        program, with 5 ms fades. It is a line-up level, so the device's volume and mute do
        not change it. Asked again while it plays, the tone goes on (no click)."""
        if not 0.1 <= seconds <= 60.0:
            raise ValueError(f"a test tone of {seconds} s; choose 0.1 to 60 s")
        rate = self._sink.sample_rate_hz if self._sink is not None else 48_000
        self._tone_samples = self._tone_at + round(seconds * rate)

    def lost(self, reason: str) -> None:
        """The device stopped consuming: this output is down; the show goes on without it."""
        if self.state == OutputState.DOWN:
            return
        if self._reopens:
            reason = f"{reason}; it is opened again when it is back"
        self.set_state(OutputState.DOWN, reason, code="audio.device_lost")
        if self._sink is not None:
            self._sink.close()
        if self._reopens and not self._closing.is_set():
            self._reopener = threading.Thread(target=self._reopen, name="audio-reopen",
                                              daemon=True)
            self._reopener.start()

    def close(self) -> None:
        self._closing.set()
        if self._reopener is not None:
            self._reopener.join(timeout=5.0)
        if self._sink is not None and self.state != OutputState.DOWN:
            self._sink.close()
            self.set_state(OutputState.STOPPED)


register_output("audio", AudioDeviceOutput, "program audio on a sound device")
