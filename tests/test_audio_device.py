"""Program audio through real PortAudio to JACK's dummy driver, which plays in real time.

The dummy driver stands in for a sound card: it consumes samples at 48 kHz by its own clock,
so pacing by the device, underruns and a device that disappears are all real here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.core.errors import UserInputError
from studio.core.media import AudioChunk
from studio.engine import commands as cmd
from studio.engine.events import Event, FrameDelivered, ModeChanged, Problem, Status
from studio.engine.live import LiveEngine
from studio.outputs.audio_device import (
    TONE_PEAK,
    AudioDeviceOutput,
    SoundDeviceSink,
    default_output_device,
    list_output_devices,
)
from studio.outputs.base import OutputSpec, ProgramFormat, build_output, parse_target
from studio.program.switcher import Mode
from studio.show.loader import load_show
from tests.test_live_engine import SHOW

RATE = 48_000
FRAME_SAMPLES = 1600  # one video frame at 30 fps


def _start_jackd(jackd: str, server: str) -> subprocess.Popen[bytes]:
    command = [jackd, "-n", server, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "512"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    no_other_server = subprocess.run(["pgrep", "-x", "jackd"], capture_output=True,
                                     text=True).stdout.split() in ([], [str(proc.pid)])
    if proc.poll() is not None and no_other_server:
        # JACK's shared registry still lists servers that were killed (it holds only a few):
        # with no server running, its files are stale and safe to clear.
        for stale in Path("/dev/shm").glob("jack*"):
            stale.unlink(missing_ok=True)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc


@pytest.fixture(scope="module")
def jack_server() -> Iterator[subprocess.Popen[bytes]]:
    """One server for the module (PortAudio cannot be re-initialised against a new one);
    the test that unplugs it runs last."""
    jackd = shutil.which("jackd")
    assert jackd, "jackd is missing: bash installers/studio.sh test installs jackd2"
    server = f"livehost-test-{os.getpid()}"  # never a stale server of a past run
    os.environ["JACK_DEFAULT_SERVER"] = server
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"
    os.environ["JACK_NO_START_SERVER"] = "1"
    proc = _start_jackd(jackd, server)
    import sounddevice

    deadline = time.monotonic() + 10
    while True:  # PortAudio lists JACK's ports only once the server answers
        time.sleep(0.3)
        assert proc.poll() is None, f"jackd exited with status {proc.returncode}"
        sounddevice._terminate()
        sounddevice._initialize()
        if any("JACK" in api["name"] and api["devices"] for api in sounddevice.query_hostapis()):
            break
        assert time.monotonic() < deadline, "the JACK dummy server did not come up"
    yield proc
    if proc.poll() is None:
        # PortAudio's JACK host API aborts the process at exit if its server went first:
        # let go of the server, stop it, then start PortAudio again for later tests.
        sounddevice._terminate()
        proc.terminate()
        proc.wait(5)
        sounddevice._initialize()


def test_device_plays_in_real_time(jack_server: subprocess.Popen[bytes]) -> None:
    sink = SoundDeviceSink()
    tone = (0.2 * np.sin(np.arange(48_000) * 2 * np.pi * 440 / 48_000)).astype(np.float32)
    started = time.monotonic()
    sink.write(AudioChunk(0, tone, 48_000))
    while sink.buffered_samples > 0 and time.monotonic() - started < 5:
        time.sleep(0.01)
    elapsed = time.monotonic() - started
    sink.close()
    assert 0.8 < elapsed < 1.5  # one second of audio took about a second to play


def test_live_show_is_paced_by_the_device(jack_server: subprocess.Popen[bytes],
                                          write_show: Callable[[str], Path],
                                          piper_voice: object) -> None:
    events: list[Event] = []
    engine = LiveEngine(load_show(write_show(SHOW)), width_px=320, height_px=180,
                        outputs=[OutputSpec("audio", "")], tts=piper_voice)  # type: ignore[arg-type]
    engine.subscribe(events.append)
    engine.start()

    def frames() -> list[FrameDelivered]:
        return [e for e in events if isinstance(e, FrameDelivered)]

    deadline = time.monotonic() + 20
    while len(frames()) < 15:  # on air (voice loaded, shaders compiled), buffer filled
        assert time.monotonic() < deadline, "the show did not go on air"
        time.sleep(0.01)
    n_start = len(frames())
    time.sleep(3.0)
    n_end = len(frames())
    engine.stop()
    status = [e for e in events if isinstance(e, Status)][-1]
    # The device consumes 48000 samples a second, 1600 a frame: 30 frames a second.
    assert 3.0 * 30 - 6 <= n_end - n_start <= 3.0 * 30 + 6
    assert status.audio_underruns == 0
    assert 0 < status.audio_buffer_ms <= 200
    assert not [e for e in events if isinstance(e, Problem)]


class CapturingSink(SoundDeviceSink):
    """The real PortAudio sink, keeping a copy of each buffer its callback gives the device,
    with the ring position of its first sample: exactly what the speaker gets, and when."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.buffers: list[tuple[int, int, np.ndarray]] = []
        super().__init__(*args, **kwargs)

    def _callback(self, out: Any, frames: int, time_info: Any, status: Any) -> None:
        start = self._read  # only this callback's thread moves it
        super()._callback(out, frames, time_info, status)
        self.buffers.append((start, self._read - start, np.array(out, copy=True)))

    def played(self, n_samples: int | None = None) -> np.ndarray:
        """What the device played for ring positions 0..n (NaN: never played)."""
        if n_samples is None:
            n_samples = max(start + n for start, n, _ in self.buffers)
        played = np.full(n_samples, np.nan, dtype=np.float32)
        for start, n, out in self.buffers:
            assert np.array_equal(out[:, 0], out[:, -1]), "every channel plays the program"
            end = min(start + n, n_samples)
            if end > start:
                played[start:end] = out[:end - start, 0]
        return played


