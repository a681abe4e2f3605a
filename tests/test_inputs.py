"""Inputs: stand-in files decoded with real PyAV, a camera at the device boundary through
FFmpeg's lavfi virtual device, a microphone through real PortAudio on JACK's dummy driver.

No machine here has a camera or a sound card: lavfi (opened exactly like a V4L2 camera:
its own thread, real-time pacing, newest frame only) and JACK's dummy driver (a sound card
with its own clock) stand in for them, at the device boundary only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from studio.core.errors import StudioError, UserInputError
from studio.inputs import (
    InputKind,
    InputState,
    build_audio_input,
    build_video_input,
    list_cameras,
    list_microphones,
    parse_camera,
    parse_mic,
)

RATE = 48_000
N_FRAMES = 10
FPS = 25
FRAME_SAMPLES = RATE // FPS  # 1920


# --- media made for the tests ---------------------------------------------------------------
def _bars_image(index: int, width: int = 160, height: int = 90) -> npt.NDArray[np.uint8]:
    """A picture showing its frame index as index + 1 white bars."""
    img = np.zeros((height, width, 3), np.uint8)
    step = width // N_FRAMES
    for bar in range(index + 1):
        img[:, bar * step:bar * step + step // 2] = 255
    return img


def count_bars(rgb: npt.NDArray[np.uint8]) -> int:
    row = rgb[rgb.shape[0] // 2, :, 1] > 128
    return int(np.sum(np.diff(row.astype(np.int8)) == 1) + int(row[0]))


def write_video(path: Path, n_frames: int, fps: int, width: int, height: int) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "10"}
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(_bars_image(i % N_FRAMES, width, height),
                                               format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_wav(path: Path, samples: npt.NDArray[np.float32], rate: int) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_f32le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.float32),
                                           format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def sine(rate: int, seconds: float, amplitude: float, hz: float = 440.0
         ) -> npt.NDArray[np.float32]:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    clipped = np.clip(sine(RATE, 2.0, 1.6), -1.0, 1.0).astype(np.float32)
    return {
        "bars": write_video(folder / "bars.mp4", N_FRAMES, FPS, 160, 90),
        "small": write_video(folder / "small.mkv", 5, 10, 64, 48),
        "sine48": write_wav(folder / "sine48.wav", sine(RATE, 1.0, 0.5), RATE),
        "sine16": write_wav(folder / "sine16.wav", sine(16_000, 1.0, 0.5), 16_000),
        "clipped": write_wav(folder / "clipped.wav", clipped, RATE),
        "quiet": write_wav(folder / "quiet.wav", sine(RATE, 2.0, 0.1), RATE),
        "silence": write_wav(folder / "silence.wav", np.zeros(RATE, np.float32), RATE),
    }


# --- parsing ---------------------------------------------------------------------------------
def test_parse_accepts_files_indices_names_devices_and_lavfi(media: dict[str, Path]) -> None:
    assert parse_camera("rehearsal.mp4").is_file  # a media suffix: a file, even if missing
    no_suffix = media["bars"].with_name("bars-copy")
    shutil.copy(media["bars"], no_suffix)
    assert parse_camera(str(no_suffix)).is_file  # an existing file without a suffix
    for device in ("0", "/dev/video0", "HD Pro Webcam C920", "default"):
        spec = parse_camera(device)
        assert spec.kind == InputKind.CAMERA and spec.source == "device" and not spec.is_file
    lavfi = parse_camera(" lavfi:testsrc2=size=320x180 ", width=1280, fps=30)
    assert lavfi.source == "lavfi" and lavfi.target == "lavfi:testsrc2=size=320x180"
    assert lavfi.option("width") == "1280" and lavfi.option("fps") == "30"
    assert parse_camera("/dev/video2").display == "camera: /dev/video2"
    assert parse_mic("voice.wav").is_file and parse_mic("voice.wav").kind == InputKind.MIC
    for device in ("1", "default", "USB Audio"):
        assert parse_mic(device).source == "device"
    assert parse_mic("lavfi:sine=f=440").source == "lavfi"
    assert parse_mic("default").display == "mic: default"


@pytest.mark.parametrize("text", ["", "   ", "lavfi:"])
def test_parse_rejects_empty_text_with_a_fix(text: str) -> None:
    with pytest.raises(UserInputError, match=r"give|write e\.g\."):
        parse_camera(text)
    with pytest.raises(UserInputError, match=r"give|write e\.g\."):
        parse_mic(text)


# --- the camera file -----------------------------------------------------------------------
def test_file_camera_gives_the_frame_due_at_each_pts_and_loops(media: dict[str, Path]) -> None:
    camera = build_video_input(parse_camera(str(media["bars"])))
    assert not camera.realtime
    camera.open()
    start = 123_457  # the engine's clock does not start at zero: the first call is time 0
    loop = N_FRAMES * FRAME_SAMPLES  # 0.4 s

    def shown(offset_samples: int) -> int:
        frame = camera.frame_at(start + offset_samples, RATE)
        assert frame is not None and frame.rgb.shape == (90, 160, 3)
        return count_bars(frame.rgb) - 1

    assert shown(0) == 0
    assert shown(FRAME_SAMPLES - 1) == 0  # frame 1 is due only at its own timestamp
    assert shown(FRAME_SAMPLES) == 1
    assert shown(7 * FRAME_SAMPLES + 5) == 7
    assert shown(loop - 1) == N_FRAMES - 1
    assert shown(loop) == 0  # the file starts again
    assert shown(loop + 3 * FRAME_SAMPLES) == 3
    assert shown(5 * loop + 9 * FRAME_SAMPLES) == 9  # several loops later
    assert shown(2 * FRAME_SAMPLES) == 2  # back in time: the same frame as before
    same = [camera.frame_at(start + 4 * FRAME_SAMPLES, RATE) for _ in range(2)]
    assert same[0] is not None and same[1] is not None
    assert same[0].sequence == same[1].sequence and same[0].pts_s == pytest.approx(0.16)
    later = camera.frame_at(start + loop + 4 * FRAME_SAMPLES, RATE)
    assert later is not None and later.sequence == same[0].sequence + N_FRAMES
    assert camera.health().state == InputState.LIVE
    camera.close()
    assert camera.health().state == InputState.OFF


def test_file_camera_without_loop_holds_its_last_frame(media: dict[str, Path]) -> None:
    camera = build_video_input(parse_camera(str(media["bars"]), loop=False))
    camera.open()
    first = camera.frame_at(0, RATE)
    assert first is not None and count_bars(first.rgb) == 1
    for seconds in (0.5, 3.0):
        frame = camera.frame_at(round(seconds * RATE), RATE)
        assert frame is not None and count_bars(frame.rgb) == N_FRAMES
    camera.close()


def test_a_file_of_another_size_and_rate_is_reported(media: dict[str, Path]) -> None:
    camera = build_video_input(parse_camera(str(media["small"]), width=1280, height=720, fps=30))
    camera.open()
    frame = camera.frame_at(0, RATE)
    assert frame is not None and frame.rgb.shape == (48, 64, 3)
    health = camera.health()
    assert (health.width_px, health.height_px, health.fps) == (64, 48, 10.0)
    assert "64x48 at 10 fps" in health.reason and "1280x720 at 30 fps" in health.reason
    # 10 fps: the frame changes every 4800 samples
    second = camera.frame_at(4800, RATE)
    assert second is not None and count_bars(second.rgb) == 2
    camera.close()


def test_a_missing_or_unreadable_file_names_the_path_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-rehearsal.mp4"
    camera = build_video_input(parse_camera(str(missing)))
    with pytest.raises(UserInputError, match=r"no-such-rehearsal\.mp4.*not found; check the path"):
        camera.open()
    assert camera.health().state == InputState.DOWN
    garbage = tmp_path / "broken.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(UserInputError, match=r"broken\.mp4.*cannot be read.*ffprobe"):
        build_video_input(parse_camera(str(garbage))).open()
    with pytest.raises(UserInputError, match=r"voice\.wav.*not found"):
        build_audio_input(parse_mic(str(tmp_path / "voice.wav"))).open(RATE)
    with pytest.raises(UserInputError, match="has no audio stream"):  # a video as the mic
        video = write_video(tmp_path / "mute.mp4", 2, 25, 64, 48)
        build_audio_input(parse_mic(str(video))).open(RATE)


# --- the camera device (lavfi at the device boundary) ---------------------------------------
def test_lavfi_camera_delivers_the_newest_frame_from_its_own_thread() -> None:
    camera = build_video_input(parse_camera("lavfi:testsrc2=size=320x180:rate=30"))
    assert camera.realtime
    camera.open()
    try:
        assert any(t.name == "camera-capture" for t in threading.enumerate())
        deadline = time.monotonic() + 10
        first = camera.frame_at(0, RATE)
        while first is None:
            assert time.monotonic() < deadline, "no picture from the lavfi camera"
            time.sleep(0.01)
            first = camera.frame_at(0, RATE)
        assert first.rgb.shape == (180, 320, 3) and first.rgb.std() > 10  # a test pattern
        time.sleep(0.4)  # the engine looks away: about 12 frames arrive meanwhile
        newest = camera.frame_at(0, RATE)
        assert newest is not None and newest.sequence >= first.sequence + 3
        assert newest.captured_ns > first.captured_ns and newest.pts_s > first.pts_s
        health = camera.health()
        assert health.state == InputState.LIVE and (health.width_px, health.height_px) == \
            (320, 180)
        assert health.dropped >= 2  # pictures nobody took were replaced, not queued
        assert health.fps > 0
    finally:
        camera.close()
    assert camera.health().state == InputState.OFF


def test_a_camera_that_delivers_another_size_and_rate_says_so() -> None:
    camera = build_video_input(parse_camera("lavfi:testsrc2=size=160x90:rate=10", width=1280,
                                            height=720, fps=30))
    camera.open()
    try:
        deadline = time.monotonic() + 10
        while not camera.health().reason:
            assert time.monotonic() < deadline, camera.health()
            time.sleep(0.05)
        health = camera.health()
        frame = camera.frame_at(0, RATE)
    finally:
        camera.close()
    assert health.state == InputState.LIVE  # used as it is: the engine scales it
    assert (health.width_px, health.height_px) == (160, 90)
    assert frame is not None and frame.rgb.shape == (90, 160, 3)
    assert health.fps == pytest.approx(10, abs=2)
    assert "delivers 160x90 at" in health.reason and "asked for 1280x720 at 30 fps" in \
        health.reason


def test_a_camera_that_stops_is_lost_then_reconnects() -> None:
    # A graph that ends after half a second reads exactly like an unplugged camera (EOF).
    camera = build_video_input(
        parse_camera("lavfi:testsrc2=size=160x90:rate=30:duration=0.5", retry_s=1.5))
    camera.open()
    seen: list[tuple[InputState, bool]] = []
    reasons: set[str] = set()
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline:
            frame = camera.frame_at(0, RATE)
            health = camera.health()
            seen.append((health.state, frame is not None))
            reasons.add(health.reason)
            if health.reconnects >= 1 and health.state == InputState.LIVE and frame is not None:
                break
            time.sleep(0.01)
    finally:
        camera.close()
    states = [state for state, _ in seen]
    assert InputState.LIVE in states and InputState.LOST in states
    lost_at = states.index(InputState.LOST)
    assert InputState.LIVE in states[lost_at:], "it did not come back"
    # While lost: the last picture for a moment, then none (the engine shows standby)
    assert (InputState.LOST, False) in seen[lost_at:]
    assert any("stopped sending" in r and "reconnecting" in r for r in reasons)


def test_no_camera_says_which_and_how_to_fix() -> None:
    camera = build_video_input(parse_camera("/dev/video97"))
    with pytest.raises(StudioError, match=r"/dev/video97.*cannot be opened.*plug it in"):
        camera.open()
    assert camera.health().state == InputState.DOWN
    cameras = list_cameras()  # none on this machine; a developer's webcam is listed
    assert all(c.device.startswith("/dev/video") and c.name for c in cameras)
    with pytest.raises(UserInputError, match="camera 'No Such Cam' not found; cameras: "):
        build_video_input(parse_camera("No Such Cam")).open()


# --- the microphone file -------------------------------------------------------------------
def test_file_mic_returns_the_exact_samples_and_loops(media: dict[str, Path]) -> None:
    expected = sine(RATE, 1.0, 0.5)
    mic = build_audio_input(parse_mic(str(media["sine48"])))
    mic.open(RATE)
    start = 777_000
    first = mic.read(start, 1600)
    assert first.dtype == np.float32 and first.shape == (1600,)
    np.testing.assert_array_equal(first, expected[:1600])
    np.testing.assert_array_equal(mic.read(start + 1600, 1600), expected[1600:3200])
    across = mic.read(start + RATE - 500, 1000)  # the end of the file, then its start again
    np.testing.assert_array_equal(across, np.concatenate((expected[-500:], expected[:500])))
    np.testing.assert_array_equal(mic.read(start + 2 * RATE + 10, 100), expected[10:110])
    np.testing.assert_array_equal(mic.read(start + 100, 50), expected[100:150])  # back again
    mic.close()

    once = build_audio_input(parse_mic(str(media["sine48"]), loop=False))
    once.open(RATE)
    tail = once.read(RATE - 100, 300)  # its first read is time 0: pts RATE-100 is 0 here
    np.testing.assert_array_equal(tail[:300], expected[:300])
    after = once.read(RATE - 100 + RATE - 100, 300)
    np.testing.assert_array_equal(after[:100], expected[-100:])
    assert not after[100:].any()  # after the end: silence
    once.close()


def test_file_mic_resamples_16_khz_to_48_khz(media: dict[str, Path]) -> None:
    mic = build_audio_input(parse_mic(str(media["sine16"])))
    mic.open(RATE)
    got = np.concatenate([mic.read(i * 1600, 1600) for i in range(30)])  # one second
    expected = sine(RATE, 1.0, 0.5)
    # the same 440 Hz sine, in time, at 48 kHz (swresample's filter settles within 200)
    assert np.abs(got[200:-200] - expected[200:-200]).max() < 1e-3
    again = mic.read(30 * 1600 + 200, 1000)  # one second later: the loop, same samples
    assert np.abs(again - got[200:1200]).max() < 1e-3
    mic.close()


def test_file_mic_levels_clipping_and_silence(media: dict[str, Path]) -> None:
    clipped = build_audio_input(parse_mic(str(media["clipped"])))
    clipped.open(RATE)
    for i in range(30):
        clipped.read(i * 1600, 1600)
    health = clipped.health()
    assert health.clipping and health.peak_dbfs == pytest.approx(0.0, abs=0.01)
    assert not health.silent
    clipped.close()

    quiet = build_audio_input(parse_mic(str(media["quiet"])))
    quiet.open(RATE)
    for i in range(30):
        quiet.read(i * 1600, 1600)
    health = quiet.health()
    assert not health.clipping and not health.silent
    assert health.peak_dbfs == pytest.approx(-20.0, abs=0.05)
    assert health.rms_dbfs == pytest.approx(-23.0, abs=0.1)  # a sine's RMS: peak - 3 dB
    quiet.close()

    silence = build_audio_input(parse_mic(str(media["silence"])))  # loops: silence forever
    silence.open(RATE)
    for i in range(60):  # 2 s: not yet "silent"
        silence.read(i * 1600, 1600)
    assert not silence.health().silent
    for i in range(60, 105):  # 3.5 s
        silence.read(i * 1600, 1600)
    health = silence.health()
    assert health.silent and health.rms_dbfs == -120.0
    silence.close()


def test_lavfi_mic_is_a_deterministic_source() -> None:
    mic = build_audio_input(parse_mic("lavfi:sine=frequency=1000:sample_rate=48000"))
    mic.open(RATE)
    got = mic.read(0, 4800)
    peak = float(np.abs(got).max())
    assert 0.1 < peak <= 1.0
    # FFmpeg's sine source is at 1/8 full scale and 1000 Hz: 48 samples a period
    np.testing.assert_allclose(got[48:96], got[:48], atol=1e-6)
    mic.close()


# --- the microphone device (real PortAudio on JACK's dummy driver) -----------------------
# Each runs in a fresh Python process: PortAudio cannot be re-initialised in a process whose
# earlier JACK server died (test_audio_device unplugs its own), it aborts. The child does the
# capturing and prints what it saw; the assertions are here.
def _start_jackd(jackd: str, server: str) -> subprocess.Popen[bytes]:
    command = [jackd, "-n", server, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "512"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    no_other_server = subprocess.run(["pgrep", "-x", "jackd"], capture_output=True,
                                     text=True).stdout.split() in ([], [str(proc.pid)])
    if proc.poll() is not None and no_other_server:
        for stale in Path("/dev/shm").glob("jack*"):  # a killed server's registry
            stale.unlink(missing_ok=True)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc


@pytest.fixture
def jack_server() -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    """A JACK dummy server (the sound card) and the environment that points PortAudio at it."""
    jackd = shutil.which("jackd")
    assert jackd, "jackd is missing: bash installers/studio.sh test installs jackd2"
    server = f"livehost-inputs-{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "JACK_DEFAULT_SERVER": server, "JACK_NO_AUDIO_RESERVATION": "1",
           "JACK_NO_START_SERVER": "1"}
    proc = _start_jackd(jackd, server)
    deadline = time.monotonic() + 10
    while subprocess.run(["jack_lsp", "-s", server], capture_output=True, env=env).returncode:
        assert proc.poll() is None, f"jackd exited with status {proc.returncode}"
        assert time.monotonic() < deadline, "the JACK dummy server did not come up"
        time.sleep(0.1)
    yield proc, env
    if proc.poll() is None:
        proc.terminate()
        proc.wait(5)


def _in_fresh_process(function: str, env: dict[str, str], **extra: str) -> dict[str, Any]:
    code = f"import json, tests.test_inputs as t; print(json.dumps(t.{function}()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**env, **extra},
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _portaudio_on_jack() -> None:
    import sounddevice

    deadline = time.monotonic() + 10
    while not any("JACK" in a["name"] and a["devices"] for a in sounddevice.query_hostapis()):
        assert time.monotonic() < deadline, "PortAudio does not see the JACK server"
        time.sleep(0.2)
        sounddevice._terminate()
        sounddevice._initialize()


def _read_live(mic: Any, seconds: float, n: int = 1600) -> npt.NDArray[np.float32]:
    """Read like the engine does: n samples each frame (30 fps), on the wall clock."""
    chunks = []
    started = time.monotonic()
    for i in range(round(seconds * 30)):
        chunks.append(mic.read(i * n, n))
        delay = started + (i + 1) / 30 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return np.concatenate(chunks)


def _health_dict(mic: Any) -> dict[str, Any]:
    health = mic.health()
    return {"state": health.state.value, "reason": health.reason, "frames": health.frames,
            "silent": health.silent, "clipping": health.clipping,
            "peak_dbfs": health.peak_dbfs, "rms_dbfs": health.rms_dbfs,
            "underruns": health.underruns, "dropped": health.dropped}


def child_mic_silence_then_signal() -> dict[str, Any]:
    """In the child: open the default microphone, read, stay silent, then hear jack_metro."""
    _portaudio_on_jack()
    result: dict[str, Any] = {"mics": [(m.name, m.host_api, m.channels)
                                       for m in list_microphones()]}
    try:
        build_audio_input(parse_mic("Studio Condenser")).open(RATE)
    except UserInputError as exc:
        result["missing"] = str(exc)
    mic: Any = build_audio_input(parse_mic("default"))
    result["realtime"] = mic.realtime
    mic.open(RATE)
    metro: subprocess.Popen[bytes] | None = None
    try:
        chunk = mic.read(0, 1600)
        result["chunk"] = (str(chunk.dtype), chunk.shape[0])
        quiet = _read_live(mic, 3.6)  # JACK's dummy capture ports deliver silence
        result["quiet_nonzero"] = int(np.count_nonzero(quiet))
        result["after_quiet"] = _health_dict(mic)
        # A real signal into our input port: jack_metro's 1 kHz beeps at amplitude 0.5
        metro = subprocess.Popen(["jack_metro", "-b", "300", "-f", "1000", "-A", "0.5", "-D",
                                  "100", "-n", "inputs-metro"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while "inputs-metro:300_bpm" not in subprocess.run(
                ["jack_lsp"], capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, "jack_metro did not start"
            time.sleep(0.05)
        ports = subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout.split()
        ours = [p for p in ports if p.startswith("PortAudio:in")]
        subprocess.run(["jack_connect", "inputs-metro:300_bpm", ours[0]], check=True)
        heard = _read_live(mic, 1.5)
        result["heard_peak"] = float(np.abs(heard).max())
        result["after_signal"] = _health_dict(mic)
        result["buffered"] = mic.buffered_samples
        mic.close()
        # The engine at a rate JACK does not run at: the device's 48 kHz, resampled
        slow: Any = build_audio_input(parse_mic("system"))
        slow.open(16_000)
        ports = subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout.split()
        ours = [p for p in ports if p.startswith("PortAudio:in")]
        subprocess.run(["jack_connect", "inputs-metro:300_bpm", ours[0]], check=True)
        resampled = _read_live(slow, 1.5, n=16_000 // 30 + 1)
        result["resampled"] = {"rates": [slow.sample_rate_hz, slow.device_rate_hz],
                               "peak": float(np.abs(resampled).max()),
                               "underruns": slow.underruns}
        slow.close()
    finally:
        if metro is not None:
            metro.terminate()
            metro.wait(5)
        mic.close()
    return result


def test_mic_on_a_sound_card_reads_samples_reports_silence_then_hears_a_signal(
        jack_server: tuple[subprocess.Popen[bytes], dict[str, str]]) -> None:
    seen = _in_fresh_process("child_mic_silence_then_signal", jack_server[1])
    assert ["system", "JACK", 2] in seen["mics"], seen
    assert re.search(r"'Studio Condenser' not found; microphones: .*'system' \(JACK\)",
                     seen["missing"])
    assert seen["realtime"] and seen["chunk"] == ["float32", 1600], seen
    quiet = seen["after_quiet"]
    assert seen["quiet_nonzero"] == 0 and quiet["state"] == "live", seen
    assert quiet["frames"] > 3 * RATE, seen
    assert quiet["silent"] and not quiet["clipping"] and quiet["rms_dbfs"] == -120.0, seen
    assert seen["heard_peak"] == pytest.approx(0.5, abs=0.01), seen
    loud = seen["after_signal"]
    assert not loud["silent"] and loud["peak_dbfs"] == pytest.approx(-6.0, abs=0.2), seen
    # the jitter buffer never holds more than its cap (200 ms) beyond a read
    assert seen["buffered"] <= 0.2 * RATE + 1600, seen
    resampled = seen["resampled"]
    assert resampled["rates"] == [16_000, 48_000], seen
    assert resampled["peak"] == pytest.approx(0.5, abs=0.03), seen  # the beeps, at 16 kHz


def child_mic_unplugged() -> dict[str, Any]:
    """In the child: the sound server dies under an open microphone."""
    _portaudio_on_jack()
    mic: Any = build_audio_input(parse_mic("system", retry_s=0.2))
    mic.open(RATE)
    _read_live(mic, 0.5)
    result: dict[str, Any] = {"before": _health_dict(mic)}
    os.kill(int(os.environ["JACKD_PID"]), signal.SIGTERM)  # the sound card is gone
    nonzero = 0
    deadline = time.monotonic() + 10
    while mic.health().state != InputState.LOST and time.monotonic() < deadline:
        nonzero += int(np.count_nonzero(mic.read(0, 1600)))  # never an exception
        time.sleep(0.03)
    result["after"] = _health_dict(mic)
    result["nonzero"] = nonzero
    result["still_reads"] = mic.read(0, 1600).shape[0]
    mic.close()
    result["closed"] = _health_dict(mic)
    return result


def test_a_mic_that_disappears_is_lost_and_reads_silence(
        jack_server: tuple[subprocess.Popen[bytes], dict[str, str]]) -> None:
    proc, env = jack_server
    seen = _in_fresh_process("child_mic_unplugged", env, JACKD_PID=str(proc.pid))
    assert seen["before"]["state"] == "live"
    assert seen["after"]["state"] == "lost", seen["after"]
    assert "microphone stopped" in seen["after"]["reason"]
    assert "reconnecting" in seen["after"]["reason"]
    assert seen["nonzero"] == 0 and seen["still_reads"] == 1600
    assert seen["closed"]["state"] == "off"
