"""Output-side faults, injected with the real parts: a full disk under a recording, a
streaming server that goes away, a sound server that quits, OBS restarting. Each time the
other outputs get every frame, the faulty one comes back once the fault is gone, what was
already said stays on disk, and the event shows in the outputs' health (a stable code)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.engine.events import Event, FrameDelivered, OutputsChanged, SentenceStarted
from studio.engine.live import LiveEngine
from studio.outputs import file as file_output
from studio.outputs.base import OutputHealth, OutputSpec, OutputState
from studio.show.loader import load_show
from tests.test_live_engine import SHOW

W, H, FPS = 320, 180, 30


@dataclass
class Track:
    """A recording read back with PyAV: every picture's pts, mean luma, and the audio."""

    video_pts: list[int]
    luma: list[float]
    audio: np.ndarray  # left channel, float32 at 48 kHz
    metadata: dict[str, str]

    @property
    def video_s(self) -> float:
        return len(self.video_pts) / FPS


def read_track(path: Path) -> Track:
    import av

    with av.open(str(path)) as container:
        metadata = dict(container.metadata)
        pts: list[int] = []
        luma: list[float] = []
        for frame in container.decode(video=0):
            assert frame.pts is not None and frame.time_base is not None
            pts.append(round(frame.pts * frame.time_base * FPS))
            luma.append(float(frame.to_ndarray(format="gray").mean()))
        container.seek(0)
        audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    return Track(pts, luma, audio, metadata)


def assert_continuous(track: Track, n_frames: int) -> None:
    """Every frame, in order, none black, and sound to the end of the last one."""
    assert track.video_pts == list(range(n_frames)), "frames missing or out of order"
    assert min(track.luma) > 30, "a black frame"
    assert abs(len(track.audio) / 48_000 - track.video_s) <= 1 / FPS


class Health:
    """Each output's health as the engine reported it (OutputsChanged), in order."""

    def __init__(self) -> None:
        self.seen: list[OutputHealth] = []
        self.delivered = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, OutputsChanged):
            self.seen.extend(event.outputs)
        elif isinstance(event, FrameDelivered):
            self.delivered += 1

    def codes(self, name: str) -> list[tuple[OutputState, str]]:
        """The (state, code) changes of one output."""
        changes: list[tuple[OutputState, str]] = []
        for h in self.seen:
            if h.name == name and (not changes or changes[-1] != (h.state, h.code)):
                changes.append((h.state, h.code))
        return changes

    def reason(self, name: str, code: str) -> str:
        return next(h.reason for h in self.seen if h.name == name and h.code == code)


def make_engine(write_show: Callable[[str], Path], voice: object, outputs: list[Any],
                realtime: bool = False) -> tuple[LiveEngine, Health]:
    engine = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H,
                        fps=Fraction(FPS), realtime=realtime, tts=voice,  # type: ignore[arg-type]
                        outputs=outputs)
    health = Health()
    engine.subscribe(health)
    return engine, health


def run_until(engine: LiveEngine, condition: Callable[[], bool], what: str,
              timeout_s: float = 15.0, step: int = 5) -> int:
    """Run unpaced frames, a few at a time, until ``condition``; returns how many ran."""
    deadline = time.monotonic() + timeout_s
    n = 0
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        engine.run_frames(step)
        n += step
        time.sleep(0.02)
    return n