def _feed(output: AudioDeviceOutput, chunks: list[np.ndarray],
          before: Callable[[int], None] = lambda i: None) -> None:
    """Send chunks the way the engine does: one frame's worth whenever the device has played
    down to 100 ms; ``before(i)`` runs before chunk ``i`` (a volume change, a tone)."""
    for i, samples in enumerate(chunks):
        deadline = time.monotonic() + 2
        while output.buffered_samples() > RATE // 10:
            assert time.monotonic() < deadline, "the device stopped playing"
            time.sleep(0.002)
        before(i)
        output.send_audio(AudioChunk(i * FRAME_SAMPLES, samples, RATE))
    deadline = time.monotonic() + 2
    while output.buffered_samples() > 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    output.close()


def _open(sink: SoundDeviceSink) -> AudioDeviceOutput:
    output = AudioDeviceOutput(OutputSpec("audio", ""), sink=sink)
    output.open(ProgramFormat(320, 180, Fraction(30)), 0)
    return output


def test_output_devices_are_listed(jack_server: subprocess.Popen[bytes]) -> None:
    devices = list_output_devices()
    jack = [d for d in devices if d.host_api == "JACK"]
    assert jack and jack[0].name == "system" and jack[0].channels >= 2
    assert [d for d in devices if d.default] == [jack[0]]
    assert default_output_device() == jack[0]  # it exists and it opens
    sink = SoundDeviceSink("system")
    assert sink.device_name == "system" and sink.device == jack[0]
    sink.close()


def test_a_missing_device_lists_the_devices_that_exist(
        jack_server: subprocess.Popen[bytes]) -> None:
    fmt = ProgramFormat(320, 180, Fraction(30))
    output = build_output(parse_target("audio:Foo"))
    with pytest.raises(UserInputError) as raised:
        output.open(fmt, 0)
    message = str(raised.value)
    assert "audio device 'Foo' not found" in message
    assert "0 'system' (JACK)" in message
    assert "Settings ▸ Audio" in message and "--out audio:NAME" in message
    with pytest.raises(UserInputError, match="audio device 7 not found; devices: 0 'system'"):
        build_output(parse_target("audio:7")).open(fmt, 0)
    found = build_output(parse_target("audio:SYS"))  # a part of one name is enough
    assert isinstance(found, AudioDeviceOutput)
    found.open(fmt, 0)
    assert found.device_name == "system"
    found.close()


PROBE = """
import json, sys
from studio.core.errors import StudioError
from studio.outputs.audio_device import SoundDeviceSink, default_output_device, list_output_devices
default = default_output_device()
result = {"devices": [d.label for d in list_output_devices()],
          "default": default.label if default else None}
try:
    SoundDeviceSink().close()
    result["sink"] = "opened"
except StudioError as exc:
    result["sink"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(result))
"""


