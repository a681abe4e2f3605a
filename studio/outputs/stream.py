"""Network streams: the program as MPEG-TS over udp://, tcp:// or srt://, as FLV over rtmp(s)://.

Audio and video go through one PyAV mux stamped from the engine clock, so they cannot drift.
The bytes leave through a small relay process (``python -m studio.outputs.stream``) that
owns the connection. PyAV opens a network output while holding Python's GIL and gives
RTMP no read or write timeout, so in this process a server that stops answering would
freeze the whole studio; a relay can simply be killed. A connection that fails, or takes no
data for ``stall_s``, is dropped and retried with ``Backoff`` (0.5 s doubling to 10 s), and
the new mux starts at the current frame. The frame loop never waits: frames that arrive
while the stream is down are dropped and counted. Stream keys never appear in names,
reasons, logs or exceptions.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from studio.core.backoff import Backoff
from studio.core.clock import MediaClock
from studio.core.errors import DependencyError, UserInputError
from studio.core.media import AudioChunk
from studio.outputs.base import (
    FramePolicy,
    OutputSpec,
    OutputState,
    ProgramFormat,
    ProgramFrame,
    ThreadedOutput,
    redact,
    register_output,
)
from studio.outputs.mux import BT709, AVMuxer, gop_frames

_LOG = logging.getLogger("studio.outputs.stream")

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow")
# x264's speed for a stream: on a small machine (up to 4 cores) "superfast", which leaves
# the frame loop, the voice and a recording room to run at 720p30 (measured on 2 cores:
# "veryfast" there under-ran the sound card); "veryfast" (better pictures per bit) elsewhere.
DEFAULT_PRESET = "superfast" if (os.cpu_count() or 1) <= 4 else "veryfast"
BITRATE_720P30_KBPS = 2500
KEYINT_S = 2.0  # what platforms ask for; a local feed to OBS joins faster with 1 s
KEYINT_RANGE_S = (0.5, 10.0)
AUDIO_BITRATE_BPS = 128_000
TS_DATAGRAM_BYTES = 1316  # seven 188-byte TS packets: one datagram fits an Ethernet frame
SEND_BUFFER_S = 1.0  # a TCP connection's send buffer holds about this much of the stream
MIN_SEND_BUFFER_BYTES = 64 * 1024
TCP_RW_TIMEOUT_US = 5_000_000  # FFmpeg gives up a tcp:// or srt:// read/write after this
RATE_WINDOW_S = 3.0
EXAMPLES = {"udp": "udp://127.0.0.1:5000", "tcp": "tcp://127.0.0.1:5000",
            "srt": "srt://127.0.0.1:9000", "rtmp": "rtmp://live.example.com/live/STREAM-KEY",
            "rtmps": "rtmps://live.example.com:443/live/STREAM-KEY"}
STREAM_HELP = ("udp://HOST:PORT, tcp://HOST:PORT, srt://HOST:PORT (MPEG-TS), or "
               "rtmp://HOST/APP/STREAM-KEY, rtmps://HOST/APP/STREAM-KEY (FLV)")
SECRET_QUERY_KEYS = {"passphrase", "streamid", "key", "password", "pwd", "token", "auth"}
# An RTMP URL anywhere in a message (FFmpeg's errors quote the URL they failed to open).
_RTMP_IN_TEXT = re.compile(r"(rtmps?://[^/\s'\"]+/[^/\s?'\"]+/)[^\s'\"]+", re.I)
_RELAY_MODULE = "studio.outputs.stream"


# --- targets ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, repr=False)
class StreamTarget:
    """A validated stream target: what the relay opens, and how the bytes are framed."""

    url: str  # with the options this module adds (pkt_size, timeout); holds any secret
    display: str  # the target as it may be shown
    protocol: str
    container_format: str  # "mpegts" or "flv"
    datagram_bytes: int  # payload per datagram (UDP, SRT); 0 for byte streams
    secrets: tuple[str, ...]

    def __repr__(self) -> str:
        return f"StreamTarget({self.display!r})"


def parse_stream_target(text: str) -> StreamTarget:
    """Check a stream URL at once; ``UserInputError`` names what is wrong and the fix."""
    raw = text.strip()
    shown = redact(raw)
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise UserInputError(f"stream {shown!r} is not a URL; use {STREAM_HELP}") from None
    scheme = parts.scheme.lower()
    if scheme not in EXAMPLES:
        raise UserInputError(f"stream {shown!r} is not a stream URL; use {STREAM_HELP}")
    try:
        port = parts.port
    except ValueError:
        raise UserInputError(f"stream {shown!r}: the port must be a number from 1 to 65535, "
                             f"e.g. {EXAMPLES[scheme]}") from None
    host = parts.hostname
    if not host:
        raise UserInputError(f"stream {shown!r} names no host; use e.g. {EXAMPLES[scheme]}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    secrets = [value for key, value in query if key.lower() in SECRET_QUERY_KEYS and value]
    if parts.password:
        secrets.append(parts.password)
    if scheme in {"rtmp", "rtmps"}:
        app, _, key = parts.path.lstrip("/").partition("/")
        if not app:
            raise UserInputError(f"stream {shown!r} has no application and no stream key; use "
                                 f"{scheme}://{host}/APP/STREAM-KEY, e.g. {EXAMPLES[scheme]}")
        if not key.strip("/"):
            raise UserInputError(f"stream {shown!r} has no stream key; use "
                                 f"{scheme}://{host}/{app}/STREAM-KEY with the key your "
                                 "platform gives you")
        secrets.append(key)
        if parts.query:
            secrets.append(parts.query)
        return StreamTarget(raw, shown, scheme, "flv", 0, tuple(secrets))
    if port is None or port == 0:
        raise UserInputError(f"stream {shown!r} has no port; use {scheme}://{host}:PORT, "
                             f"e.g. {EXAMPLES[scheme]}")
    keys = {key.lower() for key, _ in query}
    added: dict[str, str] = {}
    datagram = 0
    if scheme == "udp":
        if "pkt_size" not in keys:
            added["pkt_size"] = str(TS_DATAGRAM_BYTES)
        size = dict(query).get("pkt_size", str(TS_DATAGRAM_BYTES))
        if not size.isdigit() or not 188 <= int(size) <= 65_507:
            raise UserInputError(f"stream {shown!r}: pkt_size {size!r} is not a datagram size "
                                 f"from 188 to 65507 bytes; leave it out for "
                                 f"{TS_DATAGRAM_BYTES}")
        datagram = int(size)
    elif "timeout" not in keys:  # tcp and srt: a write that makes no progress fails
        added["timeout"] = str(TCP_RW_TIMEOUT_US)
    if scheme == "srt":
        datagram = TS_DATAGRAM_BYTES  # SRT's live mode carries at most 1316 bytes a message
    options = {key.lower(): value for key, value in query}
    if scheme == "tcp" and options.get("listen", "0") not in {"", "0"}:
        _check_port_free(socket.SOCK_STREAM, host, port, shown)
    elif scheme == "udp" and options.get("localport", "").isdigit():
        _check_port_free(socket.SOCK_DGRAM, "0.0.0.0", int(options["localport"]), shown)
    url = raw
    if added:
        url += ("&" if parts.query else "?") + urlencode(added)
    return StreamTarget(url, shown, scheme, "mpegts", datagram, tuple(secrets))


def _check_port_free(kind: int, host: str, port: int, shown: str) -> None:
    """A port this output must bind (a listening tcp://, a udp:// localport) is free now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, kind) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserInputError(
                    f"stream {shown!r}: port {port} is already in use by another program; "
                    "choose another port, or stop the program that holds it (ss -lntup "
                    "shows which)") from None
            raise UserInputError(f"stream {shown!r}: cannot use {host}:{port} "
                                 f"({exc.strerror})") from None


