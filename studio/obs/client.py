"""A typed client for OBS Studio's WebSocket server (obs-websocket 5, OBS 28 and later).

It builds on obs-websocket-py's ``obsws`` (request and event classes, the challenge
hash, the event dispatcher) but opens the socket itself, so that every way a connection
fails becomes one clear ``StudioError``: OBS not running, a wrong password, an old 4.x
server; and so that no request waits forever on a frozen OBS. The password is held
privately and never logged: this client logs request names only, and obs-websocket-py's own
connect (which logs the Identify message, the challenge's answer, at DEBUG) is never used; a
filter on its logger blanks the challenge and the answer all the same.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websocket
from obswebsocket import events as obs_events
from obswebsocket import obsws
from obswebsocket import requests as obs_requests

from studio.core.errors import StudioError, UserInputError
from studio.outputs.base import redact

_LOG = logging.getLogger("studio.obs")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4455
DEFAULT_URL = f"ws://{DEFAULT_HOST}:{DEFAULT_PORT}"
PASSWORD_ENV = "LIVEHOST_OBS_PASSWORD"
REQUEST_TIMEOUT_S = 5.0

# obs-websocket 5 close codes (WebSocketCloseCode)
_CLOSE_AUTH_FAILED = 4009
_CLOSE_UNSUPPORTED_RPC = 4010
_EVENT_SUBSCRIPTIONS_ALL = 1023  # General … Vendors, without the high-volume ones


class ObsError(StudioError):
    """OBS cannot be reached or refused something; the message says what to do."""


class ObsConnectionError(ObsError):
    """No usable connection: OBS is not running, refused the password, or is too old."""


class ObsRequestError(ObsError):
    """OBS answered a request with a failure (``code`` is obs-websocket's status code)."""

    def __init__(self, request: str, code: int, comment: str) -> None:
        super().__init__(f"OBS refused {request}: {comment or f'status {code}'}")
        self.request = request
        self.code = code
        self.comment = comment


# obs-websocket request status codes the rest of the package tells apart
STATUS_RESOURCE_NOT_FOUND = 600
STATUS_RESOURCE_ALREADY_EXISTS = 601
STATUS_OUTPUT_RUNNING = 500
STATUS_OUTPUT_NOT_RUNNING = 501


class _HideAuthentication(logging.Filter):
    """obs-websocket-py logs whole messages at DEBUG: blank the challenge and the answer."""

    _PATTERN = re.compile(r"""(["'](?:authentication|challenge|salt)["']\s*:\s*)(["'])[^"']*\2""")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "authentication" in message or "challenge" in message:
            record.msg = self._PATTERN.sub(r"\1\2••••\2", message)
            record.args = None
        return True


_FILTER = _HideAuthentication()
for _name in ("obswebsocket", "obswebsocket.core"):
    if _FILTER not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_FILTER)


def _redact_address(text: str) -> str:
    """An address as it may be shown: a ``user:password@`` in it hidden."""
    return re.sub(r"^([A-Za-z]+://)?[^/@]*@", lambda m: (m.group(1) or "") + "••••@",
                  redact(text))


def parse_obs_url(text: str) -> tuple[str, int]:
    """``ws://HOST:PORT`` (or ``HOST:PORT``, or ``HOST``) to ``(host, port)``."""
    raw = text.strip()
    shown = _redact_address(raw)
    fix = f"give OBS's address as ws://HOST:PORT, e.g. {DEFAULT_URL}"
    if not raw:
        raise UserInputError(f"an empty OBS address; {fix}")
    rest = raw
    if "://" in raw:
        scheme, rest = raw.split("://", 1)
        if scheme.lower() != "ws":
            raise UserInputError(f"OBS address {shown!r}: {scheme}:// is not OBS's WebSocket "
                                 f"server (wss:// is not offered by OBS either); {fix}")
    rest = rest.rstrip("/")
    if "@" in rest or "/" in rest or "?" in rest:
        raise UserInputError(f"OBS address {shown!r} has more than a host and a port (the "
                             f"password goes in {PASSWORD_ENV} or Settings ▸ OBS); {fix}")
    if rest.startswith("["):  # [::1]:4455
        m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?", rest)
    else:
        m = re.fullmatch(r"([A-Za-z0-9.\-_]+)(?::(\d+))?", rest)
    if m is None:
        raise UserInputError(f"OBS address {shown!r} is not HOST:PORT; {fix}")
    host = m.group(1)
    port = int(m.group(2)) if m.group(2) else DEFAULT_PORT
    if not 1 <= port <= 65535:
        raise UserInputError(f"OBS address {shown!r}: port {port} is not 1–65535; {fix}")
    return host, port


