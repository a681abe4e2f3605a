"""What outside monitors see of a running show: an HTTP endpoint, a status file, sd_notify.

All three read the supervisor's ``snapshot`` (a JSON-ready dict). The endpoint listens on
127.0.0.1 only and answers GET (read-only, no token): ``/health`` (or ``/``) is the whole
report, 200 while the show is on air (``on_air`` or ``degraded``), 503 otherwise, so a plain
HTTP check can alarm on the status code. It accepts no command. The status file is written
atomically (a temporary file renamed over it) every few seconds. ``SdNotify`` speaks
systemd's notify protocol (one datagram per message on ``$NOTIFY_SOCKET``) with the
standard library: READY=1 once frames go out, WATCHDOG=1 only while they keep going out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from studio.core.errors import UserInputError

_LOG = logging.getLogger("studio.health")

Snapshot = Callable[[], dict[str, Any]]
ON_AIR_STATES = {"on_air", "degraded"}
HEALTH_FILE_EVERY_S = 2.0


class HealthServer:
    """A read-only JSON endpoint on 127.0.0.1:``port`` (0: any free port), on its own thread."""

    def __init__(self, snapshot: Snapshot, port: int, host: str = "127.0.0.1") -> None:
        self._snapshot = snapshot

        outer = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "LiveHostStudio"

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in {"/", "/health"}:
                    self._send(404, {"error": "not found; GET /health"})
                    return
                try:
                    report = outer._snapshot()
                except Exception as exc:  # the report must not take the endpoint down
                    _LOG.exception("health snapshot failed")
                    self._send(500, {"error": str(exc)})
                    return
                self._send(200 if report.get("state") in ON_AIR_STATES else 503, report)

            def do_POST(self) -> None:
                self._send(405, {"error": "this endpoint is read-only"})

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                _LOG.debug("health: " + format, *args)

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise UserInputError(f"--health-port {port}: cannot listen on {host}:{port} "
                                 f"({exc.strerror or exc}); choose a free port") from None
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http",
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """``path`` holds either the old report or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_health_file(path: Path) -> Path:
    """Refuse a status file that cannot be written, before the show goes on air."""
    path = path.expanduser()
    if path.is_dir():
        raise UserInputError(f"--health-file {path} is a folder; give a file path such as "
                             f"{path / 'status.json'}")
    if not path.parent.is_dir():
        raise UserInputError(f"--health-file {path}: the folder {path.parent} does not exist; "
                             "create it or choose another path")
    if not os.access(path.parent, os.W_OK):
        raise UserInputError(f"--health-file {path}: the folder {path.parent} is not "
                             "writable; choose another path")
    return path


class HealthFile:
    """Writes the report to ``path`` every ``every_s`` seconds, on its own thread."""

    def __init__(self, snapshot: Snapshot, path: Path,
                 every_s: float = HEALTH_FILE_EVERY_S) -> None:
        self._snapshot = snapshot
        self.path = path
        self._every_s = every_s
        self._stop = threading.Event()
        self._failed = False
        self._thread = threading.Thread(target=self._run, name="health-file", daemon=True)
        self._thread.start()

    def write(self) -> None:
        try:
            write_json_atomically(self.path, self._snapshot())
            self._failed = False
        except Exception as exc:  # a full disk must not stop the show; said once
            if not self._failed:
                _LOG.warning("the status file %s cannot be written: %s", self.path, exc)
            self._failed = True

    def _run(self) -> None:
        while True:
            self.write()
            if self._stop.wait(self._every_s):
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.write()  # the last word: stopped, or ended


class SdNotify:
    """systemd's notify protocol: datagrams to ``$NOTIFY_SOCKET`` (a path, or ``@name`` for
    the abstract namespace). Without the variable (not under systemd) it does nothing."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address: str | bytes | None = None
        if address.startswith("@"):
            self.address = b"\0" + address[1:].encode()
        elif address.startswith("/"):
            self.address = address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog_s = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 else None
        if pid and pid != str(os.getpid()):
            watchdog_s = None  # the watchdog is meant for another process
        # Ping at half the watchdog's period (as systemd advises), or every 5 s without one.
        self.ping_every_s = watchdog_s / 2 if watchdog_s is not None else 5.0
        self.watchdog_s = watchdog_s
        self._sock: socket.socket | None = None
        self._ready = False
        self._last_ping = -1e9

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, message: str) -> bool:
        if self.address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.sendto(message.encode("utf-8"), self.address)
            return True
        except OSError as exc:
            _LOG.warning("sd_notify %r failed: %s", message.split("=", 1)[0], exc)
            return False

    def tick(self, frames_progress: bool, status: str = "") -> None:
        """Called often (each supervisor check): READY=1 once frames go out, then
        WATCHDOG=1 every ``ping_every_s`` while they do; nothing while they do not."""
        if not frames_progress or self.address is None:
            return
        now = time.monotonic()
        if not self._ready:
            self._ready = self.send("READY=1\nSTATUS=" + (status or "on air"))
            self._last_ping = now
            if self._ready:
                self.send("WATCHDOG=1")
            return
        if now - self._last_ping >= self.ping_every_s:
            self._last_ping = now
            self.send("WATCHDOG=1" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