@functools.cache
def output_protocols() -> frozenset[str] | None:
    """The protocols this process's FFmpeg (inside PyAV) can write to; None if unknown.

    PyAV does not list them, so this asks the libavformat it loaded."""
    import av  # noqa: F401  (loads libavformat)

    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = sorted({line.split(None, 5)[5].strip() for line in maps
                            if "libavformat" in line and len(line.split(None, 5)) == 6})
    except OSError:
        return None
    for path in paths:
        try:
            enum = ctypes.CDLL(path).avio_enum_protocols
        except (OSError, AttributeError):
            continue
        enum.restype = ctypes.c_char_p
        enum.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int]
        opaque = ctypes.c_void_p()
        names: set[str] = set()
        while (name := enum(ctypes.byref(opaque), 1)) is not None:
            names.add(name.decode())
        if names:
            return frozenset(names)
    return None


def _ffmpeg_version() -> str:
    import av

    return str(getattr(av, "ffmpeg_version_info", "") or "unknown")


def _no_protocol_message(protocol: str, display: str) -> str:
    import av

    build = f"this build of PyAV ({av.__version__}, FFmpeg {_ffmpeg_version()})"
    if protocol == "srt":
        return (f"stream {display}: {build} has no SRT; send MPEG-TS over UDP "
                "(udp://HOST:PORT) or FLV over RTMP (rtmp://HOST/APP/KEY) instead, or relay a "
                "udp:// output to your SRT server with srt-live-transmit or ffmpeg")
    return (f"stream {display}: {build} cannot send {protocol}://; use udp://HOST:PORT or "
            "rtmp://HOST/APP/KEY")


