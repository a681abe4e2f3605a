"""Network streams, read back by receivers we did not write: ffmpeg on UDP, nginx-rtmp on RTMP.

The show runs through the real engine and the real PyAV mux; the bytes go through the
relay process to a real socket. The receivers' captures are then read with PyAV: both
streams, their lengths, their timestamps, their keyframes and the pictures themselves.
Servers are killed and silenced mid-stream to check that the frame loop never waits.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from studio.core.errors import DependencyError, UserInputError
from studio.engine.events import Event, FrameDelivered
from studio.engine.live import LiveEngine
from studio.outputs.base import (
    OutputSpec,
    OutputState,
    ProgramFormat,
    build_output,
    parse_target,
)
from studio.outputs.stream import StreamOutput, output_protocols, parse_stream_target
from studio.show.loader import load_show
from tests.test_live_engine import SHOW

W, H = 320, 180
FPS = 30
KEY = "secretkey123"
NGINX_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Frames:
    """FrameDelivered events, with the wall time each arrived."""

    def __init__(self) -> None:
        self.frames: dict[int, np.ndarray] = {}
        self.count = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, FrameDelivered):
            self.count += 1
            if event.index % 15 == 0:
                self.frames[event.index] = event.rgba


def make_engine(show_path: Path, voice: object, outputs: list[Any],
                realtime: bool = False) -> tuple[LiveEngine, Frames]:
    eng = LiveEngine(load_show(show_path), width_px=W, height_px=H, fps=Fraction(FPS),
                     realtime=realtime, tts=voice, outputs=outputs)  # type: ignore[arg-type]
    frames = Frames()
    eng.subscribe(frames)
    return eng, frames


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def run_until_connected(eng: LiveEngine, output: Any, timeout_s: float = 15,
                        state: OutputState = OutputState.UP) -> int:
    """Run frames slowly (the relay is starting; the output checks on it as frames come)
    until the stream is in ``state``; returns how many frames ran."""
    deadline = time.monotonic() + timeout_s
    n = 0
    while output.state != state:
        assert time.monotonic() < deadline, f"the stream is not {state}: {output.health()}"
        eng.run_frames(1)
        n += 1
        time.sleep(0.02)
    return n


def run_gently(eng: LiveEngine, n_frames: int) -> None:
    """Unpaced, but not faster than the stream can encode on a busy machine: a DROP output
    behind an engine at hundreds of frames a second drops most of them, by design."""
    for _ in range(n_frames):
        eng.run_frames(1)
        time.sleep(0.004)


def stream_output(target: str) -> StreamOutput:
    """The output the registry builds for ``target``, as the engine would get it."""
    output = build_output(parse_target(target))
    assert isinstance(output, StreamOutput)
    return output


def stream_health(eng: LiveEngine) -> Any:
    (health,) = eng.outputs
    return health


# --- what a receiver got ----------------------------------------------------------------------
@dataclass
class Capture:
    video_pts_s: list[float]
    video_keyframe_s: list[float]
    audio_pts_s: list[float]
    audio_end_s: float
    codecs: tuple[str, str]
    pictures: dict[int, np.ndarray]  # engine frame index -> decoded RGB

    @property
    def video_end_s(self) -> float:
        return self.video_pts_s[-1] + 1 / FPS


def read_capture(path: Path, start_frame: int = 0, pictures_every: int = 15) -> Capture:
    """What a receiver recorded; pictures keyed by engine frame (the stream's time 0 is
    engine frame ``start_frame``)."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        codecs = (video.codec_context.name, audio.codec_context.name)
        v_pts: list[float] = []
        keys: list[float] = []
        a_pts: list[float] = []
        a_end = 0.0
        pictures: dict[int, np.ndarray] = {}
        for packet in container.demux(video, audio):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float(packet.pts * packet.time_base)
            if packet.stream.type == "video":
                v_pts.append(t)
                if packet.is_keyframe:
                    keys.append(t)
                for frame in packet.decode():
                    assert isinstance(frame, av.VideoFrame) and frame.pts is not None
                    assert frame.time_base is not None
                    index = start_frame + round(
                        (float(frame.pts * frame.time_base) - v_pts[0]) * FPS)
                    if index % pictures_every == 0:
                        pictures[index] = frame.to_ndarray(format="rgb24")
            else:
                a_pts.append(t)
                duration = packet.duration or 1024 * 1000 // 48000
                a_end = t + float(duration * packet.time_base)
    return Capture(v_pts, keys, a_pts, a_end, codecs, pictures)


