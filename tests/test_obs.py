"""OBS control against a real OBS Studio (29, obs-websocket 5) running under Xvfb.

What a user would see: ``studio obs check`` prints OBS's version and scenes or a message
that says what to fix; the setup leaves the same scenes however often it runs; OBS's
program shows our frames, its text sources carry the product on air, and a takeover puts
the human scene on OBS's program. OBS going away never stops the show.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from studio.core.backoff import Backoff
from studio.engine import commands as cmd
from studio.engine.events import Event, FrameDelivered, ModeChanged, SentenceStarted
from studio.engine.live import LiveEngine
from studio.obs.cli import add_obs_commands, run_obs_command
from studio.obs.client import (
    DEFAULT_PORT,
    PASSWORD_ENV,
    ObsClient,
    ObsConnectionError,
    parse_obs_url,
)
from studio.obs.controller import ObsController
from studio.obs.setup import (
    AI_LABEL_INPUT,
    AI_LABEL_TEXT,
    AI_SCENE,
    HUMAN_SCENE,
    PRICE_INPUT,
    PRODUCT_INPUT,
    PROGRAM_INPUT,
    ObsProgramSource,
    setup_obs,
)
from studio.obs.state import ObsState
from studio.outputs.base import OutputSpec, OutputState
from studio.program.switcher import Mode
from studio.show.loader import load_show
from tests.obs_server import ObsServer, free_port

W, H = 640, 360
SHOT_W, SHOT_H = 320, 180

SHOW = """
[show]
title = "OBS Test"
intro = "Hello there."

[[products]]
id = "mug"
name = "Coffee Mug"
price = 39.9
currency = "CNY"
script = "This mug keeps coffee hot. It holds a lot. It is blue. It is on sale today."

[[products]]
id = "pot"
name = "Tea Pot 茶壶"
price = 129
currency = "CNY"
script = "This pot makes tea. It is made of clay. It pours well."
"""


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObsServer]:
    with ObsServer(tmp_path_factory.mktemp("obs")) as server:
        yield server


@pytest.fixture
def client(obs: ObsServer) -> Iterator[ObsClient]:
    if not obs.running:
        obs.start()
    c = ObsClient(obs.host, obs.port, obs.password)
    c.connect(timeout_s=5)
    yield c
    c.close()


def obs_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="studio")
    add_obs_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(["obs", *argv])


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str,
             every_s: float = 0.05, seen: Callable[[], object] | None = None) -> None:
    """Wait for ``condition``; on a timeout, say what was ``seen`` meanwhile (if given)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}"
                                 + (f"; seen: {seen()}" if seen is not None else ""))
        time.sleep(every_s)


# --- the address and the check command -------------------------------------------------------
def test_obs_urls_parse_or_say_what_is_expected() -> None:
    assert parse_obs_url("ws://127.0.0.1:4455") == ("127.0.0.1", 4455)
    assert parse_obs_url("obs-pc.local") == ("obs-pc.local", DEFAULT_PORT)
    assert parse_obs_url(" ws://[::1]:4460/ ") == ("::1", 4460)
    for bad, says in (("http://host:4455", "http:// is not OBS"), ("ws://host:99999", "port"),
                      ("", "empty"), ("ws://host:4455/path", "more than a host")):
        with pytest.raises(Exception, match=says) as caught:
            parse_obs_url(bad)
        assert "ws://HOST:PORT" in str(caught.value)
    with pytest.raises(Exception, match="password goes in") as caught:
        parse_obs_url("ws://user:hunter2@host:4455")
    assert "hunter2" not in str(caught.value)