def _probe(tmp_path: Path, alsa_config: str) -> dict[str, Any]:
    """PortAudio in a fresh process that sees only the given ALSA configuration (no JACK)."""
    config = tmp_path / "alsa.conf"
    config.write_text(alsa_config)
    env = {**os.environ, "ALSA_CONFIG_PATH": str(config), "JACK_NO_START_SERVER": "1",
           "JACK_DEFAULT_SERVER": f"no-such-server-{os.getpid()}"}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            env=env, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_no_sound_device_means_no_default(tmp_path: Path) -> None:
    # A machine like this one without JACK: the only card named does not exist.
    bare = _probe(tmp_path, "pcm.!default { type hw card 9 }\nctl.!default { type hw card 9 }\n")
    assert bare["devices"] == [] and bare["default"] is None
    assert bare["sink"].startswith("DependencyError: no sound output device is available")
    assert "connect speakers or headphones" in bare["sink"]
    # An ALSA device that exists and opens is the default.
    null = _probe(tmp_path, "pcm.!default { type null }\n")
    assert null["default"] == "0 'default' (ALSA)" and null["sink"] == "opened"


def test_pictures_and_sound_leave_together(jack_server: subprocess.Popen[bytes],
                                           write_show: Callable[[str], Path],
                                           piper_voice: object) -> None:
    """A viewer hears each frame's sound when its picture is shown (the preview's
    FrameDelivered), within one frame period, on average over a few seconds."""
    output = build_output(OutputSpec("audio", ""))
    assert isinstance(output, AudioDeviceOutput)
    offsets_s: list[float] = []
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, FrameDelivered):
            shown_at = time.monotonic()
            heard_at = output.heard_at_monotonic_s(event.pts_samples)
            if heard_at is not None:
                offsets_s.append(heard_at - shown_at)

    engine = LiveEngine(load_show(write_show(SHOW)), width_px=320, height_px=180,
                        outputs=[output], tts=piper_voice)  # type: ignore[arg-type]
    engine.subscribe(on_event)
    engine.start()
    deadline = time.monotonic() + 20
    while len(offsets_s) < 15:  # on air, buffer filled
        assert time.monotonic() < deadline, "the show did not go on air"
        time.sleep(0.01)
    n_start = len(offsets_s)
    time.sleep(3.0)
    engine.stop()
    measured = np.array(offsets_s[n_start:])
    status = [e for e in events if isinstance(e, Status)][-1]
    frame_s = 1 / 30
    assert abs(float(measured.mean())) <= frame_s, (
        f"sound {measured.mean() * 1000:+.1f} ms after the picture on average "
        f"(median {np.median(measured) * 1000:+.1f} ms; pictures held "
        f"{engine.present_delay_frames} frames; {len(measured)} frames in 3 s, "
        f"{status.audio_underruns} underruns)")
    assert len(measured) >= 80  # and the show ran in real time meanwhile


def test_volume_halves_the_samples_and_mute_silences_them(
        jack_server: subprocess.Popen[bytes]) -> None:
    sink = CapturingSink()
    output = _open(sink)
    n_chunks = 30
    t = np.arange(n_chunks * FRAME_SAMPLES) / RATE
    program = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    chunks = [program[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES] for i in range(n_chunks)]

    def before(i: int) -> None:
        if i == 10:
            output.set_volume(0.5, False)
        if i == 20:
            output.set_volume(0.5, True)

    _feed(output, chunks, before)
    played = sink.played(len(program))
    assert not np.isnan(played).any()  # every sample played, in order
    ramp = 240  # 5 ms: a change glides, it never clicks
    a, b = 10 * FRAME_SAMPLES, 20 * FRAME_SAMPLES
    assert np.array_equal(played[:a], program[:a])
    assert np.array_equal(played[a + ramp:b], program[a + ramp:b] * np.float32(0.5))
    assert np.all(np.abs(played[a:a + ramp]) <= np.abs(program[a:a + ramp]) + 1e-7)
    assert np.all(played[b + ramp:] == 0.0)
    assert np.all(np.abs(played[b:b + ramp]) <= 0.5 * np.abs(program[b:b + ramp]) + 1e-7)
    assert float(np.abs(np.diff(played)).max()) < 0.06  # no step: 440 Hz at 0.4 moves < 0.023