def check_capture(capture: Capture, frames: Frames, n_frames: int) -> None:
    """``n_frames``: how many frames the stream spans, from its first."""
    assert capture.codecs == ("h264", "aac")
    assert len(capture.video_pts_s) >= n_frames * 0.5  # DROP: some may be dropped, not most
    start = capture.video_pts_s[0]
    assert np.all(np.diff(capture.video_pts_s) > 0)
    assert np.all(np.diff(capture.audio_pts_s) > 0)
    # One clock: from the first picture, the sound lasts as long as the pictures (the AAC
    # encoder's 1024-sample priming sits before it), within one frame.
    video_s = capture.video_end_s - start
    audio_s = capture.audio_end_s - start
    assert video_s == pytest.approx(n_frames / FPS, abs=1 / FPS)
    assert abs(video_s - audio_s) <= 1 / FPS
    assert -0.03 < capture.audio_pts_s[0] - start <= 0.0
    # A keyframe every 2 s of stream time: the first frame at or after each 2 s mark (a
    # frame dropped on the mark moves its keyframe to the next frame, not 2 s later).
    times = np.array(capture.video_pts_s) - start
    marks = np.arange(0.0, times[-1] + 1e-6, 2.0)
    expected = [times[np.argmax(times >= mark - 1e-3)] for mark in marks]
    assert len(expected) >= 2
    np.testing.assert_allclose(np.array(capture.video_keyframe_s) - start, expected, atol=1e-3)
    # The pictures are the engine's pictures.
    compared = 0
    for index, picture in capture.pictures.items():
        if index in frames.frames:
            shown = frames.frames[index][..., :3].astype(np.int16)
            assert np.abs(picture.astype(np.int16) - shown).mean() < 8, index
            compared += 1
    assert compared >= 3


# --- MPEG-TS over UDP and TCP: ffmpeg as the receiver ----------------------------------------
def listening(port: int, proto: str) -> bool:
    """Whether something listens on ``port`` (TCP: in LISTEN state), from /proc/net."""
    hex_port = f":{port:04X}"
    for line in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(hex_port) and (proto == "udp" or fields[3] == "0A"):
            return True
    return False