def default_bitrate_kbps(width_px: int, height_px: int, fps: float) -> int:
    """2500 kbps at 1280x720, scaled by the picture area (and by 1.5 above 30 fps)."""
    kbps = BITRATE_720P30_KBPS * (width_px * height_px) / (1280 * 720)
    if fps > 30.5:
        kbps *= 1.5
    return max(300, round(kbps / 100) * 100)


def live_video_options(fps: Fraction, bitrate_kbps: int, preset: str = DEFAULT_PRESET,
                       keyint_s: float = KEYINT_S) -> dict[str, str]:
    """x264 for live: no lookahead or B-frames (zerolatency), the bitrate held near
    ``bitrate_kbps`` by a one-second VBV, and a keyframe every ``keyint_s`` (no scene cuts)."""
    gop = gop_frames(fps, keyint_s)
    rate = f"{bitrate_kbps}k"
    return {"preset": preset, "tune": "zerolatency", "profile": "high",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0",
            "maxrate": rate, "bufsize": rate, **BT709}


# --- the relay process -----------------------------------------------------------------------
class _Relay:
    """One connection's relay process: bytes in through a pipe, out through FFmpeg.

    Writes never block: what the pipe does not take waits in ``pending``. The relay reports
    on stderr: ``ready`` once connected, ``error {json}`` when it fails."""

    def __init__(self, url: str, datagram_bytes: int,
                 on_sent: Callable[[int, float], None] | None = None,
                 send_buffer_bytes: int = 0) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        # The URL (and its key) goes through the pipe, never on the command line.
        self._proc = subprocess.Popen(
            [sys.executable, "-m", _RELAY_MODULE, "--relay"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
            start_new_session=True)  # Ctrl+C in a terminal stops the studio, not the relay
        assert self._proc.stdin is not None and self._proc.stderr is not None
        self._stdin: IO[bytes] = self._proc.stdin
        self._fd = self._stdin.fileno()
        os.write(self._fd, json.dumps({"url": url, "datagram_bytes": datagram_bytes,
                                       "send_buffer_bytes": send_buffer_bytes})
                 .encode() + b"\n")
        os.set_blocking(self._fd, False)
        self._on_sent = on_sent
        self.pending = bytearray()
        self.ready_at: float | None = None
        self.blocked_since: float | None = None
        self.broken = False  # the pipe closed: the relay is gone
        self.ended = False  # its stderr closed: it exited
        self.error = ""
        self.permanent = False
        self._other: deque[str] = deque(maxlen=4)
        self._reader = threading.Thread(target=self._read_reports, args=(self._proc.stderr,),
                                        name="stream-relay-reports", daemon=True)
        self._reader.start()

    def _read_reports(self, stderr: IO[bytes]) -> None:
        for raw in stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line == "ready":
                self.ready_at = time.monotonic()
            elif line.startswith("error "):
                with contextlib.suppress(ValueError):
                    report = json.loads(line[6:])
                    self.error = str(report.get("message", ""))
                    self.permanent = bool(report.get("permanent", False))
            elif line:
                self._other.append(line)
        stderr.close()
        self.ended = True

    # The file-like interface PyAV writes the container into.
    def write(self, data: bytes) -> int:
        if not self.broken:
            self.pending += data
            self.pump()
        return len(data)

    def flush(self) -> None:
        self.pump()

    def pump(self) -> None:
        """Hand the relay what its pipe takes now; note when it stops taking anything."""
        sent = 0
        while self.pending and not self.broken:
            try:
                n = os.write(self._fd, memoryview(self.pending)[:1 << 16])
            except BlockingIOError:
                break
            except OSError:
                self.broken = True
                self.pending.clear()
                break
            del self.pending[:n]
            sent += n
        now = time.monotonic()
        if not self.pending:
            self.blocked_since = None
        elif sent or self.blocked_since is None:
            self.blocked_since = now
        if sent and self.ready and self._on_sent is not None:
            self._on_sent(sent, now)

    @property
    def ready(self) -> bool:
        return self.ready_at is not None

    @property
    def gone(self) -> bool:
        return self.broken or self.ended or self._proc.poll() is not None

    def reason(self) -> str:
        if self.error:
            return self.error
        if self._other:
            return self._other[-1]
        code = self._proc.poll()
        return "the relay stopped" + (f" (exit status {code})" if code is not None else "")

    def finish(self, timeout_s: float) -> bool:
        """Send what is pending, end the stream, wait for the relay; kill it at the deadline."""
        deadline = time.monotonic() + timeout_s
        while self.pending and not self.broken and time.monotonic() < deadline:
            self.pump()
            if self.pending:
                time.sleep(0.01)
        with contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self._proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            return False
        self._reader.join(timeout=1.0)
        return self._proc.returncode == 0

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(OSError):
            self._stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=1.0)