def password_from_env(settings_value: str | None = None) -> str | None:
    """The OBS password: ``LIVEHOST_OBS_PASSWORD`` first, else the caller's settings value."""
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    return settings_value or None


@dataclass(frozen=True, slots=True)
class ObsVersion:
    obs_version: str
    websocket_version: str
    rpc_version: int
    platform: str  # "linux", "windows", "macos"
    input_kinds: tuple[str, ...]

    def describe(self) -> str:
        return f"OBS {self.obs_version} · obs-websocket {self.websocket_version}"


@dataclass(frozen=True, slots=True)
class SceneList:
    scenes: tuple[str, ...]  # top to bottom, as OBS's Scenes dock lists them
    current_program: str
    current_preview: str | None


@dataclass(frozen=True, slots=True)
class InputInfo:
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class SceneItem:
    item_id: int
    source_name: str
    input_kind: str | None
    index: int
    enabled: bool
    transform: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VideoSettings:
    base_width_px: int
    base_height_px: int
    output_width_px: int
    output_height_px: int
    fps_numerator: int
    fps_denominator: int


@dataclass(frozen=True, slots=True)
class OutputStatus:
    active: bool
    reconnecting: bool = False
    timecode: str = ""


class _Socket(obsws):  # type: ignore[misc]
    """obsws with a connect that can time out and name each failure, a receive loop that
    reports a lost connection, and answers that keep OBS's error comment."""

    def __init__(self, host: str, port: int, password: str,
                 on_lost: Callable[[str], None]) -> None:
        super().__init__(host, port, password, legacy=False, timeout=REQUEST_TIMEOUT_S)
        self._on_lost = on_lost
        self._closing = False
        self._send_lock = threading.Lock()
        self._receiver: threading.Thread | None = None
        self.alive = False
        self.lost_reason = ""

    def open(self, timeout_s: float) -> dict[str, Any]:
        """Connect and identify; returns the Hello data. Raises ``ObsConnectionError``."""
        where = f"{self.host}:{self.port}"
        not_running = (f"OBS is not running on {where}, or its WebSocket server is off: in "
                       "OBS, Tools ▸ WebSocket Server Settings ▸ Enable (and check the port)")
        ws = websocket.WebSocket(enable_multithread=True)
        try:
            ws.connect(f"ws://{self.host}:{self.port}", timeout=timeout_s,  # type: ignore[no-untyped-call]
                       suppress_origin=True)
        except websocket.WebSocketBadStatusException as exc:
            raise ObsConnectionError(
                f"something on {where} answered, but not OBS's WebSocket server (HTTP "
                f"{exc.status_code}); check the port in OBS's Tools ▸ WebSocket Server "
                "Settings") from None
        except (OSError, websocket.WebSocketException) as exc:
            raise ObsConnectionError(f"{not_running} ({_reason(exc)})") from None
        try:
            hello = self._hello(ws, where, timeout_s)
            self._identify(ws, hello, where)
        except BaseException:
            _close_quietly(ws)
            raise
        ws.settimeout(None)
        self.ws = ws
        self.server_version = hello.get("obsWebSocketVersion")
        self.alive = True
        self._receiver = threading.Thread(target=self._receive, args=(ws,),
                                          name="obs-websocket-recv", daemon=True)
        self._receiver.start()
        return hello

    def _hello(self, ws: websocket.WebSocket, where: str, timeout_s: float) -> dict[str, Any]:
        old = (f"the WebSocket server on {where} is not obs-websocket 5 (an old 4.x plugin "
               "never says Hello): use OBS 28 or later, which has obs-websocket 5 built in, "
               "and its port (4455 by default)")
        try:
            message = ws.recv()
        except websocket.WebSocketTimeoutException:
            raise ObsConnectionError(f"{old}; nothing came within {timeout_s:g} s") from None
        except (OSError, websocket.WebSocketException) as exc:
            raise ObsConnectionError(f"OBS on {where} closed the connection at once "
                                     f"({_reason(exc)}); restart OBS") from None
        try:
            data = json.loads(message)
        except (TypeError, ValueError):
            raise ObsConnectionError(old) from None
        if not isinstance(data, dict) or data.get("op") != 0 or not isinstance(
                data.get("d"), dict):
            raise ObsConnectionError(old)
        hello: dict[str, Any] = data["d"]
        if int(hello.get("rpcVersion", 0)) < 1:
            raise ObsConnectionError(old)
        return hello

    def _identify(self, ws: websocket.WebSocket, hello: dict[str, Any], where: str) -> None:
        auth_info = hello.get("authentication")
        identify: dict[str, Any] = {"rpcVersion": 1,
                                    "eventSubscriptions": _EVENT_SUBSCRIPTIONS_ALL}
        if auth_info:
            if not self.password:
                raise ObsConnectionError(
                    f"OBS on {where} asks for a password: set {PASSWORD_ENV} or Settings ▸ "
                    "OBS to the one in OBS's Tools ▸ WebSocket Server Settings")
            identify["authentication"] = self._build_auth_string(auth_info["salt"],
                                                                 auth_info["challenge"])
        ws.send(json.dumps({"op": 1, "d": identify}))  # not logged: it carries the answer
        wrong = ("OBS refused the password: set LIVEHOST_OBS_PASSWORD or Settings ▸ OBS to "
                 "the one in OBS's WebSocket Server Settings")
        try:
            opcode, frame = ws.recv_data_frame(True)
            while opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
                opcode, frame = ws.recv_data_frame(True)
        except (OSError, websocket.WebSocketException):
            raise ObsConnectionError(wrong if auth_info else
                                     f"OBS on {where} closed the connection while "
                                     "identifying; restart OBS") from None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else 0
            if code == _CLOSE_AUTH_FAILED:
                raise ObsConnectionError(wrong)
            if code == _CLOSE_UNSUPPORTED_RPC:
                raise ObsConnectionError(f"OBS on {where} speaks a newer protocol than this "
                                         "studio: update LiveHost Studio")
            reason = frame.data[2:].decode("utf-8", "replace")
            raise ObsConnectionError(f"OBS on {where} closed the connection ({code} "
                                     f"{reason}); restart OBS and try again")
        try:
            data = json.loads(frame.data)
        except (TypeError, ValueError):
            raise ObsConnectionError(f"OBS on {where} sent something unexpected while "
                                     "identifying; restart OBS") from None
        if data.get("op") != 2:
            raise ObsConnectionError(f"OBS on {where} did not confirm the connection; "
                                     "restart OBS")

    def _receive(self, ws: websocket.WebSocket) -> None:
        reason = "the connection closed"
        try:
            while True:
                opcode, frame = ws.recv_data_frame(True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else 0
                    text = frame.data[2:].decode("utf-8", "replace")
                    reason = f"OBS closed the connection ({code}{' ' + text if text else ''})"
                    break
                if opcode != websocket.ABNF.OPCODE_TEXT:
                    continue
                try:
                    message = json.loads(frame.data)
                except ValueError:
                    continue
                op = message.get("op")
                data = message.get("d") or {}
                if op == 7:
                    request_id = data.get("requestId")
                    if request_id in self.events:
                        self.answers[request_id] = data
                        self.events[request_id].set()
                elif op == 5:
                    self._dispatch(data)
        except (OSError, websocket.WebSocketException) as exc:
            reason = _reason(exc)
        finally:
            self.alive = False
            self.lost_reason = reason
            for waiting in list(self.events.values()):
                waiting.set()  # calls in flight fail now, not after their timeout
            if not self._closing:
                _close_quietly(ws)
                self._on_lost(reason)

    def _dispatch(self, data: dict[str, Any]) -> None:
        name = data.get("eventType")
        if not isinstance(name, str):
            return
        event = getattr(obs_events, name)()
        event.input(data.get("eventData") or {})
        try:
            self.eventmanager.trigger(event)
        except Exception:  # a subscriber's bug must not end the connection
            _LOG.exception("OBS event handler failed on %s", name)

    def request(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        if self.ws is None or not self.alive:
            raise ObsConnectionError(f"not connected to OBS ({self.lost_reason or 'closed'})")
        request = getattr(obs_requests, name)(**data)
        _LOG.debug("OBS request %s (%s)", name, ", ".join(sorted(data)))
        with self._send_lock:
            request_id = str(self.id)
            self.id += 1
            answered = threading.Event()
            self.events[request_id] = answered
        try:
            payload = {"op": 6, "d": {"requestId": request_id, "requestType": request.name,
                                      "requestData": request.data()}}
            try:
                self.ws.send(json.dumps(payload))
            except (OSError, websocket.WebSocketException) as exc:
                raise ObsConnectionError(f"the connection to OBS was lost ({_reason(exc)})"
                                         ) from None
            if not answered.wait(self.timeout):
                raise ObsError(f"OBS did not answer {name} within {self.timeout:g} s; it may "
                               "be frozen: check OBS")
        finally:
            self.events.pop(request_id, None)
        answer = self.answers.pop(request_id, None)
        if answer is None:
            raise ObsConnectionError(f"the connection to OBS was lost ({self.lost_reason})")
        status = answer.get("requestStatus") or {}
        if not status.get("result"):
            raise ObsRequestError(name, int(status.get("code", 0)), str(status.get("comment", "")))
        response: dict[str, Any] = answer.get("responseData") or {}
        return response

    def close(self) -> None:
        self._closing = True
        self.alive = False
        if self.ws is not None:
            _close_quietly(self.ws)
        if self._receiver is not None and self._receiver is not threading.current_thread():
            self._receiver.join(timeout=2.0)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError | websocket.WebSocketTimeoutException):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    text = str(exc).strip()
    return text or type(exc).__name__


def _close_quietly(ws: websocket.WebSocket) -> None:
    with contextlib.suppress(OSError, websocket.WebSocketException):
        ws.close(timeout=0.5)


class ObsClient:
    """One connection to OBS; the methods block until OBS answers (a few ms locally).

    Call it from one thread at a time (``ObsController`` owns one on its worker). Events
    from OBS arrive on obs-websocket's receive thread: see ``on_event``."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 password: str | None = None) -> None:
        self.host = host
        self.port = port
        self.__password = password or ""
        self._socket: _Socket | None = None
        self._lost_callbacks: list[Callable[[str], None]] = []
        self._event_callbacks: list[Callable[[str, dict[str, Any]], None]] = []
        self._version: ObsVersion | None = None

    def __repr__(self) -> str:
        return f"ObsClient(ws://{self.host}:{self.port})"

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    # --- connection -------------------------------------------------------------------------
    def connect(self, timeout_s: float = 3.0) -> ObsVersion:
        """Connect, identify and read OBS's version; raises ``ObsConnectionError``."""
        self.close()
        sock = _Socket(self.host, self.port, self.__password, self._lost)
        sock.register(self._event)
        sock.open(timeout_s)
        self._socket = sock
        _LOG.info("connected to OBS at %s", self.url)
        try:
            self._version = self._read_version()
        except BaseException:
            self.close()
            raise
        return self._version

    @property
    def connected(self) -> bool:
        sock = self._socket
        return sock is not None and sock.alive

    def close(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()

    def on_lost(self, callback: Callable[[str], None]) -> None:
        """``callback(reason)`` on the receive thread when the connection drops."""
        self._lost_callbacks.append(callback)

    def on_event(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        """``callback(event_type, data)`` on the receive thread for each OBS event."""
        self._event_callbacks.append(callback)

    def _lost(self, reason: str) -> None:
        _LOG.warning("connection to OBS at %s lost: %s", self.url, reason)
        for callback in list(self._lost_callbacks):
            try:
                callback(reason)
            except Exception:
                _LOG.exception("OBS lost-connection handler failed")

    def _event(self, event: Any) -> None:
        name = str(event.name)
        data = dict(event.datain)
        for callback in list(self._event_callbacks):
            callback(name, data)

    def call(self, request: str, **data: Any) -> dict[str, Any]:
        """Any obs-websocket 5 request by name; returns its response data."""
        if self._socket is None:
            raise ObsConnectionError(f"not connected to OBS at {self.host}:{self.port}")
        return self._socket.request(request, data)

    # --- typed requests ---------------------------------------------------------------------
    def _read_version(self) -> ObsVersion:
        v = self.call("GetVersion")
        kinds = self.call("GetInputKindList").get("inputKinds", ())
        return ObsVersion(str(v.get("obsVersion", "?")), str(v.get("obsWebSocketVersion", "?")),
                          int(v.get("rpcVersion", 1)), str(v.get("platform", "")),
                          tuple(str(k) for k in kinds))

    def version(self) -> ObsVersion:
        if self._version is None:
            self._version = self._read_version()
        return self._version

    def scenes(self) -> SceneList:
        data = self.call("GetSceneList")
        # OBS lists the bottom scene first; its Scenes dock shows them the other way round.
        names = tuple(str(s["sceneName"]) for s in reversed(data.get("scenes", [])))
        return SceneList(names, str(data.get("currentProgramSceneName") or ""),
                         data.get("currentPreviewSceneName"))

    def inputs(self) -> list[InputInfo]:
        return [InputInfo(str(i["inputName"]), str(i.get("inputKind") or i.get(
            "unversionedInputKind") or "")) for i in self.call("GetInputList")["inputs"]]

    def create_scene(self, name: str) -> None:
        self.call("CreateScene", sceneName=name)

    def current_program_scene(self) -> str:
        data = self.call("GetCurrentProgramScene")
        return str(data.get("currentProgramSceneName") or data.get("sceneName") or "")

    def set_current_program_scene(self, name: str) -> None:
        self.call("SetCurrentProgramScene", sceneName=name)

    def create_input(self, scene: str, name: str, kind: str, settings: dict[str, Any],
                     enabled: bool = True) -> int:
        data = self.call("CreateInput", sceneName=scene, inputName=name, inputKind=kind,
                         inputSettings=settings, sceneItemEnabled=enabled)
        return int(data["sceneItemId"])

    def remove_input(self, name: str) -> None:
        self.call("RemoveInput", inputName=name)

    def input_settings(self, name: str) -> tuple[str, dict[str, Any]]:
        """The input's kind and its settings (only those that differ from the defaults)."""
        data = self.call("GetInputSettings", inputName=name)
        return str(data.get("inputKind", "")), dict(data.get("inputSettings") or {})

    def set_input_settings(self, name: str, settings: dict[str, Any],
                           overlay: bool = True) -> None:
        self.call("SetInputSettings", inputName=name, inputSettings=settings, overlay=overlay)

    def scene_items(self, scene: str) -> list[SceneItem]:
        items = self.call("GetSceneItemList", sceneName=scene).get("sceneItems", [])
        return [SceneItem(int(i["sceneItemId"]), str(i["sourceName"]), i.get("inputKind"),
                          int(i.get("sceneItemIndex", 0)), bool(i.get("sceneItemEnabled", True)),
                          dict(i.get("sceneItemTransform") or {})) for i in items]

    def create_scene_item(self, scene: str, source: str, enabled: bool = True) -> int:
        data = self.call("CreateSceneItem", sceneName=scene, sourceName=source,
                         sceneItemEnabled=enabled)
        return int(data["sceneItemId"])

    def set_scene_item_transform(self, scene: str, item_id: int,
                                 transform: dict[str, Any]) -> None:
        self.call("SetSceneItemTransform", sceneName=scene, sceneItemId=item_id,
                  sceneItemTransform=transform)

    def set_scene_item_index(self, scene: str, item_id: int, index: int) -> None:
        self.call("SetSceneItemIndex", sceneName=scene, sceneItemId=item_id,
                  sceneItemIndex=index)

    def video_settings(self) -> VideoSettings:
        v = self.call("GetVideoSettings")
        return VideoSettings(int(v["baseWidth"]), int(v["baseHeight"]), int(v["outputWidth"]),
                             int(v["outputHeight"]), int(v["fpsNumerator"]),
                             int(v["fpsDenominator"]))

    def set_canvas(self, width_px: int, height_px: int) -> None:
        """Base and output resolution (OBS refuses while it streams or records)."""
        self.call("SetVideoSettings", baseWidth=width_px, baseHeight=height_px,
                  outputWidth=width_px, outputHeight=height_px)

    def stream_status(self) -> OutputStatus:
        s = self.call("GetStreamStatus")
        return OutputStatus(bool(s.get("outputActive")), bool(s.get("outputReconnecting")),
                            str(s.get("outputTimecode", "")))

    def record_status(self) -> OutputStatus:
        s = self.call("GetRecordStatus")
        return OutputStatus(bool(s.get("outputActive")), False, str(s.get("outputTimecode", "")))

    def start_stream(self) -> None:
        self.call("StartStream")

    def stop_stream(self) -> None:
        self.call("StopStream")

    def start_record(self) -> None:
        self.call("StartRecord")

    def stop_record(self) -> str:
        return str(self.call("StopRecord").get("outputPath", ""))

    def screenshot_png(self, source: str, width_px: int | None = None,
                       height_px: int | None = None) -> bytes:
        """A PNG of a scene or source as OBS renders it now."""
        data: dict[str, Any] = {"sourceName": source, "imageFormat": "png"}
        if width_px:
            data["imageWidth"] = width_px
        if height_px:
            data["imageHeight"] = height_px
        image = str(self.call("GetSourceScreenshot", **data)["imageData"])
        return base64.b64decode(image.split(",", 1)[1] if image.startswith("data:") else image)
