"""OBS follows the show: scenes on takeover (the human on camera gets the human scene; the
AI host and the puppet, both the avatar, the AI scene), the product on air in its texts.

One worker thread owns the connection. Callers (the window, the engine's event callbacks)
only record what they want and wake the worker, so nothing they do ever waits for OBS.
What is wanted (the scene, the product texts, the LiveHost scenes themselves) is kept as
state, not as a list of calls: after OBS quits and comes back, the worker reconnects with
backoff and applies it all again. OBS's own events arrive on obs-websocket's receive
thread; they are only queued, so subscribers always hear from the worker thread.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from studio.core.backoff import Backoff
from studio.core.errors import StudioError
from studio.engine.events import Event, ModeChanged, ScriptShown, SentenceStarted
from studio.obs.client import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    STATUS_RESOURCE_NOT_FOUND,
    ObsClient,
    ObsConnectionError,
    ObsRequestError,
)
from studio.obs.setup import (
    AI_SCENE,
    HUMAN_SCENE,
    ObsProgramSource,
    SetupReport,
    set_product_texts,
    setup_obs,
)
from studio.obs.state import ObsState
from studio.show.model import format_price

if TYPE_CHECKING:
    from studio.engine.live import LiveEngine

_LOG = logging.getLogger("studio.obs")

_ACTIONS = {
    "start_streaming": ("StartStream", "start streaming"),
    "stop_streaming": ("StopStream", "stop streaming"),
    "start_recording": ("StartRecord", "start recording"),
    "stop_recording": ("StopRecord", "stop recording"),
}


class ObsController:
    """Drives one OBS from its own thread; every method returns at once."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 password: str | None = None, *, program: ObsProgramSource | None = None,
                 canvas_px: tuple[int, int] | None = None, connect_timeout_s: float = 3.0,
                 backoff: Backoff | None = None) -> None:
        self._client = ObsClient(host, port, password)
        self._client.on_lost(lambda reason: self._work.put(("lost", reason)))
        self._client.on_event(lambda name, data: self._work.put(("event", name, data)))
        self._program = program
        self._canvas_px = canvas_px
        self._connect_timeout_s = connect_timeout_s
        self._backoff = backoff or Backoff(0.5, 5.0)
        self._work: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[ObsState], None]] = []
        self._state = ObsState(connected=False)
        # What is wanted; the worker brings OBS there (again after every reconnect).
        self._want_setup = False
        self._want_human: bool | None = None
        self._want_product: tuple[str, str] | None = None
        self._setup_done = False
        self._applied_human: bool | None = None
        self._applied_product: tuple[str, str] | None = None
        self.last_setup: SetupReport | None = None
        self._engine: LiveEngine | None = None
        self._engine_product: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="obs-controller", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"ObsController({self._client.url})"

    # --- the caller's side: record, wake, return --------------------------------------------
    @property
    def state(self) -> ObsState:
        with self._lock:
            return self._state

    def subscribe(self, callback: Callable[[ObsState], None]) -> None:
        """``callback(ObsState)`` on the controller's thread whenever the state changes."""
        self._subscribers.append(callback)

    def setup(self) -> None:
        """Create what is missing of the LiveHost scenes (now, and after each reconnect)."""
        if self._program is None:
            self._work.put(("refuse", "OBS cannot be set up without our picture: turn on the "
                            "virtual camera or add a udp:// stream output, then set up OBS"))
            return
        with self._lock:
            self._want_setup = True
            self._setup_done = False
            if self._want_human is None:
                self._want_human = False
        self._work.put(("sync",))

    def set_takeover(self, human: bool) -> None:
        """Put ``LiveHost · Human`` (or ``· AI``) on OBS's program."""
        with self._lock:
            self._want_human = human
        self._work.put(("sync",))

    def set_product(self, name: str, price_text: str) -> None:
        with self._lock:
            self._want_product = (name, price_text)
        self._work.put(("sync",))

    def start_streaming(self) -> None:
        self._work.put(("action", "start_streaming"))

    def stop_streaming(self) -> None:
        self._work.put(("action", "stop_streaming"))

    def start_recording(self) -> None:
        self._work.put(("action", "start_recording"))

    def stop_recording(self) -> None:
        self._work.put(("action", "stop_recording"))

    def attach(self, engine: LiveEngine) -> None:
        """Follow ``engine``: takeover switches the scene, the product on air fills the texts."""
        self._engine = engine
        engine.subscribe(self._on_engine_event)

    def close(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._work.put(("stop",))
        self._thread.join(timeout=timeout_s)
        self._client.close()

    # --- engine events (engine thread: only record and wake) --------------------------------
    def _on_engine_event(self, event: Event) -> None:
        if self._stop.is_set():  # closed: the engine may run on without OBS
            return
        if isinstance(event, ModeChanged):  # a puppet is the avatar: the AI scene, labelled
            self.set_takeover(event.mode == "human")
        elif isinstance(event, ScriptShown):  # also re-sent after the product was edited
            if event.product_id is not None:
                self._engine_product = event.product_id
                self._work.put(("engine_product", event.product_id))
        elif isinstance(event, SentenceStarted) and event.product_id is not None \
                and event.product_id != self._engine_product:
            self._engine_product = event.product_id
            self._work.put(("engine_product", event.product_id))

    # --- the worker --------------------------------------------------------------------------
    def _emit(self, **changes: Any) -> None:
        with self._lock:
            new = dataclasses.replace(self._state, **changes)
            if new == self._state:
                return
            self._state = new
        for callback in list(self._subscribers):
            try:
                callback(new)
            except Exception:  # a broken subscriber must not stop OBS control
                _LOG.exception("OBS state subscriber failed")

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._client.connected and not self._connect():
                    self._wait_disconnected(self._backoff.next_delay_s())
                    continue
                try:
                    item = self._work.get(timeout=2.0)
                except queue.Empty:
                    continue
                self._handle(item)
        finally:
            self._client.close()
            self._emit(connected=False, streaming=False, recording=False, error="")

    def _wait_disconnected(self, delay_s: float) -> None:
        """Sleep until the next attempt, still answering what callers send meanwhile."""
        deadline = time.monotonic() + delay_s
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                item = self._work.get(timeout=left)
            except queue.Empty:
                return
            if item[0] == "action":
                what = _ACTIONS[item[1]][1]
                self._emit(error=f"OBS is not connected, so it was not told to {what}: "
                                 f"{self.state.error or 'start OBS'}")
            elif item[0] == "engine_product":
                self._take_engine_product(item[1])
            elif item[0] == "refuse":
                self._emit(error=str(item[1]))
            # "sync": the wanted state waits for the connection; "lost"/"event": stale

    def _connect(self) -> bool:
        try:
            version = self._client.connect(self._connect_timeout_s)
            stream = self._client.stream_status()
            record = self._client.record_status()
            scene = self._client.current_program_scene()
        except StudioError as exc:
            self._client.close()
            self._emit(connected=False, streaming=False, recording=False, error=str(exc))
            return False
        self._backoff.reset()
        with self._lock:
            self._setup_done = False
            self._applied_human = None
            self._applied_product = None
        self._emit(connected=True, streaming=stream.active, recording=record.active,
                   scene=scene, version=version.describe(), error="")
        _LOG.info("OBS connected: %s", version.describe())
        self._guard(self._sync)
        return True

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "stop":
            return
        if kind == "lost":
            if not self._client.connected:
                self._lost(str(item[1]))
            return
        if kind == "refuse":
            self._emit(error=str(item[1]))
            return
        if kind == "event":
            self._obs_event(str(item[1]), item[2])
            return
        if kind == "engine_product":
            self._take_engine_product(item[1])
            self._guard(self._sync)
        elif kind == "sync":
            self._guard(self._sync)
        elif kind == "action":
            request, what = _ACTIONS[item[1]]
            self._guard(lambda: self._client.call(request), what)

    def _guard(self, work: Callable[[], object], what: str = "") -> None:
        """Run ``work``: a lost connection starts the reconnect loop; a refusal is shown."""
        try:
            work()
        except ObsConnectionError as exc:
            self._lost(str(exc))
        except ObsRequestError as exc:
            fix = ("; run the OBS setup (studio obs setup) to create the LiveHost scenes"
                   if exc.code == STATUS_RESOURCE_NOT_FOUND else "")
            self._emit(error=f"{f'could not {what}: ' if what else ''}{exc}{fix}")
        except StudioError as exc:
            self._emit(error=str(exc))

    def _lost(self, reason: str) -> None:
        self._client.close()
        with self._lock:
            self._setup_done = False
            self._applied_human = None
            self._applied_product = None
        self._emit(connected=False, streaming=False, recording=False,
                   error=f"lost the connection to OBS ({reason}); reconnecting")

    def _obs_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "CurrentProgramSceneChanged":
            self._emit(scene=str(data.get("sceneName", "")))
        elif name == "StreamStateChanged":
            self._emit(streaming=bool(data.get("outputActive")))
        elif name == "RecordStateChanged":
            self._emit(recording=bool(data.get("outputActive")))
        elif name == "ExitStarted":
            self._emit(error="OBS is quitting; the studio reconnects when it is back")

    def _take_engine_product(self, product_id: str) -> None:
        engine = self._engine
        if engine is None:
            return
        try:
            product = engine.show.product(product_id)
        except KeyError:
            return
        self.set_product(product.name, format_price(product.price, product.currency))

    def _sync(self) -> None:
        """Bring OBS to what is wanted; each thing is sent once per connection."""
        client = self._client
        with self._lock:
            want_setup = self._want_setup and not self._setup_done
            want_human = self._want_human
            want_product = self._want_product
        if want_setup and self._program is not None:
            name, price = want_product or ("", "")
            self.last_setup = setup_obs(client, program=self._program, product_text=name,
                                        price_text=price, canvas_px=self._canvas_px)
            with self._lock:
                self._setup_done = True
                if want_product is not None:
                    self._applied_product = want_product
            if self.last_setup.changed:
                _LOG.info("OBS setup: %s", "; ".join(self.last_setup.created
                                                      + self.last_setup.updated))
        if want_human is not None and want_human != self._applied_human:
            self._applied_human = want_human  # once, even if refused: no retry storm
            client.set_current_program_scene(HUMAN_SCENE if want_human else AI_SCENE)
        if want_product is not None and want_product != self._applied_product:
            self._applied_product = want_product
            set_product_texts(client, *want_product)
        if self.state.error and self._client.connected:
            self._emit(error="")
