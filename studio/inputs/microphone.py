"""A microphone through sounddevice (PortAudio): mono float32, at the engine's rate when the
device offers it, else at the device's own rate, resampled.

The PortAudio callback only copies into a preallocated ring and notes the block's level;
``read`` takes what arrived into a small jitter buffer and hands out exactly n samples. The
buffer aims at one read plus the device's latency (and a block of margin): what stays
above that for half a second is dropped (the engine paused, or the device's clock runs a
little fast), anything beyond ~200 ms at once, and a read that finds too little gets
silence, counted as an underrun (the device runs slow or stalled). A stream that stops by
itself, or no callback for a second (unplugged, the sound server gone), is LOST and
reopened with backoff.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from studio.core.backoff import Backoff
from studio.core.errors import DependencyError, StudioError, UserInputError
from studio.core.portaudio import portaudio_devices, sounddevice_module
from studio.inputs.base import (
    AudioInput,
    InputHealth,
    InputSpec,
    InputState,
    LevelMeter,
    option_number,
    register_audio_input,
)
from studio.inputs.media import MonoResampler

_LOG = logging.getLogger("studio.inputs")

RING_S = 2.0  # what the callback can hold before the reader takes it
MAX_BUFFER_S = 0.2  # beyond this the jitter buffer drops the oldest samples
WINDOW_READS = 15  # reads (~0.5 s) over which a buffer that stays too full is trimmed
STALL_S = 1.0  # no callback for this long: the microphone is lost
LOST_REASON = "the microphone stopped (unplugged, or the sound server went away); reconnecting"
CHOOSE = "choose another in Settings ▸ Inputs or with --mic"
@dataclass(frozen=True, slots=True)
class MicrophoneInfo:
    """An input device as PortAudio lists it."""

    name: str
    index: int
    host_api: str
    channels: int  # input channels
    default: bool  # PortAudio's default input device
    default_rate_hz: int

    @property
    def label(self) -> str:
        return f"{self.index} {self.name!r} ({self.host_api})"

    def __str__(self) -> str:
        return self.label + (" · default" if self.default else "")


def list_microphones() -> list[MicrophoneInfo]:
    """Every device PortAudio can record from, the default flagged (PortAudio reads the list
    when it starts: a microphone plugged in later shows after the app restarts)."""
    return [MicrophoneInfo(d.name, d.index, d.host_api, d.channels, d.default,
                           d.default_rate_hz) for d in portaudio_devices("input")]


def _list_text(mics: list[MicrophoneInfo]) -> str:
    return ", ".join(m.label for m in mics) if mics else "none"


def resolve_microphone(target: str) -> MicrophoneInfo:
    """The microphone named by ``target``: "" or "default", a number, an exact name, or part
    of one name; ``UserInputError`` listing those that exist."""
    mics = list_microphones()
    wanted = target.strip().lower()
    if wanted in {"", "default"}:
        found = next((m for m in mics if m.default), None) or (mics[0] if mics else None)
        if found is None:
            raise DependencyError("no microphone is available; plug one in or start the sound "
                                  "server (PipeWire, PulseAudio or JACK), or use an audio file "
                                  "with --mic FILE")
        return found
    if wanted.isdigit():
        found = next((m for m in mics if m.index == int(wanted)), None)
        if found is None:
            raise UserInputError(f"microphone {target} not found; microphones: "
                                 f"{_list_text(mics)}; {CHOOSE}")
        return found
    exact = [m for m in mics if m.name.lower() == wanted
             or f"{m.name} ({m.host_api})".lower() == wanted]
    matches = exact or [m for m in mics if wanted in m.name.lower()]
    if not matches:
        raise UserInputError(f"microphone {target!r} not found; microphones: "
                             f"{_list_text(mics)}; {CHOOSE}")
    if len(matches) > 1:
        raise UserInputError(f"microphone {target!r} matches several: {_list_text(matches)}; "
                             "name one exactly or by its number")
    return matches[0]


class DeviceMicrophone(AudioInput):
    realtime: ClassVar[bool] = True

    def __init__(self, spec: InputSpec) -> None:
        super().__init__(spec)
        self._backoff = Backoff(first_s=option_number(spec, "retry_s", 0.05, 60) or 0.5)
        self._lock = threading.Lock()
        self._meter = LevelMeter()
        self._ring = np.zeros(0, dtype=np.float32)
        self._written = 0  # samples the callback wrote (device rate) into this stream's ring
        self._received = 0  # all streams together
        self._device_gone = False
        self._open_error = ""
        self._stream_started_ns = 0
        self._read_pos = 0
        self._last_callback_ns = 0
        self._fifo = np.zeros(0, dtype=np.float32)  # the jitter buffer, at the engine rate
        self._primed = False
        self._reads_in_window = 0
        self._low_water = 0  # the least left in the jitter buffer after a read, this window
        self._max_block = 0  # the largest block the callback got
        self._stream: Any = None
        self._resampler: MonoResampler | None = None
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self.device: MicrophoneInfo | None = None
        self.sample_rate_hz = 0
        self.device_rate_hz = 0
        self.latency_samples = 0  # PortAudio's input latency, at the engine rate
        self.underruns = 0
        self.dropped = 0  # samples dropped by the jitter buffer or a ring overrun
        self.overflows = 0  # PortAudio's own input overflows

    # --- opening ------------------------------------------------------------------------
    def open(self, sample_rate_hz: int) -> None:
        self.set_state(InputState.STARTING)
        self.sample_rate_hz = sample_rate_hz
        try:
            self.device = resolve_microphone(self.spec.target)
            self._start_stream()
        except StudioError as exc:
            self.set_state(InputState.DOWN, str(exc))
            raise
        self._stop.clear()
        self._monitor = threading.Thread(target=self._watch, name="mic-monitor", daemon=True)
        self._monitor.start()

    def _device_rate(self, sounddevice: Any, device: MicrophoneInfo) -> int:
        try:
            sounddevice.check_input_settings(device=device.index, channels=1, dtype="float32",
                                             samplerate=self.sample_rate_hz)
            return self.sample_rate_hz
        except Exception:  # the device does not do the engine's rate: resample its own
            return device.default_rate_hz

    def _start_stream(self) -> None:
        sounddevice = sounddevice_module()
        assert self.device is not None
        rate = self._device_rate(sounddevice, self.device)
        with self._lock:
            self.device_rate_hz = rate
            self._ring = np.zeros(int(RING_S * rate), dtype=np.float32)
            self._written = 0
            self._read_pos = 0
            self._fifo = np.zeros(0, dtype=np.float32)
            self._primed = False
            self._last_callback_ns = 0
            self._max_block = 0
        self._resampler = None if rate == self.sample_rate_hz \
            else MonoResampler(rate, self.sample_rate_hz)
        try:
            stream = sounddevice.InputStream(device=self.device.index, samplerate=rate,
                                             channels=1, dtype="float32", latency="low",
                                             callback=self._callback)
            stream.start()
        except Exception as exc:  # PortAudioError: busy, unsupported, server gone
            self._open_error = str(exc)
            raise UserInputError(f"microphone {self.device.label} cannot be opened ({exc}); "
                                 "close the program that holds it, or " + CHOOSE) from None
        self._stream = stream
        self._stream_started_ns = time.monotonic_ns()
        self.latency_samples = round(float(stream.latency) * self.sample_rate_hz)

    def _callback(self, indata: Any, frames: int, _time_info: Any, status: Any) -> None:
        """PortAudio's thread: copy into the ring, note the level; nothing else."""
        samples = indata[:, 0]
        now_ns = time.monotonic_ns()
        with self._lock:
            size = self._ring.shape[0]
            start = self._written % size
            first = min(frames, size - start)
            self._ring[start:start + first] = samples[:first]
            self._ring[:frames - first] = samples[first:]
            self._written += frames
            self._received += frames
            self._last_callback_ns = now_ns
            self._max_block = max(self._max_block, frames)
            self._meter.push(samples, now_ns / 1e9)
            if status.input_overflow:
                self.overflows += 1

    # --- losing it and getting it back ----------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            stream = self._stream
            with self._lock:
                last_ns = self._last_callback_ns
            now_ns = time.monotonic_ns()
            if stream is not None and stream.active and last_ns and \
                    now_ns - last_ns < STALL_S * 1e9:
                if self.state != InputState.LIVE:
                    self._backoff.reset()
                    self.set_state(InputState.LIVE)
                continue
            if stream is not None and stream.active and not last_ns and \
                    now_ns - self._stream_started_ns < 2 * STALL_S * 1e9:
                continue  # no callback yet: a stream may take a moment to start
            if stream is None or not stream.active or now_ns - last_ns >= STALL_S * 1e9:
                if stream is not None:
                    self._stream = None
                    self._device_gone = True
                    self._abandon(stream)
                    self.set_state(InputState.LOST, LOST_REASON)
                if self._stop.wait(self._backoff.next_delay_s()):
                    return
                try:
                    self._start_stream()
                    self.reconnects += 1
                except StudioError:
                    self.set_state(InputState.LOST,
                                   f"{LOST_REASON} (last try: {self._open_error})")

    @staticmethod
    def _abandon(stream: Any) -> None:
        """Stop a stream without ever blocking long (PortAudio can hang on a dead device)."""

        def stop() -> None:
            with contextlib.suppress(Exception):
                stream.abort()
                stream.close()

        closer = threading.Thread(target=stop, name="mic-close", daemon=True)
        closer.start()
        closer.join(timeout=1.0)

    def close(self) -> None:
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=2.0)
            self._monitor = None
        if self._stream is not None:
            self._abandon(self._stream)
            self._stream = None
        if self._device_gone:
            # PortAudio hangs at exit (its JACK host API) once a device it used is gone:
            # skip its exit handler so the app can quit; the OS frees the device.
            import atexit

            atexit.unregister(sounddevice_module()._exit_handler)
        self.set_state(InputState.OFF)

    # --- the engine's side ------------------------------------------------------------------
    def _take_arrived(self) -> npt.NDArray[np.float32]:
        with self._lock:
            size = self._ring.shape[0]
            available = self._written - self._read_pos
            if size and available > size:  # the ring overran: the oldest are gone
                self.dropped += available - size
                self._read_pos = self._written - size
                available = size
            if available <= 0:
                return np.zeros(0, dtype=np.float32)
            start = self._read_pos % size
            first = min(available, size - start)
            arrived = np.concatenate((self._ring[start:start + first],
                                      self._ring[:available - first]))
            self._read_pos = self._written
        return self._resampler.push(arrived) if self._resampler is not None else arrived

    def read(self, pts_samples: int, n_samples: int) -> npt.NDArray[np.float32]:
        arrived = self._take_arrived()
        fifo = np.concatenate((self._fifo, arrived)) if arrived.shape[0] else self._fifo
        extra = self.target_extra_samples
        if not self._primed:
            if fifo.shape[0] < n_samples + extra:  # not started yet: silence, no underrun
                self._fifo = fifo
                return np.zeros(n_samples, dtype=np.float32)
            fifo = fifo[fifo.shape[0] - n_samples - extra:]  # start with the least delay
            self._primed = True
            self._reads_in_window = 0
            self._low_water = fifo.shape[0]
        elif fifo.shape[0] > n_samples + round(MAX_BUFFER_S * self.sample_rate_hz):
            fifo = self._drop(fifo, fifo.shape[0] - n_samples - extra)  # far behind: catch up
        if fifo.shape[0] < n_samples:
            if self.state == InputState.LIVE:  # lost: silence is expected, said once
                self.underruns += 1
            self._fifo = fifo
            self._low_water = 0
            return np.zeros(n_samples, dtype=np.float32)
        out = np.array(fifo[:n_samples], dtype=np.float32)
        fifo = fifo[n_samples:]
        # Left over after each read: if it never fell to the target over a window (the
        # engine paused, or the device's clock runs fast), the delay it adds is dropped.
        self._low_water = min(self._low_water, fifo.shape[0])
        self._reads_in_window += 1
        if self._reads_in_window >= WINDOW_READS:
            if self._low_water > extra + self._margin_samples():
                fifo = self._drop(fifo, self._low_water - extra)
            self._reads_in_window = 0
            self._low_water = fifo.shape[0]
        self._fifo = fifo
        return out

    def _drop(self, fifo: npt.NDArray[np.float32], n: int) -> npt.NDArray[np.float32]:
        n = max(0, min(n, fifo.shape[0]))
        self.dropped += n
        return fifo[n:]

    def _margin_samples(self) -> int:
        return round(0.005 * self.sample_rate_hz)

    @property
    def target_extra_samples(self) -> int:
        """What the jitter buffer keeps beyond one read: the device's latency or its largest
        block (JACK reports no input latency), plus a block against scheduling jitter, at
        the engine rate."""
        block = self._max_block * self.sample_rate_hz // max(1, self.device_rate_hz)
        return max(self.latency_samples, block) + block

    @property
    def buffered_samples(self) -> int:
        """Samples waiting in the jitter buffer (engine rate)."""
        return int(self._fifo.shape[0])

    def health(self) -> InputHealth:
        with self._lock:
            peak, rms, silent, clipping = self._meter.report(time.monotonic_ns() / 1e9)
            received = self._received
        return InputHealth(self.name, self.kind, self.state, self.reason, frames=received,
                           peak_dbfs=peak, rms_dbfs=rms, silent=silent, clipping=clipping,
                           reconnects=self.reconnects, dropped=self.dropped,
                           underruns=self.underruns)


register_audio_input("device", DeviceMicrophone)