def test_check_prints_versions_and_scenes(obs: ObsServer, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(PASSWORD_ENV, obs.password)
    assert run_obs_command(obs_args("check", "--obs", obs.url)) == 0
    out = capsys.readouterr().out
    assert "OBS 29." in out
    assert "obs-websocket 5." in out
    assert "Scenes (" in out
    assert "Scene" in out.split("Scenes (", 1)[1]  # OBS's own scene from the fresh profile


def test_wrong_password_is_named_and_never_shown(obs: ObsServer, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-pw-5f3a9c"
    monkeypatch.setenv(PASSWORD_ENV, wrong)
    assert run_obs_command(obs_args("check", "--obs", obs.url)) == 1
    captured = capsys.readouterr()
    assert "OBS refused the password" in captured.err
    assert "LIVEHOST_OBS_PASSWORD" in captured.err
    # The right password, logged at DEBUG by us and by obs-websocket-py, is never in a log.
    c = ObsClient(obs.host, obs.port, obs.password)
    c.connect()
    c.scenes()
    assert obs.password not in repr(c)
    c.close()
    # obs-websocket-py logs its Identify message (the challenge's answer) at DEBUG.
    logging.getLogger("obswebsocket.core").debug(
        "Sending Identify message: %s", json.dumps({"op": 1, "d": {
            "rpcVersion": 1, "authentication": "7/oVlhFJDZ6lU6jv7Aht97zkMsfDQIEk30zwmoj9HB4="}}))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "OBS request GetSceneList" in logged  # DEBUG records were captured
    assert "7/oVlhFJ" not in logged
    for secret in (wrong, obs.password):
        assert secret not in captured.err + captured.out + logged
    assert '"authentication": "' not in logged.replace('"authentication": "••••"', "")


def test_closed_port_says_obs_is_not_running(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert run_obs_command(obs_args("check", "--obs", f"ws://127.0.0.1:{port}")) == 1
    err = capsys.readouterr().err
    assert f"OBS is not running on 127.0.0.1:{port}" in err
    assert "Tools ▸ WebSocket Server Settings ▸ Enable" in err


def test_an_old_websocket_server_is_named() -> None:
    """obs-websocket 4.x accepts the WebSocket but never sends a Hello."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key"))
        accept = base64.b64encode(hashlib.sha1(
            key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        held.append(conn)  # then silence, like a 4.x server waiting for a request

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(ObsConnectionError, match="not obs-websocket 5"):
            ObsClient("127.0.0.1", port, "pw").connect(timeout_s=0.5)
    finally:
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


# --- setup -------------------------------------------------------------------------------------
def obs_layout(c: ObsClient) -> dict[str, list[tuple[str, str | None]]]:
    """Every scene's items (source, kind), and every input with its kind."""
    layout = {scene: [(i.source_name, i.input_kind) for i in c.scene_items(scene)]
              for scene in c.scenes().scenes}
    layout["inputs"] = sorted((i.name, i.kind) for i in c.inputs())
    layout["scenes"] = [(s, None) for s in c.scenes().scenes]
    return layout


def test_setup_is_idempotent(client: ObsClient, obs: ObsServer,
                             monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(PASSWORD_ENV, obs.password)
    stream = f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
    assert run_obs_command(obs_args("setup", "--obs", obs.url, "--stream", stream)) == 0
    first_out = capsys.readouterr().out
    assert f"created  scene {AI_SCENE}" in first_out
    first = obs_layout(client)
    assert run_obs_command(obs_args("setup", "--obs", obs.url, "--stream", stream)) == 0
    second_out = capsys.readouterr().out
    assert "created" not in second_out and "updated" not in second_out
    assert "nothing needed changing" in second_out
    assert obs_layout(client) == first
    report = setup_obs(client, program=ObsProgramSource(stream_url=stream))
    assert not report.changed
    assert obs_layout(client) == first

    assert [s for s, _ in first["scenes"]].count(AI_SCENE) == 1
    assert first[AI_SCENE] == [(PROGRAM_INPUT, "ffmpeg_source"),
                               (PRODUCT_INPUT, "text_ft2_source_v2"),
                               (PRICE_INPUT, "text_ft2_source_v2"),
                               (AI_LABEL_INPUT, "text_ft2_source_v2")]
    # A human on air carries no AI label.
    assert first[HUMAN_SCENE] == first[AI_SCENE][:3]
    kind, settings = client.input_settings(PROGRAM_INPUT)
    assert kind == "ffmpeg_source"
    assert settings["input"] == stream
    assert settings["input_format"] == "mpegts"
    assert settings["is_local_file"] is False
    assert settings["buffering_mb"] == 0
    assert client.input_settings(AI_LABEL_INPUT)[1]["text"] == AI_LABEL_TEXT
    # The picture is fitted to OBS's canvas.
    picture = next(i for i in client.scene_items(AI_SCENE) if i.source_name == PROGRAM_INPUT)
    video = client.video_settings()
    assert picture.index == 0
    assert picture.transform["boundsType"] == "OBS_BOUNDS_SCALE_INNER"
    assert (picture.transform["boundsWidth"], picture.transform["boundsHeight"]) == (
        video.base_width_px, video.base_height_px)

    # The virtual camera instead: the same scenes, the picture now a video capture source.
    report = setup_obs(client, program=ObsProgramSource(virtualcam_device="/dev/video10"))
    assert report.changed
    cam = obs_layout(client)
    assert cam[AI_SCENE][0] == (PROGRAM_INPUT, "v4l2_input")
    assert cam[AI_SCENE][1:] == first[AI_SCENE][1:]
    assert client.input_settings(PROGRAM_INPUT)[1]["device_id"] == "/dev/video10"
    assert not setup_obs(client, program=ObsProgramSource(
        virtualcam_device="/dev/video10")).changed
    setup_obs(client, program=ObsProgramSource(stream_url=stream))
    assert obs_layout(client) == first  # and back: nothing left over from the camera

    # The user's styling stays; the AI label's words come back.
    font = {"face": "DejaVu Sans", "size": 30, "style": "Regular", "flags": 0}
    client.set_input_settings(PRODUCT_INPUT, {"font": font})
    client.set_input_settings(AI_LABEL_INPUT, {"text": "edited"})
    report = setup_obs(client, program=ObsProgramSource(stream_url=stream))
    assert report.updated == [f"input {AI_LABEL_INPUT}: text"]
    assert client.input_settings(AI_LABEL_INPUT)[1]["text"] == AI_LABEL_TEXT
    assert client.input_settings(PRODUCT_INPUT)[1]["font"]["size"] == 30

    # A canvas asked for: OBS's canvas follows, and our picture is fitted to it again.
    setup_obs(client, program=ObsProgramSource(stream_url=stream), canvas_px=(1280, 720))
    try:
        assert (client.video_settings().base_width_px,
                client.video_settings().base_height_px) == (1280, 720)
        picture = next(i for i in client.scene_items(HUMAN_SCENE)
                       if i.source_name == PROGRAM_INPUT)
        assert (picture.transform["boundsWidth"], picture.transform["boundsHeight"]) == (
            1280, 720)
        assert not setup_obs(client, program=ObsProgramSource(stream_url=stream),
                             canvas_px=(1280, 720)).changed
    finally:
        setup_obs(client, program=ObsProgramSource(stream_url=stream), canvas_px=(W, H))
    assert obs_layout(client) == first


def test_setup_without_our_picture_says_what_to_turn_on(obs: ObsServer) -> None:
    if not obs.running:
        obs.start()
    controller = ObsController(obs.host, obs.port, obs.password, program=None)
    states = StateLog()
    controller.subscribe(states)
    try:
        wait_for(lambda: states.last.connected, 10, "the controller to connect")
        controller.setup()
        wait_for(lambda: bool(states.last.error), 5, "the controller to refuse")
        assert "virtual camera" in states.last.error and "udp://" in states.last.error
        assert states.last.connected
    finally:
        controller.close()
    assert not states.last.connected


# --- a show on air into OBS -----------------------------------------------------------------
def shot(c: ObsClient, source: str) -> npt.NDArray[np.uint8]:
    png = c.screenshot_png(source, SHOT_W, SHOT_H)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def small(rgba: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    image = Image.fromarray(np.ascontiguousarray(rgba[:, :, :3]))
    return np.asarray(image.resize((SHOT_W, SHOT_H), Image.Resampling.BILINEAR))


def agreement(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    """Share of pixels whose colours agree (OBS adds its text sources and YUV rounding)."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=2)
    return float((diff < 16).mean())


class ShowWatcher:
    """Keeps the engine's recent frames (small) with the time each went out."""

    def __init__(self) -> None:
        self.frames: deque[tuple[float, int, bool, npt.NDArray[np.uint8]]] = deque(maxlen=150)
        self.delivered = 0
        self.sentences: list[SentenceStarted] = []
        self.takeovers: list[tuple[float, ModeChanged]] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if isinstance(event, FrameDelivered):
            self.delivered += 1
            if self.delivered % 2 == 0 or (event.mode == "human"):
                item = (time.monotonic(), event.index, (event.mode == "human"), small(event.rgba))
                with self.lock:
                    self.frames.append(item)
        elif isinstance(event, SentenceStarted):
            self.sentences.append(event)
        elif isinstance(event, ModeChanged):
            self.takeovers.append((time.monotonic(), event))

    def best_match(self, picture: npt.NDArray[np.uint8]) -> tuple[float, float, bool]:
        """(agreement, when that frame went out, was it the human picture)."""
        with self.lock:
            frames = list(self.frames)
        best = max(frames, key=lambda f: agreement(picture, f[3]))
        return agreement(picture, best[3]), best[0], best[2]


class StateLog:
    def __init__(self) -> None:
        self.states: list[ObsState] = []

    def __call__(self, state: ObsState) -> None:
        self.states.append(state)

    @property
    def last(self) -> ObsState:
        return self.states[-1] if self.states else ObsState(connected=False)


@pytest.fixture
def on_air(obs: ObsServer, piper_voice: object, write_show: Callable[[str], Path]
           ) -> Iterator[tuple[LiveEngine, ObsController, ShowWatcher, StateLog]]:
    if not obs.running:
        obs.start()
    target = f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
    controller = ObsController(obs.host, obs.port, obs.password,
                               program=ObsProgramSource(stream_url=target),
                               backoff=Backoff(0.25, 1.0))
    states = StateLog()
    controller.subscribe(states)
    controller.setup()
    engine = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H,
                        outputs=[OutputSpec("stream", target)], tts=piper_voice,  # type: ignore[arg-type]
                        realtime=True, crossfade_s=0.0)
    watcher = ShowWatcher()
    engine.subscribe(watcher)
    controller.attach(engine)
    try:
        yield engine, controller, watcher, states
    finally:
        engine.stop()
        controller.close()


def test_obs_shows_our_show(on_air: tuple[LiveEngine, ObsController, ShowWatcher, StateLog],
                            client: ObsClient) -> None:
    engine, controller, watcher, states = on_air
    wait_for(lambda: states.last.connected and states.last.scene == AI_SCENE, 10,
             "the controller to set OBS up and put the AI scene on its program")
    assert states.last.version.startswith("OBS 29")
    assert client.current_program_scene() == AI_SCENE
    started = time.monotonic()
    engine.start()

    # OBS's program shows our frames (not black, not some other picture).
    first_seen: list[float] = []

    def obs_shows_our_frames() -> bool:
        if not watcher.frames:
            return False
        picture = shot(client, AI_SCENE)
        score, _, _ = watcher.best_match(picture)
        if score > 0.85:
            first_seen.append(time.monotonic())
            black = agreement(picture, np.zeros_like(picture))
            assert black < 0.5, f"OBS's program is mostly black ({black:.2f})"
            return True
        return False

    wait_for(obs_shows_our_frames, 30, "OBS's program to show our frames", every_s=0.1)
    print(f"\nOBS showed our picture {first_seen[0] - started:.2f} s after engine.start()")

    # The text sources carry the product on air, and follow it.
    wait_for(lambda: any(s.product_id == "mug" for s in watcher.sentences), 30,
             "the mug to go on air")

    def texts() -> tuple[str, str]:
        return (client.input_settings(PRODUCT_INPUT)[1].get("text", ""),
                client.input_settings(PRICE_INPUT)[1].get("text", ""))

    wait_for(lambda: texts() == ("Coffee Mug", "¥39.90"), 5, "OBS's texts to show the mug")
    engine.send(cmd.GoToProduct("pot", now=True))
    wait_for(lambda: texts() == ("Tea Pot 茶壶", "¥129.00"), 15, "OBS's texts to show the pot")
    assert watcher.sentences[-1].product_id == "pot"

    # Takeover: OBS's program switches to the human scene, and back.
    engine.send(cmd.SetMode(Mode.HUMAN))
    wait_for(lambda: client.current_program_scene() == HUMAN_SCENE, 5,
             "OBS's program to switch to the human scene")
    wait_for(lambda: controller.state.scene == HUMAN_SCENE, 2, "the controller to see it")
    switched_at = watcher.takeovers[-1][0]
    wait_for(lambda: any(f[2] for f in watcher.frames), 2, "the engine's standby picture")
    standby = next(f[3] for f in watcher.frames if f[2])
    assert agreement(standby, watcher.frames[0][3]) < 0.5  # it looks unlike the AI host
    seen_at: list[float] = []

    def obs_shows_standby() -> bool:
        if agreement(shot(client, HUMAN_SCENE), standby) > 0.9:
            seen_at.append(time.monotonic())
            return True
        return False

    wait_for(obs_shows_standby, 15, "OBS to show our standby picture", every_s=0.0)
    print(f"takeover frame to OBS's program: ≤ {seen_at[0] - switched_at:.2f} s")
    engine.send(cmd.SetMode(Mode.AI))
    wait_for(lambda: client.current_program_scene() == AI_SCENE, 5,
             "OBS's program to switch back to the AI scene")
    assert [s.scene for s in states.states if s.scene].count(HUMAN_SCENE) >= 1
    assert not [s for s in states.states if s.error], [s.error for s in states.states]


def test_obs_quitting_never_stops_the_show(
        on_air: tuple[LiveEngine, ObsController, ShowWatcher, StateLog],
        obs: ObsServer) -> None:
    engine, controller, watcher, states = on_air
    wait_for(lambda: states.last.connected and states.last.scene == AI_SCENE, 10,
             "the controller to connect", seen=lambda: states.states)
    engine.start()
    wait_for(lambda: any(s.product_id == "mug" for s in watcher.sentences), 30,
             "the mug to go on air")
    obs.quit()
    wait_for(lambda: not controller.state.connected, 5, "the controller to notice")
    lost = next(s for s in states.states if not s.connected and s.error)
    assert "lost the connection to OBS" in lost.error
    before = watcher.delivered
    wait_for(lambda: watcher.delivered >= before + 30, 10, "the show to go on without OBS")
    assert all(h.state == OutputState.UP for h in engine.outputs), engine.outputs
    engine.send(cmd.SetMode(Mode.HUMAN))  # wanted while OBS is away: applied when it is back
    obs.start()
    wait_for(lambda: controller.state.connected and controller.state.scene == HUMAN_SCENE, 15,
             "the controller to reconnect and put the human scene back on OBS's program")
    c = ObsClient(obs.host, obs.port, obs.password)
    c.connect()
    try:
        assert c.current_program_scene() == HUMAN_SCENE
        on_air_now = {"mug": ("Coffee Mug", "¥39.90"), "pot": ("Tea Pot 茶壶", "¥129.00")}
        wait_for(lambda: (c.input_settings(PRODUCT_INPUT)[1].get("text"),
                          c.input_settings(PRICE_INPUT)[1].get("text"))
                 == on_air_now[watcher.sentences[-1].product_id or "mug"], 5,
                 "the product on air back in OBS's texts")
    finally:
        c.close()
    assert controller.state.error == ""


def test_studio_run_sets_obs_up_and_obs_follows_its_cues(
        client: ObsClient, obs: ObsServer, monkeypatch: pytest.MonkeyPatch,
        write_show: Callable[[str], Path], tmp_path: Path) -> None:
    """`studio run … --out udp://… --obs ws://…`: OBS gets our scenes, and the cues' takeover
    and the product on air reach OBS's program."""
    from studio.run import run_live
    from tests.test_live_engine import SHOW

    monkeypatch.setenv(PASSWORD_ENV, obs.password)
    cues = tmp_path / "cues.toml"
    cues.write_text('[[cue]]\nat_s = 3.0\naction = "human"\n\n'
                    '[[cue]]\nat_s = 5.0\naction = "ai"\n', encoding="utf-8")
    scenes: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            scene = client.current_program_scene()
            if not scenes or scenes[-1] != scene:
                scenes.append(scene)
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = io.StringIO(), io.StringIO()
    try:
        code = run_live(write_show(SHOW), [f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"],
                        obs_url=obs.url, cues_path=cues, size=(640, 360), for_s=7.0,
                        status_every_s=1.0, out=out, err=err)
    finally:
        done.set()
        watcher.join(5)
    assert code == 0, err.getvalue()
    assert "OBS LiveHost · AI" in out.getvalue()
    # AI, then the human scene for the takeover cue, then AI again.
    assert [s for s in scenes if s.startswith("LiveHost")][-3:] == [AI_SCENE, HUMAN_SCENE,
                                                                   AI_SCENE]
    _, product = client.input_settings(PRODUCT_INPUT)
    assert product.get("text") in {"Alpha Mug", "Bravo Pan", "Charlie Cup"}
    assert obs.password not in out.getvalue() + err.getvalue()