# --- (b) the disk fills up during a recording ------------------------------------------------
class Disk:
    """A small real file system (tmpfs: the tests run as root), and a way to fill it. Where
    tmpfs cannot be mounted, the recording's one write edge is made to fail instead."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = root / "disk"
        self.path.mkdir()
        self.filler = self.path / "filler"
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs",
                                  str(self.path)], capture_output=True)
        self.mounted = mounted.returncode == 0
        self._full = False
        if not self.mounted:
            real_write = file_output._os_write

            def write(fd: int, data: Any) -> int:
                if self._full and os.readlink(f"/proc/self/fd/{fd}").startswith(str(self.path)):
                    self._full = False  # the reserve is let go once: the next write goes on
                    raise OSError(errno.ENOSPC, "No space left on device")
                return real_write(fd, data)

            monkeypatch.setattr(file_output, "_os_write", write)

    def fill(self) -> None:
        """Another program takes every free byte."""
        if not self.mounted:
            self._full = True
            return
        with self.filler.open("wb", buffering=0) as filler:
            chunk = b"\0" * (256 << 10)
            while chunk:
                try:
                    filler.write(chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    chunk = chunk[:len(chunk) // 2]

    def free(self) -> int:
        import shutil

        return shutil.disk_usage(self.path).free

    def empty(self) -> None:
        self.filler.unlink(missing_ok=True)
        self._full = False

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    small = Disk(tmp_path, monkeypatch)
    yield small
    small.close()


def test_a_full_disk_saves_the_recording_and_it_goes_on_in_a_new_part(
        disk: Disk, tmp_path: Path, write_show: Callable[[str], Path],
        piper_voice: object) -> None:
    faulty, other = disk.path / "show.mp4", tmp_path / "other.mp4"
    engine, health = make_engine(write_show, piper_voice,
                                 [OutputSpec("file", str(faulty)), OutputSpec("file", str(other))])
    name = str(faulty)

    def state() -> OutputHealth:
        return next(h for h in engine.outputs if h.name == name)

    n = run_until(engine, lambda: health.delivered >= 60, "the show to go on air")
    disk.fill()
    n += run_until(engine, lambda: state().state == OutputState.DEGRADED, "the disk to fill")
    engine.run_frames(30)  # the disk stays full a second of show time
    n += 30
    disk.empty()
    n += run_until(engine, lambda: state().state == OutputState.UP, "the recording to resume",
                   step=3)
    engine.run_frames(60)
    n += 60
    engine.close()
    final = state()
    assert health.delivered == n  # the show never waited for the full disk

    # The changes were reported, with codes; the reason names the file and the fix.
    assert health.codes(name) == [(OutputState.UP, ""), (OutputState.DEGRADED, "file.disk_full"),
                                  (OutputState.UP, "file.resumed"),
                                  (OutputState.STOPPED, "")], health.codes(name)
    reason = health.reason(name, "file.disk_full")
    assert str(faulty) in reason and "free some space" in reason and "show-2.mp4" in reason

    # The other recording has every frame, none black, and its sound to the end.
    whole = read_track(other)
    assert_continuous(whole, n)
    # What was said up to the fault is on disk, playable; the rest goes on in part 2.
    first, second = read_track(faulty), read_track(disk.path / "show-2.mp4")
    n1, n2 = len(first.video_pts), len(second.video_pts)
    assert n1 >= 60 and n2 >= 60
    assert_continuous(first, n1)
    assert_continuous(second, n2)
    assert n1 + final.frames_dropped + n2 == n  # the frames not recorded are counted
    assert second.metadata["livehost_part"] == "2"
    assert first.metadata["AIGC"] == second.metadata["AIGC"]  # one recording, one ProduceID
    start = round(float(second.metadata["livehost_show_start_s"]) * FPS)
    assert start == n1 + final.frames_dropped
    # Part 1 holds exactly the sound the whole recording has up to the fault.
    said = slice(0, n1 * 1600 - 2048)
    assert float(np.abs(whole.audio[said]).max()) > 0.05  # the host spoke
    assert np.allclose(first.audio[said], whole.audio[said], atol=2e-3)
    print(f"\ndisk full: part 1 {n1} frames, {final.frames_dropped} not recorded, "
          f"part 2 {n2} frames from frame {start}")


# --- (a) the streaming server goes away and comes back ---------------------------------------
class WallTimes:
    """When each frame went out (FrameDelivered), by the wall clock."""

    def __init__(self) -> None:
        self.at: list[float] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, FrameDelivered):
            self.at.append(time.monotonic())

    def longest_gap_s(self, since_s: float, until_s: float) -> float:
        times = np.array([t for t in self.at if since_s <= t <= until_s])
        return float(np.diff(times).max()) if len(times) > 1 else float("inf")


def on_air_with_recording(write_show: Callable[[str], Path], voice: object, target: str,
                          kept: Path) -> tuple[LiveEngine, Health, WallTimes, str,
                                               Callable[[], OutputHealth]]:
    """A paced engine streaming to ``target`` beside a recording in ``kept``, started and
    streaming: the engine, its outputs' health, when each frame went out, the stream's
    name (the key hidden) and a reader of the stream's health now."""
    from tests.test_stream import wait_for

    engine, health = make_engine(write_show, voice,
                                 [OutputSpec("stream", target), OutputSpec("file", str(kept))],
                                 realtime=True)
    walls = WallTimes()
    engine.subscribe(walls)

    def state() -> OutputHealth:
        return next(h for h in engine.outputs if h.kind == "stream")

    engine.start()
    try:
        wait_for(lambda: bool(engine.outputs) and state().state == OutputState.UP, 20,
                 "the stream to go up")
    except BaseException:
        engine.stop()
        raise
    return engine, health, walls, OutputSpec("stream", target).display, state


