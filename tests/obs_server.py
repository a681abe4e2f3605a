"""A real OBS Studio for tests: under its own Xvfb, in a temporary HOME, websocket on.

OBS is seeded so it starts straight into a usable state: no first-run wizard (``FirstRun``
and ``LastVersion`` set), a profile with a 640x360 canvas, an empty scene collection, and
the WebSocket server enabled with a password on a free port.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

OBS_VERSION_CODE = (29 << 24) | (0 << 16) | 2  # what OBS 29.0.2 writes as LastVersion
CANVAS_PX = (640, 360)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _seed(home: Path, port: int, password: str) -> None:
    config = home / ".config" / "obs-studio"
    (config / "basic" / "profiles" / "LiveHostTest").mkdir(parents=True, exist_ok=True)
    (config / "basic" / "scenes").mkdir(parents=True, exist_ok=True)
    w, h = CANVAS_PX
    (config / "global.ini").write_text(f"""[General]
FirstRun=true
LastVersion={OBS_VERSION_CODE}
Pre19Defaults=false
Pre21Defaults=false
Pre23Defaults=false
Pre24.1Defaults=false

[Basic]
Profile=LiveHostTest
ProfileDir=LiveHostTest
SceneCollection=LiveHostTest
SceneCollectionFile=LiveHostTest

[OBSWebSocket]
ServerEnabled=true
ServerPort={port}
AuthRequired=true
ServerPassword={password}
AlertsEnabled=false
FirstLoad=false
""", encoding="utf-8")
    (config / "basic" / "profiles" / "LiveHostTest" / "basic.ini").write_text(f"""[General]
Name=LiveHostTest

[Video]
BaseCX={w}
BaseCY={h}
OutputCX={w}
OutputCY={h}
FPSType=0
FPSCommon=30

[Output]
Mode=Simple

[SimpleOutput]
FilePath={home}
RecFormat=mkv
""", encoding="utf-8")
    collection = config / "basic" / "scenes" / "LiveHostTest.json"
    if not collection.exists():
        collection.write_text(json.dumps({
            "name": "LiveHostTest", "current_scene": "Scene", "current_program_scene": "Scene",
            "scene_order": [{"name": "Scene"}],
            "sources": [{"id": "scene", "versioned_id": "scene", "name": "Scene",
                         "uuid": "7d1c2d8e-5a4e-4b7e-9a44-3c0e6a9b1f01",
                         "settings": {"items": [], "id_counter": 0}}],
        }), encoding="utf-8")


class ObsServer:
    """OBS on ``ws://127.0.0.1:port`` with ``password``; ``quit``/``start`` for outages."""

    def __init__(self, root: Path, password: str = "livehost-test-pw") -> None:
        self.root = root
        self.home = root / "home"
        self.runtime = root / "run"
        self.password = password
        self.port = free_port()
        self.host = "127.0.0.1"
        self._xvfb: subprocess.Popen[bytes] | None = None
        self._obs: subprocess.Popen[bytes] | None = None
        self.display = ""
        self.log_path = root / "obs.log"

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def __enter__(self) -> ObsServer:
        try:
            self._start_xvfb()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _start_xvfb(self) -> None:
        read_fd, write_fd = os.pipe()
        self._xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x720x24",
             "-nolisten", "tcp", "-noreset"], pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start (is the xvfb package installed?)")
        self.display = f":{number}"

    def start(self, timeout_s: float = 40.0) -> None:
        """Start OBS (again) and wait until its WebSocket port answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        _seed(self.home, self.port, self.password)
        env = {k: v for k, v in os.environ.items()
               if k not in {"EGL_PLATFORM", "QT_QPA_PLATFORM", "QT_QPA_PLATFORM_PLUGIN_PATH",
                            "QT_QPA_FONTDIR", "WAYLAND_DISPLAY",
                            "XDG_CONFIG_HOME", "LIVEHOST_OBS_PASSWORD"}}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"),
                   XDG_RUNTIME_DIR=str(self.runtime), DISPLAY=self.display,
                   LIBGL_ALWAYS_SOFTWARE="1", QT_QPA_PLATFORM="xcb")
        log = self.log_path.open("ab")
        self._obs = subprocess.Popen(
            ["obs", "--minimize-to-tray", "--multi", "--disable-missing-files-check"],
            env=env, cwd=self.home, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout_s
        while not port_open(self.port):
            if self._obs.poll() is not None:
                raise RuntimeError(f"OBS exited with {self._obs.returncode}; see "
                                   f"{self.log_path}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"OBS did not open port {self.port} within {timeout_s} s:"
                                   f"\n{self.log_tail()}")
            time.sleep(0.1)

    def quit(self) -> None:
        """OBS goes away the way it does when it crashes or is killed: at once."""
        obs, self._obs = self._obs, None
        if obs is None:
            return
        obs.send_signal(signal.SIGTERM)
        try:
            obs.wait(timeout=10)
        except subprocess.TimeoutExpired:
            obs.kill()
            obs.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self._obs is not None and self._obs.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        self.quit()
        xvfb, self._xvfb = self._xvfb, None
        if xvfb is not None:
            xvfb.terminate()
            try:
                xvfb.wait(timeout=5)
            except subprocess.TimeoutExpired:
                xvfb.kill()
                xvfb.wait(timeout=5)


def ensure_stream_output() -> None:
    """The real ``stream`` output (udp:// MPEG-TS); it registers itself when imported."""
    import studio.outputs.stream  # noqa: F401