def test_test_tone_is_heard_at_minus_18_dbfs(jack_server: subprocess.Popen[bytes]) -> None:
    sink = CapturingSink()
    output = _open(sink)
    n_chunks = 25
    silence = np.zeros(FRAME_SAMPLES, dtype=np.float32)
    output.set_volume(0.5, True)  # a line-up tone ignores the device's fader

    def before(i: int) -> None:
        if i == 3:
            output.play_test_tone(0.5)

    _feed(output, [silence] * n_chunks, before)
    played = sink.played(n_chunks * FRAME_SAMPLES)
    assert not np.isnan(played).any()
    sounding = np.flatnonzero(np.abs(played) > 1e-6)
    start, end = int(sounding[0]), int(sounding[-1]) + 1
    assert start >= 3 * FRAME_SAMPLES - 1
    assert abs((end - start) - RATE // 2) <= 2  # half a second
    tone = played[start:end]
    steady = tone[480:-480]  # past the 5 ms fades
    rms_db = 20 * np.log10(np.sqrt(np.mean(steady.astype(np.float64) ** 2)))
    assert abs(rms_db - (-21.0)) <= 1.0  # -18 dBFS peak sine = -21 dBFS RMS
    assert abs(float(np.abs(steady).max()) - TONE_PEAK) < 0.002
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(len(steady))))
    assert abs(np.fft.rfftfreq(len(steady), 1 / RATE)[spectrum.argmax()] - 1000) < 5
    # Faded in and out over 5 ms: no click at either end.
    assert float(np.abs(tone[:24]).max()) < 0.15 * TONE_PEAK
    assert float(np.abs(tone[-24:]).max()) < 0.15 * TONE_PEAK
    assert float(np.abs(tone[200:240]).max()) > 0.7 * TONE_PEAK


def test_test_tone_plays_on_the_device_only(jack_server: subprocess.Popen[bytes],
                                            write_show: Callable[[str], Path],
                                            piper_voice: object, tmp_path: Path) -> None:
    import av

    sink = CapturingSink()
    device = AudioDeviceOutput(OutputSpec("audio", ""), sink=sink)
    recording = tmp_path / "show.mp4"
    engine = LiveEngine(load_show(write_show(SHOW)), width_px=320, height_px=180,
                        outputs=[device, parse_target(str(recording))],
                        tts=piper_voice)  # type: ignore[arg-type]
    frames: list[FrameDelivered] = []
    switched: list[ModeChanged] = []
    engine.subscribe(lambda e: frames.append(e) if isinstance(e, FrameDelivered) else None)
    engine.subscribe(lambda e: switched.append(e) if isinstance(e, ModeChanged) else None)
    engine.start()
    deadline = time.monotonic() + 20
    while len(frames) < 15:
        assert time.monotonic() < deadline, "the show did not go on air"
        time.sleep(0.01)
    engine.send(cmd.SetMode(Mode.HUMAN))  # the AI stops talking: the program is silent
    time.sleep(0.5)
    engine.send(cmd.PlayTestTone(0.4))
    time.sleep(1.2)
    engine.stop()

    # Only what the device played after the switch (and the AI's 20 ms fade) counts.
    after = switched[0].at_samples + RATE // 20
    played = sink.played()
    played[:after] = 0.0
    tone_at = np.flatnonzero(np.abs(np.nan_to_num(played)) > 0.05)
    assert tone_at.size > RATE // 4, "the tone was not heard"
    start, end = int(tone_at[0]), int(tone_at[-1])
    with av.open(str(recording)) as container:
        recorded = np.concatenate([f.to_ndarray()[0] for f in  # left channel (planar)
                                   container.decode(audio=0)])
    # The recording keeps the program (silent while the human is on) without the tone.
    assert len(recorded) > end
    assert float(np.abs(recorded[start:end]).max()) < 0.01


def test_device_that_disappears_does_not_stop_the_show(
        jack_server: subprocess.Popen[bytes], write_show: Callable[[str], Path],
        piper_voice: object) -> None:
    events: list[Event] = []
    engine = LiveEngine(load_show(write_show(SHOW)), width_px=320, height_px=180,
                        outputs=[OutputSpec("audio", "")], tts=piper_voice)  # type: ignore[arg-type]
    engine.subscribe(events.append)
    engine.start()
    time.sleep(1.5)
    jack_server.terminate()  # the "sound card" is gone (its server quits)
    jack_server.wait(5)
    time.sleep(3.0)
    n_before = len([e for e in events if isinstance(e, FrameDelivered)])
    time.sleep(1.0)
    n_after = len([e for e in events if isinstance(e, FrameDelivered)])
    engine.stop()
    problems = [e for e in events if isinstance(e, Problem)]
    assert any("audio device stopped" in p.message for p in problems)
    assert 20 <= n_after - n_before <= 40  # still ~30 frames a second, on the system clock