def test_a_stream_whose_server_goes_away_reconnects_and_the_recording_never_stops(
        tmp_path: Path, write_show: Callable[[str], Path], piper_voice: object) -> None:
    from tests.test_stream import KEY, Nginx, free_port, read_capture, recording, wait_for

    server = Nginx(tmp_path / "nginx", free_port())
    server.root.mkdir()
    server.start("before")
    target, kept = f"rtmp://127.0.0.1:{server.port}/live/{KEY}", tmp_path / "kept.mp4"
    engine, health, walls, stream, state = on_air_with_recording(
        write_show, piper_voice, target, kept)
    try:
        time.sleep(1.0)
        gone_at = time.monotonic()
        server.kill()  # the network is gone: the connection drops, the server refuses
        wait_for(lambda: state().state == OutputState.DEGRADED, 10, "the stream to notice")
        time.sleep(1.5)
        records = server.start("after")
        wait_for(lambda: state().state == OutputState.UP, 20, "the stream to come back")
        back_s = time.monotonic() - gone_at - 1.5
        back_at = time.monotonic()
        time.sleep(1.5)
    finally:
        engine.stop()
        server.stop()
    try:
        after = read_capture(recording(records), pictures_every=10_000)
    finally:
        server.kill()
    final = {h.kind: h for h in engine.outputs}
    codes = health.codes(stream)
    assert (OutputState.DEGRADED, "stream.reconnecting") in codes, codes
    assert codes[codes.index((OutputState.DEGRADED, "stream.reconnecting")) + 1] == \
        (OutputState.UP, "stream.reconnected"), codes
    assert KEY not in health.reason(stream, "stream.reconnecting")
    assert final["stream"].reconnects >= 1 and final["stream"].frames_dropped > 0
    # The receiver got a new stream after the restart, from a keyframe, sound and picture.
    assert len(after.video_pts_s) >= 30 and after.video_keyframe_s[0] == after.video_pts_s[0]
    assert abs(after.video_end_s - after.audio_end_s) <= 1 / FPS
    # The recording beside it has every frame the show delivered, none black, and the
    # frame loop never waited on the network (no gap near the stall timeouts of 5-10 s).
    track = read_track(kept)
    assert_continuous(track, len(track.video_pts))
    assert len(track.video_pts) >= len(walls.at)
    gap_s = walls.longest_gap_s(gone_at, back_at)
    assert gap_s < 0.5, f"the frame loop stopped for {gap_s:.2f} s while the server was gone"
    print(f"\nstream: back {back_s:.1f} s after the server; longest frame gap meanwhile "
          f"{gap_s * 1000:.0f} ms; {final['stream'].frames_dropped} stream frames dropped, "
          f"recording {len(track.video_pts)} frames, {final['file'].frames_dropped} lost")


