"""Program audio through real PortAudio to JACK's dummy driver, which plays in real time.

The dummy driver stands in for a sound card: it consumes samples at 48 kHz by its own clock,
so pacing by the device, underruns and a device that disappears are all real here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from studio.core.media import AudioChunk
from studio.engine.events import Event, FrameDelivered, Problem, Status
from studio.engine.live import LiveEngine
from studio.outputs.audio_device import SoundDeviceSink
from studio.outputs.base import OutputSpec
from studio.show.loader import load_show
from tests.test_live_engine import SHOW


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
        proc.terminate()
        proc.wait(5)


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