def start_ffmpeg_capture(url: str, out: Path, port: int, proto: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", url,
                             "-c", "copy", "-f", "mpegts", str(out)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    wait_for(lambda: listening(port, proto) or proc.poll() is not None, 10, "ffmpeg to listen")
    return proc


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_mpegts_stream_carries_the_program(proto: str, write_show: Callable[[str], Path],
                                           piper_voice: object, tmp_path: Path) -> None:
    port = free_port(socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    out = tmp_path / "capture.ts"
    output = stream_output(f"{proto}://127.0.0.1:{port}")
    eng, frames = make_engine(write_show(SHOW), piper_voice, [output])
    eng.run_frames(0)  # load the voice and the renderer before the receiver's clock starts
    # ffmpeg ends on its read timeout (UDP has no end) or when the sender closes (TCP).
    listen = "timeout=2500000" if proto == "udp" else "listen=1"
    receiver = start_ffmpeg_capture(f"{proto}://127.0.0.1:{port}?{listen}", out, port, proto)
    run_until_connected(eng, output)
    run_gently(eng, 150 - frames.count)
    health = output.health()
    assert health.state == OutputState.UP and health.reason == ""
    assert health.bitrate_bps > 50_000
    eng.close()
    sent = output.health()
    assert sent.state == OutputState.STOPPED
    _, err = receiver.communicate(timeout=20)
    assert receiver.returncode in {0, 1}, err  # 1: ffmpeg ends on its UDP read timeout
    start = output.stream_start_frame  # frames before the relay connected were dropped
    assert start is not None and start < 60
    capture = read_capture(out, start)
    check_capture(capture, frames, 150 - start)
    assert len(capture.video_pts_s) == sent.frames_sent
    assert sent.frames_sent + sent.frames_dropped == 150


def test_udp_target_gets_its_datagram_size() -> None:
    target = parse_stream_target("udp://239.1.1.1:5000")
    assert target.url == "udp://239.1.1.1:5000?pkt_size=1316" and target.datagram_bytes == 1316
    assert parse_stream_target("udp://h:5000?pkt_size=188").datagram_bytes == 188
    assert "timeout=" in parse_stream_target("tcp://127.0.0.1:7000").url
    assert parse_target("udp://127.0.0.1:5000") == OutputSpec("stream", "udp://127.0.0.1:5000")


# --- RTMP: nginx as the server ---------------------------------------------------------------
class Nginx:
    """A real nginx with the RTMP module, recording every stream it is sent."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, record_dir: str = "rec") -> Path:
        records = self.root / record_dir
        records.mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        conf.write_text(textwrap.dedent(f"""
            load_module {NGINX_MODULE};
            daemon off;
            master_process off;
            pid {self.root}/nginx.pid;
            error_log {self.root}/error.log info;
            events {{ worker_connections 64; }}
            rtmp {{
                server {{
                    listen 127.0.0.1:{self.port};
                    application live {{
                        live on;
                        record all;
                        record_path {records};
                        record_unique off;
                    }}
                }}
            }}
            """))
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.root),
                                      "-e", str(self.root / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited: " + (self.root / "error.log").read_text())
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        wait_for(listening, 10, "nginx to listen")
        return records

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: recordings are closed
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    assert NGINX_MODULE.exists(), "install nginx-light and libnginx-mod-rtmp"
    server = Nginx(tmp_path / "nginx", free_port())
    server.root.mkdir()
    yield server
    server.kill()


def recording(records: Path) -> Path:
    path = records / f"{KEY}.flv"

    def complete() -> bool:  # nginx closes the file once the publisher has gone
        if not path.exists() or path.stat().st_size == 0:
            return False
        size = path.stat().st_size
        time.sleep(0.3)
        return path.stat().st_size == size
    wait_for(complete, 10, "the recording")
    return path


def processes_showing(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


def test_rtmp_stream_to_nginx_never_shows_the_key(
        write_show: Callable[[str], Path], piper_voice: object, nginx: Nginx,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    records = nginx.start()
    spec = OutputSpec("stream", f"rtmp://127.0.0.1:{nginx.port}/live/{KEY}")
    output = stream_output(spec.target)
    eng, frames = make_engine(write_show(SHOW), piper_voice, [output])
    run_until_connected(eng, output)
    run_gently(eng, 150 - frames.count)
    health = stream_health(eng)
    assert health.state == OutputState.UP, health.reason
    assert processes_showing(KEY) == []  # the relay got the URL through a pipe
    shown = [repr(spec), spec.display, repr(output), output.name, str(health), repr(health)]
    eng.close()
    shown += [str(h) for h in eng.outputs] + [str(output.health())]
    nginx.stop()
    start = output.stream_start_frame
    assert start is not None
    check_capture(read_capture(recording(records), start), frames, 150 - start)
    assert KEY not in caplog.text
    assert all(KEY not in text for text in shown), shown
    assert "live/••••" in output.name


def test_reconnects_after_the_server_dies(write_show: Callable[[str], Path], piper_voice: object,
                                          nginx: Nginx) -> None:
    nginx.start("before")
    output = stream_output(f"rtmp://127.0.0.1:{nginx.port}/live/{KEY}")
    eng, frames = make_engine(write_show(SHOW), piper_voice, [output], realtime=True)
    eng.start()
    try:
        wait_for(lambda: output.state == OutputState.UP, 20, "the stream to go up")
        time.sleep(1.0)
        nginx.kill()
        wait_for(lambda: output.state == OutputState.DEGRADED, 10, "the stream to notice")
        health = output.health()
        assert "lost the connection" in health.reason and "trying again" in health.reason
        assert KEY not in health.reason
        before = frames.count
        time.sleep(1.5)
        assert frames.count - before >= 20  # the frame loop kept going while the server was gone
        assert output.health().frames_dropped > 0
        records = nginx.start("after")
        wait_for(lambda: output.state == OutputState.UP, 20, "the stream to come back")
        assert output.reconnects >= 1
        time.sleep(1.5)
    finally:
        eng.stop()
    assert output.state == OutputState.STOPPED
    nginx.stop()
    capture = read_capture(recording(records), pictures_every=10_000)
    assert output.stream_start_frame is not None and output.stream_start_frame > 30
    assert capture.codecs == ("h264", "aac")
    assert len(capture.video_pts_s) >= 20  # frames arrived after the restart
    assert capture.video_keyframe_s[0] == capture.video_pts_s[0]  # a new stream, from a keyframe
    assert abs(capture.video_end_s - capture.audio_end_s) <= 1 / FPS


def test_unreachable_server_degrades_and_the_frames_keep_coming(
        write_show: Callable[[str], Path], piper_voice: object) -> None:
    output = stream_output("rtmp://127.0.0.1:1/live/unreachable-key")
    eng, frames = make_engine(write_show(SHOW), piper_voice, [output])
    n_frames = run_until_connected(eng, output, state=OutputState.DEGRADED)
    eng.run_frames(60)
    assert frames.count == n_frames + 60
    health = output.health()
    assert health.state == OutputState.DEGRADED
    assert "cannot connect" in health.reason and "refused" in health.reason.lower()
    assert "unreachable-key" not in health.reason and "live/••••" in health.reason
    started = time.monotonic()
    eng.close()
    assert time.monotonic() - started < 5


class QuickStream(StreamOutput):
    connect_timeout_s: ClassVar[float] = 1.5


def test_a_server_that_never_answers_is_given_up(write_show: Callable[[str], Path],
                                                 piper_voice: object) -> None:
    # A socket that accepts connections (the kernel does) but never speaks RTMP: PyAV would
    # wait for its handshake forever, holding Python's GIL; the relay is killed instead.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        output = QuickStream(OutputSpec("stream", f"rtmp://127.0.0.1:{port}/live/{KEY}"))
        eng, frames = make_engine(write_show(SHOW), piper_voice, [output])
        eng.run_frames(1)
        started = time.monotonic()
        while time.monotonic() - started < 2.5:
            eng.run_frames(1)
        assert frames.count >= 25  # the engine ran on while the relay waited
        health = output.health()
        assert health.state == OutputState.DEGRADED
        assert "no answer within 2 s" in health.reason or "no answer within 1 s" in health.reason
        closing = time.monotonic()
        eng.close()
        assert time.monotonic() - closing < 6


# --- targets that cannot work ----------------------------------------------------------------
FORMAT = ProgramFormat(W, H, Fraction(FPS))


@pytest.mark.parametrize(("target", "fix"), [
    ("rtmp://live.example.com/app", "rtmp://live.example.com/app/STREAM-KEY"),
    ("rtmp://live.example.com/app/", "STREAM-KEY"),
    ("rtmp://live.example.com", "APP/STREAM-KEY"),
    ("udp://127.0.0.1", "udp://127.0.0.1:PORT"),
    ("udp://:5000", "udp://127.0.0.1:5000"),
    ("udp://127.0.0.1:port", "1 to 65535"),
    ("tcp://127.0.0.1", "tcp://127.0.0.1:PORT"),
    ("udp://127.0.0.1:5000?pkt_size=big", "leave it out for 1316"),
    ("http://127.0.0.1:5000", "udp://HOST:PORT"),
])
def test_bad_targets_name_the_fix(target: str, fix: str) -> None:
    output = StreamOutput(OutputSpec("stream", target))
    with pytest.raises(UserInputError) as info:
        output.open(FORMAT, 0)
    assert fix in str(info.value)


def test_bad_options_name_the_fix() -> None:
    for options, fix in ((("bitrate_kbps", "fast"),), "100 to 100000"), \
                        ((("preset", "warp"),), "veryfast"):
        output = StreamOutput(OutputSpec("stream", "udp://127.0.0.1:5000", options))
        with pytest.raises(UserInputError) as info:
            output.open(FORMAT, 0)
        assert fix in str(info.value)


def test_a_bad_target_in_the_engine_is_a_problem_not_a_crash(
        write_show: Callable[[str], Path], piper_voice: object) -> None:
    eng, frames = make_engine(write_show(SHOW), piper_voice,
                              [OutputSpec("stream", f"rtmp://127.0.0.1:1/live/{KEY}x"),
                               OutputSpec("stream", "rtmp://127.0.0.1:1935/live")])
    eng.run_frames(5)
    assert frames.count == 5
    bad = [h for h in eng.outputs if h.state == OutputState.DOWN]
    assert len(bad) == 1 and "STREAM-KEY" in bad[0].reason
    eng.close()


# --- SRT -------------------------------------------------------------------------------------
def test_srt_streams_or_says_this_build_has_none(write_show: Callable[[str], Path],
                                                 piper_voice: object, tmp_path: Path) -> None:
    protocols = output_protocols()
    assert protocols is not None and "udp" in protocols and "rtmp" in protocols
    port = free_port(socket.SOCK_DGRAM)
    target = f"srt://127.0.0.1:{port}"
    if "srt" not in protocols:
        with pytest.raises(DependencyError) as info:
            StreamOutput(OutputSpec("stream", target)).open(FORMAT, 0)
        message = str(info.value)
        assert "no SRT" in message and "udp://" in message and "rtmp://" in message
        return
    out = tmp_path / "srt.ts"
    receiver = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i",
                                 f"srt://127.0.0.1:{port}?mode=listener&timeout=10000000",
                                 "-c", "copy", "-f", "mpegts", str(out)],
                                stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    output = stream_output(target)
    eng, frames = make_engine(write_show(SHOW), piper_voice, [output])
    run_until_connected(eng, output)
    run_gently(eng, 90 - frames.count)
    eng.close()
    receiver.communicate(timeout=30)
    start = output.stream_start_frame or 0
    check_capture(read_capture(out, start), frames, 90 - start)



def test_a_port_already_taken_is_named(write_show: Callable[[str], Path],
                                       piper_voice: object) -> None:
    from studio.engine.events import Problem

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        with pytest.raises(UserInputError, match=f"port {port} is already in use"):
            parse_stream_target(f"tcp://127.0.0.1:{port}?listen=1")
        events: list[Event] = []
        engine = LiveEngine(load_show(write_show(SHOW)), width_px=320, height_px=180,
                            realtime=False, tts=piper_voice,  # type: ignore[arg-type]
                            outputs=[OutputSpec("stream", f"tcp://127.0.0.1:{port}?listen=1")])
        engine.subscribe(events.append)
        engine.run_frames(3)
        engine.close()
    problems = [e.message for e in events if isinstance(e, Problem)]
    assert any("already in use" in m and "choose another port" in m for m in problems)
    assert [h.state for h in engine.outputs] == [OutputState.DOWN]