# --- (d) OBS restarts, having lost our scenes -------------------------------------------------
def test_obs_restarting_without_our_scenes_gets_them_back_and_the_show_goes_on(
        tmp_path: Path, write_show: Callable[[str], Path], piper_voice: object) -> None:
    import socket

    from studio.core.backoff import Backoff
    from studio.engine import commands as cmd
    from studio.obs.client import ObsClient
    from studio.obs.controller import ObsController
    from studio.obs.setup import AI_SCENE, HUMAN_SCENE, PRODUCT_INPUT, ObsProgramSource
    from studio.obs.state import ObsState
    from studio.program.switcher import Mode
    from tests.obs_server import ObsServer
    from tests.test_stream import free_port, wait_for

    target = f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
    kept = tmp_path / "kept.mp4"
    states: list[ObsState] = []
    with ObsServer(tmp_path / "obs") as obs:
        controller = ObsController(obs.host, obs.port, obs.password,
                                   program=ObsProgramSource(stream_url=target),
                                   backoff=Backoff(0.25, 1.0))
        controller.subscribe(states.append)
        controller.setup()
        engine, health = make_engine(write_show, piper_voice,
                                     [OutputSpec("stream", target), OutputSpec("file", str(kept))],
                                     realtime=True)
        walls = WallTimes()
        engine.subscribe(walls)
        products: list[str] = []
        engine.subscribe(lambda e: products.append(e.product_id)
                         if isinstance(e, SentenceStarted) and e.product_id else None)
        controller.attach(engine)
        try:
            wait_for(lambda: controller.state.connected and controller.state.scene == AI_SCENE,
                     15, "the controller to set OBS up")
            engine.start()
            wait_for(lambda: bool(products), 20, "a product to go on air")
            gone_at = time.monotonic()
            obs.quit()  # OBS crashes, and comes back with a fresh scene collection
            for collection in (obs.home / ".config/obs-studio/basic/scenes").glob("*.json*"):
                collection.unlink()
            wait_for(lambda: not controller.state.connected, 5, "the controller to notice")
            engine.send(cmd.SetMode(Mode.HUMAN))  # wanted while OBS is away
            obs.start()
            restarted_at = time.monotonic()
            wait_for(lambda: controller.state.connected
                     and controller.state.scene == HUMAN_SCENE, 20,
                     "the controller to set OBS up again and put the human scene on")
            back_s = time.monotonic() - restarted_at
            back_at = time.monotonic()
            client = ObsClient(obs.host, obs.port, obs.password)
            client.connect()
            try:
                scenes = client.scenes().scenes
                assert AI_SCENE in scenes and HUMAN_SCENE in scenes  # made again
                assert client.current_program_scene() == HUMAN_SCENE
                wanted = engine.show.product(products[-1]).name  # the product on air
                wait_for(lambda: client.input_settings(PRODUCT_INPUT)[1].get("text") == wanted,
                         5, "OBS's text to show the product on air")
            finally:
                client.close()
            time.sleep(0.5)
        finally:
            engine.stop()
            controller.close()
    lost = [s.error for s in states if not s.connected and s.error]
    assert any("lost the connection to OBS" in e for e in lost), lost
    assert controller.last_setup is not None and controller.last_setup.created  # re-applied
    assert all(h.state == OutputState.STOPPED for h in engine.outputs), engine.outputs
    assert all(h.state in {OutputState.STARTING, OutputState.UP, OutputState.STOPPED}
               for h in health.seen)  # no output of ours noticed OBS going away
    track = read_track(kept)
    assert_continuous(track, len(track.video_pts))
    gap_s = walls.longest_gap_s(gone_at, back_at)
    assert gap_s < 0.5, f"the frame loop stopped for {gap_s:.2f} s while OBS was away"
    print(f"\nOBS: set up again {back_s:.1f} s after it started; longest frame gap "
          f"{gap_s * 1000:.0f} ms; recording {len(track.video_pts)} frames")