def _tell(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def cap_send_buffers(n_bytes: int) -> int:
    """Cap the send buffer of this process's TCP sockets (the relay has one: FFmpeg's) at
    ``n_bytes``; how many were capped. Linux lets a loopback or fast link's buffer grow to
    4 MB, minutes of a low-bitrate stream: a network that stalls without a word would go
    unnoticed that long, and what it held would reach viewers late. FFmpeg's RTMP passes no
    ``send_buffer_size`` down to its TCP socket, so this is done on the socket itself."""
    import stat

    if n_bytes <= 0 or not Path("/proc/self/fd").is_dir():
        return 0
    capped = 0
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError, ValueError):
            fd = int(name)
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=os.dup(fd))
            try:
                if sock.type == socket.SOCK_STREAM:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, n_bytes)
                    capped += 1
            finally:
                sock.close()  # the duplicate only
    return capped


def relay_main() -> int:
    """The relay process: the target on stdin's first line, then the container's bytes."""
    import av

    stdin: Any = sys.stdin.buffer
    header = json.loads(stdin.readline())
    datagram = int(header["datagram_bytes"])
    try:
        out: Any = av.open(header["url"], "w", format="data",
                           container_options={"flush_packets": "1"})
        stream = out.add_data_stream()
        out.start_encoding()  # connects: RTMP's handshake and publish happen here
        cap_send_buffers(int(header.get("send_buffer_bytes", 0)))
        _tell("ready")
        held = b""
        while data := stdin.read1(1 << 16):
            if datagram:  # whole datagrams only: a receiver expects whole TS packets
                held += data
                end = len(held) - len(held) % datagram
                chunks = [held[i:i + datagram] for i in range(0, end, datagram)]
                held = held[end:]
            else:
                chunks = [data]
            for chunk in chunks:
                packet = av.Packet(chunk)
                packet.stream = stream
                out.mux(packet)
        if held:
            packet = av.Packet(held)
            packet.stream = stream
            out.mux(packet)
        out.close()
    except Exception as exc:
        message = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if message == "End of file":
            message = "the server closed the connection"
        _tell("error " + json.dumps({
            "message": message,
            "permanent": isinstance(exc, av.error.ProtocolNotFoundError)}))
        return 1
    return 0