# --- (c) the sound server quits mid-show -----------------------------------------------------
UNPLUG = """
import json, os, subprocess, sys, time
from fractions import Fraction
from pathlib import Path
server = f"livehost-faults-{os.getpid()}"
os.environ.update(JACK_DEFAULT_SERVER=server, JACK_NO_AUDIO_RESERVATION="1",
                  JACK_NO_START_SERVER="1")
jack = subprocess.Popen(["jackd", "-n", server, "--no-realtime", "-d", "dummy", "-r", "48000",
                         "-p", "512"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
import sounddevice
deadline = time.monotonic() + 10
while not any("JACK" in api["name"] and api["devices"] for api in sounddevice.query_hostapis()):
    assert time.monotonic() < deadline and jack.poll() is None, "no JACK server"
    time.sleep(0.3)
    sounddevice._terminate()
    sounddevice._initialize()
from studio.engine.events import FrameDelivered, OutputsChanged, Problem
from studio.engine.live import LiveEngine
from studio.outputs.base import OutputSpec, OutputState, build_output
from studio.show.loader import load_show
from studio.voice.piper_tts import PiperTTS
show, kept = Path(sys.argv[1]), sys.argv[2]
device = build_output(OutputSpec("audio", ""))
engine = LiveEngine(load_show(show), width_px=320, height_px=180, fps=Fraction(30),
                    tts=PiperTTS("en_US-joe-medium"),
                    outputs=[device, OutputSpec("file", kept)])
walls, changes, problems = [], [], []
def on_event(e):
    if isinstance(e, FrameDelivered):
        walls.append(time.monotonic())
    elif isinstance(e, OutputsChanged):
        changes.extend([h.kind, h.state.value, h.code] for h in e.outputs)
    elif isinstance(e, Problem):
        problems.append(e.code)
engine.subscribe(on_event)
engine.start()
deadline = time.monotonic() + 30
while len(walls) < 45:
    assert time.monotonic() < deadline, "not on air"
    time.sleep(0.01)
gone_at = time.monotonic()
jack.terminate()
jack.wait(5)
time.sleep(2.0)
down_s = time.monotonic() - gone_at
jack = subprocess.Popen(jack.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
restarted_at = time.monotonic()
while device.state != OutputState.UP:
    assert time.monotonic() < restarted_at + 15, f"the device did not come back: {device.health()}"
    time.sleep(0.05)
back_s = time.monotonic() - restarted_at
time.sleep(0.5)  # the engine fills the new device's buffer
sink = device.sink
played_from, at = sink._read, time.monotonic()
n_back = len(walls)
time.sleep(2.0)
played_s = (sink._read - played_from) / 48000
shown_s = (len(walls) - n_back) / 30
elapsed_s = time.monotonic() - at
engine.stop()
after = [t for t in walls if gone_at <= t <= gone_at + down_s]
gaps = [b - a for a, b in zip(after, after[1:])]
print(json.dumps({"changes": changes, "problems": problems, "frames": len(walls),
                  "after": len(after), "gap_s": max(gaps), "span_s": down_s,
                  "back_s": back_s, "played_s": played_s, "shown_s": shown_s,
                  "elapsed_s": elapsed_s}))
sys.stdout.flush()
jack.terminate()  # the server started again is this test's too: never left running
jack.wait(5)
os._exit(0)  # PortAudio cannot shut down against a server that is gone
"""