# --- the output ------------------------------------------------------------------------------
class _RateMeter:
    """Bytes per second over the last few seconds (written by the worker, read by anyone)."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._lock = threading.Lock()
        self._events: deque[tuple[float, int]] = deque()
        self._since = time.monotonic()

    def restart(self) -> None:
        with self._lock:
            self._events.clear()
            self._since = time.monotonic()

    def add(self, n_bytes: int, now: float) -> None:
        with self._lock:
            self._events.append((now, n_bytes))
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._events and self._events[0][0] < now - self.window_s:
            self._events.popleft()

    def bits_per_s(self) -> float:
        now = time.monotonic()
        with self._lock:
            self._trim(now)
            total = sum(n for _, n in self._events)
            span = min(self.window_s, max(0.5, now - self._since))
        return 8.0 * total / span


@dataclass(slots=True)
class _Mux:
    """The container a connection carries, counted from the engine frame it starts at."""

    muxer: AVMuxer
    clock: MediaClock
    origin_index: int
    gop: int
    last: ProgramFrame | None = None
    next_key_pts: int = 0

    @property
    def origin_samples(self) -> int:
        return self.clock.frame_start_sample(self.origin_index)

    def write_video(self, frame: ProgramFrame) -> None:
        self._encode(frame, frame.index - self.origin_index)
        self.last = frame

    def _encode(self, frame: ProgramFrame, pts: int) -> None:
        keyframe = pts >= self.next_key_pts  # every 2 s of stream time, dropped frames or not
        while self.next_key_pts <= pts:
            self.next_key_pts += self.gop
        if frame.yuv420p is not None:
            self.muxer.write_yuv420p(pts, frame.yuv420p, keyframe=keyframe)
        else:
            self.muxer.write_video(pts, frame.rgba, keyframe=keyframe)

    def write_audio(self, chunk: AudioChunk) -> None:
        start = chunk.pts_samples - self.origin_samples
        samples = chunk.samples
        if start < 0:  # the part before this stream's first frame
            samples = samples[-start:]
            start = 0
        if samples.size:
            self.muxer.write_audio(AudioChunk(start, samples, chunk.sample_rate_hz))

    def finish(self) -> None:
        """End both streams on the same frame boundary (the last picture stays on screen
        over audio whose frames were dropped, silence fills the last frame), then flush."""
        last = self.last
        if last is not None:
            last_pts = last.index - self.origin_index
            heard = self.muxer.samples_written
            if heard:
                final_pts = self.clock.frame_at_sample(self.origin_samples + heard - 1) \
                    - self.origin_index
                if final_pts > last_pts:
                    self._encode(last, final_pts)
                    last_pts = final_pts
            end = self.clock.frame_start_sample(self.origin_index + last_pts + 1)
            self.muxer.pad_audio_to(end - self.origin_samples)
        self.muxer.close()


@dataclass(slots=True)
class _Connection:
    """One attempt: a relay, and once it is connected the mux feeding it."""

    relay: _Relay
    started_at: float
    mux: _Mux | None = None
    up_at: float | None = None

    def close(self) -> None:
        if self.mux is not None:
            self.mux.muxer.abort()
        self.relay.kill()


class StreamOutput(ThreadedOutput):
    """The program to a network stream; drops frames rather than ever blocking the show.

    Each connection carries its own mux, started at the first frame after it connects, so a
    receiver's time 0 is engine frame ``stream_start_frame``. Options
    (``OutputSpec.options``): ``bitrate_kbps`` (default 2500 at 720p, scaled by the picture
    area), ``preset`` (x264; superfast on up to 4 cores, else veryfast), ``keyint_s``
    (seconds between keyframes, default 2)."""

    kind: ClassVar[str] = "stream"
    policy: ClassVar[FramePolicy] = FramePolicy.DROP
    wants_yuv: ClassVar[bool] = True
    up_on_open: ClassVar[bool] = False  # UP once the relay has connected
    connect_timeout_s: ClassVar[float] = 10.0  # connect and handshake, else try again
    stall_s: ClassVar[float] = 5.0  # a connection that takes no data this long is dropped
    close_timeout_s: ClassVar[float] = 3.0  # closing gives up on the network after this
    stable_s: ClassVar[float] = 10.0  # a connection that lasted this long resets the backoff
    backlog_s: ClassVar[float] = 1.0  # more video than this waiting for the network: drop

    def __init__(self, spec: OutputSpec) -> None:
        super().__init__(spec)
        self._target: StreamTarget | None = None
        self._conn: _Connection | None = None
        self._backoff = Backoff(0.5, 10.0)
        self._retry_at = 0.0
        self._attempts = 0
        self._connections = 0  # connections that came up
        self._gave_up = False
        self._meter = _RateMeter()
        self.bitrate_kbps = 0
        self.preset = DEFAULT_PRESET
        self.keyint_s = KEYINT_S
        self.stream_start_frame: int | None = None  # the engine frame at the stream's time 0

    def __repr__(self) -> str:
        return f"StreamOutput({self.name!r}, {self.state.value})"

    # --- on the caller's thread ---------------------------------------------------------------
    def start_worker(self, fmt: ProgramFormat, start_samples: int) -> None:
        self.check(fmt)
        self._clock = MediaClock(fmt.fps, fmt.sample_rate_hz)
        self.set_state(OutputState.STARTING, f"connecting to {self.name}")

    def check(self, fmt: ProgramFormat) -> None:
        target = parse_stream_target(self.spec.target)
        protocols = output_protocols()
        if protocols is not None and target.protocol not in protocols:
            raise DependencyError(_no_protocol_message(target.protocol, target.display))
        default_kbps = default_bitrate_kbps(fmt.width_px, fmt.height_px, float(fmt.fps))
        text = self.spec.option("bitrate_kbps", str(default_kbps)).strip()
        if not text.isdigit() or not 100 <= int(text) <= 100_000:
            raise UserInputError(f"stream {self.name}: bitrate_kbps {text!r} is not a number "
                                 f"of kbps from 100 to 100000; e.g. {default_kbps}")
        preset = self.spec.option("preset", DEFAULT_PRESET).strip().lower()
        if preset not in X264_PRESETS:
            raise UserInputError(f"stream {self.name}: preset {preset!r} is not an x264 "
                                 "preset; use one of " + ", ".join(X264_PRESETS))
        keyint = self.spec.option("keyint_s", str(KEYINT_S)).strip()
        low, high = KEYINT_RANGE_S
        try:
            keyint_s = float(keyint)
        except ValueError:
            keyint_s = -1.0
        if not low <= keyint_s <= high:
            raise UserInputError(f"stream {self.name}: keyint_s {keyint!r} is not a keyframe "
                                 f"interval from {low:g} to {high:g} s; platforms ask for "
                                 f"{KEYINT_S:g}")
        if fmt.width_px % 2 or fmt.height_px % 2:
            raise UserInputError(f"stream {self.name}: H.264 needs an even picture size, not "
                                 f"{fmt.width_px}x{fmt.height_px}; choose e.g. 1280x720")
        self._target = target
        self.bitrate_kbps = int(text)
        self.preset = preset
        self.keyint_s = keyint_s

    # --- health -------------------------------------------------------------------------------
    def bitrate_bps(self) -> float:
        return self._meter.bits_per_s()

    def scrub(self, text: str) -> str:
        """``text`` with this stream's URL and secrets hidden (FFmpeg quotes URLs)."""
        target = self._target
        for raw in sorted({self.spec.target.strip(), target.url if target else ""}, key=len,
                          reverse=True):
            if raw:
                text = text.replace(raw, self.name)
        for secret in target.secrets if target else ():
            if len(secret) >= 3:
                text = text.replace(secret, "••••")
        return _RTMP_IN_TEXT.sub(r"\1••••", text)

    # --- on the worker thread -----------------------------------------------------------------
    def write_video(self, frame: ProgramFrame) -> bool:
        conn = self._connection(frame.pts_samples)
        mux = conn.mux if conn is not None else None
        if conn is None or mux is None or frame.index < mux.origin_index \
                or self._backlogged(conn):
            return False  # not connected (yet), or the network is behind: dropped
        mux.write_video(frame)
        conn.relay.pump()
        return True

    def write_audio(self, chunk: AudioChunk) -> None:
        conn = self._connection(chunk.pts_samples)
        if conn is not None and conn.mux is not None:
            conn.mux.write_audio(chunk)
            conn.relay.pump()

    def _backlogged(self, conn: _Connection) -> bool:
        limit = max(256 * 1024, int(self.bitrate_kbps * 125 * self.backlog_s))
        return len(conn.relay.pending) > limit

    def send_buffer_bytes(self) -> int:
        """The connection's send buffer: about ``SEND_BUFFER_S`` of the stream, so a network
        that stalls is noticed within that and ``stall_s``, whatever the bitrate."""
        per_s = (self.bitrate_kbps * 1000 + AUDIO_BITRATE_BPS) // 8
        return max(MIN_SEND_BUFFER_BYTES, int(per_s * SEND_BUFFER_S))

    def _connection(self, at_samples: int) -> _Connection | None:
        """The connection, after checking on it; a new one when it is time to try again."""
        now = time.monotonic()
        conn = self._conn
        if conn is not None:
            problem = self._problem(conn, now)
            if problem:
                self._lose(conn, problem, now)
                conn = None
            elif conn.mux is None and conn.relay.ready:
                self._went_up(conn, at_samples, now)
            elif conn.up_at is not None and now - conn.up_at >= self.stable_s:
                self._backoff.reset()
        if conn is None and not self._gave_up and now >= self._retry_at:
            conn = self._connect(now)
        return conn

    def _problem(self, conn: _Connection, now: float) -> str:
        relay = conn.relay
        if relay.gone:
            return self.scrub(relay.reason())
        if not relay.ready and now - conn.started_at > self.connect_timeout_s:
            return f"no answer within {self.connect_timeout_s:.0f} s"
        if relay.ready and relay.blocked_since is not None \
                and now - relay.blocked_since > self.stall_s:
            return f"the server took no data for {self.stall_s:.0f} s"
        return ""

    def _connect(self, now: float) -> _Connection | None:
        assert self._target is not None
        self._attempts += 1
        try:
            relay = _Relay(self._target.url, self._target.datagram_bytes, self._meter.add,
                           send_buffer_bytes=self.send_buffer_bytes())
        except OSError as exc:
            self._retry(f"the relay process cannot start ({exc})", now, connected=False)
            return None
        self._conn = _Connection(relay, now)
        _LOG.info("stream %s: connecting (attempt %d)", self.name, self._attempts)
        return self._conn

    def _went_up(self, conn: _Connection, at_samples: int, now: float) -> None:
        """Connected: a fresh mux starts at the first frame boundary from ``at_samples``."""
        assert self._target is not None
        fmt = self.format
        clock = self._clock
        index = clock.frame_at_sample(at_samples)
        if clock.frame_start_sample(index) < at_samples:
            index += 1
        muxer = AVMuxer(conn.relay, fmt.width_px, fmt.height_px, fmt.fps,
                        container_format=self._target.container_format,
                        video_options=live_video_options(fmt.fps, self.bitrate_kbps,
                                                         self.preset, self.keyint_s),
                        video_bitrate_bps=self.bitrate_kbps * 1000,
                        sample_rate_hz=fmt.sample_rate_hz, audio_bitrate_bps=AUDIO_BITRATE_BPS,
                        container_options=self._container_options())
        conn.mux = _Mux(muxer, clock, index, gop_frames(fmt.fps, self.keyint_s))
        conn.up_at = now
        self.stream_start_frame = index
        if self._connections:
            self.reconnects += 1
        self._connections += 1
        self._meter.restart()
        self.set_state(OutputState.UP, code="stream.reconnected" if self.reconnects else "")

    def _container_options(self) -> dict[str, str]:
        options = {"flush_packets": "1", "max_interleave_delta": "500000"}
        if self._target is not None and self._target.container_format == "flv":
            options["flvflags"] = "no_duration_filesize"  # a live stream has no end to seek to
        return options

    def _lose(self, conn: _Connection, problem: str, now: float) -> None:
        self._conn = None
        conn.close()
        if conn.relay.permanent:
            self._gave_up = True
            self.set_state(OutputState.DOWN, self._permanent_reason(problem),
                           code="stream.failed")
            return
        self._retry(problem, now, connected=conn.up_at is not None)

    def _permanent_reason(self, problem: str) -> str:
        assert self._target is not None
        if "protocol not found" in problem.lower():
            return _no_protocol_message(self._target.protocol, self.name)
        return f"stream {self.name}: {problem}"

    def _retry(self, problem: str, now: float, *, connected: bool) -> None:
        delay = self._backoff.next_delay_s()
        self._retry_at = now + delay
        what = "lost the connection" if connected else "cannot connect"
        self.set_state(OutputState.DEGRADED, f"{what} to {self.name}: {problem}; trying again "
                       f"in {delay:.1f} s (frames are dropped meanwhile)",
                       code="stream.reconnecting")

    def finish(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if conn.mux is not None:
            try:
                conn.mux.finish()
            except Exception as exc:
                _LOG.warning("stream %s: could not finish the mux: %s", self.name,
                             self.scrub(str(exc)))
                conn.mux.muxer.abort()
        if not conn.relay.finish(self.close_timeout_s):
            _LOG.info("stream %s: closed without a clean goodbye (%s)", self.name,
                      self.scrub(conn.relay.reason()) if conn.relay.gone else "timed out")

    def fail(self, exc: BaseException) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        message = self.scrub(f"{type(exc).__name__}: {exc}")
        self.set_state(OutputState.DOWN, f"stream {self.name} stopped: {message}",
                       code="stream.failed")


register_output("stream", StreamOutput, "a network stream: " + STREAM_HELP)


if __name__ == "__main__" and sys.argv[1:] == ["--relay"]:
    sys.exit(relay_main())