def test_a_sound_server_that_quits_takes_only_its_output_down_until_it_is_back(
        tmp_path: Path, write_show: Callable[[str], Path]) -> None:
    import json
    import shutil
    import sys

    assert shutil.which("jackd"), "jackd is missing: bash installers/studio.sh test installs it"
    kept = tmp_path / "kept.mp4"
    # A process of its own: PortAudio cannot start again in a process whose server is gone.
    proc = subprocess.Popen([sys.executable, "-c", UNPLUG, str(write_show(SHOW)), str(kept)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    try:
        stdout, stderr = proc.communicate(timeout=60)
    finally:  # whatever happened in there, its JACK servers go with it (a registry holds few)
        proc.kill()
        subprocess.run(["pkill", "-f", f"jackd -n livehost-faults-{proc.pid} "], check=False)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    audio = [tuple(c[1:]) for c in report["changes"] if c[0] == "audio"]
    assert ("down", "audio.device_lost") in audio, audio
    assert ("up", "audio.device_back") in audio, audio  # opened again once it was back
    # ... and it plays again (2 s of sound in 2 s on an idle machine), pacing the show:
    # as many frames shown as the sound it played.
    assert report["played_s"] > 0.75 * report["elapsed_s"], report
    assert abs(report["shown_s"] - report["played_s"]) < 0.3, report
    assert {"audio.device_stopped", "output.down"} & set(report["problems"])
    assert all(c[1] != "down" for c in report["changes"] if c[0] == "file")
    print(f"\nsound server gone: longest frame gap {report['gap_s'] * 1000:.0f} ms; "
          f"{report['after']} frames in the {report['span_s']:.1f} s without it; device back "
          f"{report['back_s']:.1f} s after its server, then {report['played_s']:.2f} s "
          f"played in {report['elapsed_s']:.2f} s")
    # The show went on in real time without the device (~30 frames a second) ...
    assert report["after"] >= 30 * (report["span_s"] - 1.5)
    # ... and the recording has every frame, with its sound, none black.
    track = read_track(kept)
    assert_continuous(track, len(track.video_pts))
    assert len(track.video_pts) >= report["frames"]


# --- (a') the network stalls: the server's end stops taking data, nothing is refused ------------
class Blackhole:
    """A TCP hop in front of the server that can stop moving bytes, as a network that is gone
    without a word (a cable pulled upstream, a route lost): connections stay open, sends
    fill up and block, nobody says no. Its receive buffer is small, so that fills fast."""

    def __init__(self, to_port: int) -> None:
        import socket
        import threading

        self.to_port = to_port
        self.moving = threading.Event()
        self.moving.set()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = int(self.listener.getsockname()[1])
        self.accepted = 0
        self._closed = False
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            server = socket.create_connection(("127.0.0.1", self.to_port))
            self._socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: Any, dst: Any) -> None:
        while not self._closed:
            if not self.moving.wait(0.1):
                continue  # stalled: nothing is read, so the sender's buffers fill
            try:
                data = src.recv(4096)
                if not data:
                    break
                dst.sendall(data)
            except OSError:
                break
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.close()

    def drop_stalled(self) -> None:
        """The stalled connections are gone (the routers forget them); new ones work."""
        import socket

        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes its pipe thread; the server sees FIN
            with contextlib.suppress(OSError):
                sock.close()
        self._socks.clear()

    def close(self) -> None:
        self._closed = True
        self.moving.set()
        self.listener.close()
        self.drop_stalled()


def test_a_stream_whose_network_stalls_is_dropped_and_reconnects_the_show_goes_on(
        tmp_path: Path, write_show: Callable[[str], Path], piper_voice: object,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.outputs.stream import StreamOutput
    from tests.test_stream import KEY, Nginx, free_port, read_capture, recording, wait_for

    monkeypatch.setattr(StreamOutput, "stall_s", 1.0)  # (5 s on air)
    server = Nginx(tmp_path / "nginx", free_port())
    server.root.mkdir()
    records = server.start("rec")
    hop = Blackhole(server.port)
    target, kept = f"rtmp://127.0.0.1:{hop.port}/live/{KEY}", tmp_path / "kept.mp4"
    engine, health, walls, stream, state = on_air_with_recording(
        write_show, piper_voice, target, kept)
    try:
        time.sleep(1.0)
        stalled_at = time.monotonic()
        hop.moving.clear()  # the network is gone: no error, no data moves
        wait_for(lambda: state().state == OutputState.DEGRADED, 30,
                 "the stream to notice the stall")
        noticed_s = time.monotonic() - stalled_at
        hop.drop_stalled()
        hop.moving.set()  # the network is back
        wait_for(lambda: state().state == OutputState.UP and hop.accepted >= 2, 20,
                 "the stream to come back")
        back_at = time.monotonic()
        time.sleep(1.5)
    finally:
        engine.stop()
        server.stop()
        hop.close()
    codes = health.codes(stream)
    assert (OutputState.DEGRADED, "stream.reconnecting") in codes, codes
    assert "took no data" in health.reason(stream, "stream.reconnecting")
    assert KEY not in health.reason(stream, "stream.reconnecting")
    assert codes[codes.index((OutputState.DEGRADED, "stream.reconnecting")) + 1] == \
        (OutputState.UP, "stream.reconnected"), codes
    # The server got the stream again after the stall, from a keyframe, sound and picture.
    after = read_capture(recording(records), pictures_every=10_000)
    assert after.video_keyframe_s[0] == after.video_pts_s[0]
    # The frame loop never waited on the stalled network, and the recording has every frame.
    gap_s = walls.longest_gap_s(stalled_at, back_at)
    assert gap_s < 0.5, f"the frame loop stopped for {gap_s:.2f} s while the network stalled"
    track = read_track(kept)
    assert_continuous(track, len(track.video_pts))
    assert len(track.video_pts) >= len(walls.at)
    print(f"\nstalled network: dropped {noticed_s:.1f} s after the stall (stall_s 1 s); "
          f"longest frame gap meanwhile {gap_s * 1000:.0f} ms; recording "
          f"{len(track.video_pts)} frames")
