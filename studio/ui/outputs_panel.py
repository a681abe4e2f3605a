"""Where the program is going right now: one row per output, its health, and start/stop.

Rows come from two places: the targets the settings configure (so an output that is stopped,
or that never started, still has a row with Start) and the engine's ``OutputsChanged``
reports (so a recording started from the File menu shows up too). Names are the engine's,
already redacted: a stream key never reaches this panel.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.outputs.base import OutputHealth, OutputSpec, OutputState
from studio.ui import theme
from studio.ui.i18n import N_, tr

STATE_COLORS = {OutputState.UP: theme.GREEN, OutputState.DEGRADED: theme.AMBER,
                OutputState.DOWN: theme.RED, OutputState.STOPPED: theme.MUTED,
                OutputState.STARTING: theme.ACCENT}
PENDING_TIMEOUT_S = 10.0  # a Start/Stop the engine never answered stops saying "…ing"
_ALIVE = {OutputState.STARTING, OutputState.UP, OutputState.DEGRADED}
COLUMNS = (N_("Output"), N_("State"), N_("Bitrate"), N_("Dropped"), "")
# Output states (engine values and the panel's own) as the operator reads them.
STATE_NAMES = {"starting": N_("starting"), "up": N_("up"), "degraded": N_("degraded"),
               "down": N_("down"), "stopped": N_("stopped"), "stopping": N_("stopping"),
               "off air": N_("off air")}


def display_name(name: str) -> str:
    """An output's engine name ("audio: default device", "virtual camera …") as shown."""
    if name.startswith("audio: "):
        device = name.removeprefix("audio: ")
        return tr("audio: {device}", device=tr("default device")
                  if device == "default device" else device)
    if name.startswith("virtual camera"):
        return tr("virtual camera") + name.removeprefix("virtual camera")
    return name


def health_name(spec: OutputSpec) -> str:
    """The name the engine reports for ``spec`` (sound devices name their device)."""
    if spec.kind == "audio":
        return f"audio: {spec.target or 'default device'}"
    if spec.kind == "virtualcam":
        return f"virtual camera {spec.target}" if spec.target else "virtual camera"
    return spec.display


def format_bitrate(bps: float) -> str:
    if bps <= 0:
        return "—"
    if bps >= 1_000_000:
        return f"{bps / 1_000_000:.2f} Mb/s"
    return f"{bps / 1000:.0f} kb/s"


@dataclass
class OutputRow:
    """One row: a configured target (``spec``) or an output only the engine knew about."""

    name: str
    kind: str
    spec: OutputSpec | None
    configured: bool
    health: OutputHealth | None = None
    pending: str = ""  # "starting" or "stopping" until the engine reports it
    pending_since_s: float = 0.0
    pending_from: OutputHealth | None = None  # the report when Start was clicked

    @property
    def alive(self) -> bool:
        return self.health is not None and self.health.state in _ALIVE

    @property
    def state_text(self) -> str:
        if self.pending:
            return self.pending
        if self.health is None:
            return "stopped"
        return self.health.state.value


class OutputsPanel(QWidget):
    """A small table; ``start_requested``/``stop_requested`` carry the row's ``OutputSpec``."""

    start_requested = Signal(object)  # OutputSpec
    stop_requested = Signal(object)  # OutputSpec

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[OutputRow] = []
        self.live = False
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([tr(c) if c else "" for c in COLUMNS])
        self.table.verticalHeader().hide()
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(len(COLUMNS) - 1, 92)  # fits "Restart"; the view ignores widgets
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.buttons: list[QPushButton] = []
        self._items: list[list[QTableWidgetItem]] = []
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {theme.MUTED}; background: none;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)
        self._refresh(structure=True)

    # -- inputs ------------------------------------------------------------------------------
    def set_targets(self, specs: Sequence[OutputSpec]) -> None:
        """The configured outputs, in the settings' order; engine-only rows stay after them."""
        old = {(r.kind, r.name): r for r in self.rows}
        rows = []
        for spec in specs:
            row = old.pop((spec.kind, health_name(spec)), None)
            if row is None:
                row = OutputRow(health_name(spec), spec.kind, spec, True)
            row.spec, row.configured = spec, True
            rows.append(row)
        extras = [r for r in old.values() if r.health is not None]
        for row in extras:
            row.configured = False
        self.rows = rows + extras
        self._refresh(structure=True)

    def set_live(self, live: bool) -> None:
        """Off air: configured rows stay (without state), engine-only rows go."""
        self.live = live
        if not live:
            self.rows = [r for r in self.rows if r.configured]
            for row in self.rows:
                row.health = None
                row.pending = ""
        self._refresh(structure=True)

    def set_health(self, outputs: Sequence[OutputHealth]) -> None:
        """The engine's newest report: match each output to its row, add rows for new ones."""
        unmatched = list(outputs)
        matched: dict[int, OutputHealth] = {}
        for i, row in enumerate(self.rows):
            found = next((h for h in unmatched if h.kind == row.kind and h.name == row.name),
                         None)
            if found is not None:
                matched[i] = found
                unmatched.remove(found)
        for kind in {r.kind for r in self.rows}:
            # An output that names itself its own way (a device it picked): one of a kind
            # left on each side is the same output.
            waiting = [i for i, r in enumerate(self.rows)
                       if r.kind == kind and r.configured and i not in matched]
            left = [h for h in unmatched if h.kind == kind]
            if len(waiting) == 1 and len(left) == 1:
                matched[waiting[0]] = left[0]
                unmatched.remove(left[0])
        now = time.monotonic()
        for i, row in enumerate(self.rows):
            row.health = matched.get(i)
            answered = (row.pending == "starting" and row.health is not None
                        and row.health != row.pending_from) \
                or (row.pending == "stopping" and not row.alive) \
                or now - row.pending_since_s > PENDING_TIMEOUT_S
            if row.pending and answered:
                row.pending = ""
        for health in unmatched:
            # A recording from File ▸ Record: its spec is its path, so Stop can reach it.
            spec = OutputSpec("file", health.name) if health.kind == "file" else None
            self.rows.append(OutputRow(health.name, health.kind, spec, False, health))
        self._refresh(structure=bool(unmatched))

    # -- reading (tests, the status bar) -----------------------------------------------------
    def row(self, name: str) -> OutputRow | None:
        return next((r for r in self.rows if r.name == name), None)

    def state_of(self, name: str) -> str:
        row = self.row(name)
        return row.state_text if row is not None else ""

    def cell(self, row: int, column: int) -> QTableWidgetItem:
        """The item in text column ``column`` (0 output, 1 state, 2 bitrate, 3 dropped)."""
        return self._items[row][column]

    def button_for(self, name: str) -> QPushButton | None:
        for i, row in enumerate(self.rows):
            if row.name == name:
                return self.buttons[i]
        return None

    # -- drawing -----------------------------------------------------------------------------
    def _toggle(self, index: int) -> None:
        if index >= len(self.rows):
            return
        row = self.rows[index]
        if row.spec is None or row.pending:
            return
        row.pending_since_s = time.monotonic()
        row.pending_from = row.health
        if row.alive:
            row.pending = "stopping"
            self.stop_requested.emit(row.spec)
        else:
            row.pending = "starting"
            self.start_requested.emit(row.spec)
        self._refresh(structure=False)

    def _refresh(self, *, structure: bool) -> None:
        table = self.table
        if structure or table.rowCount() != len(self.rows):
            table.setRowCount(len(self.rows))
            self.buttons = []
            self._items = []
            for i in range(len(self.rows)):
                items = [QTableWidgetItem() for _ in range(4)]
                for column, item in enumerate(items):
                    table.setItem(i, column, item)
                self._items.append(items)
                button = QPushButton()
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # hotkeys keep working
                button.clicked.connect(lambda _=False, n=i: self._toggle(n))
                cell = QWidget()  # the view shows its cell widgets itself: hide inside one
                cell_layout = QHBoxLayout(cell)
                cell_layout.setContentsMargins(2, 1, 2, 1)
                cell_layout.addWidget(button)
                table.setCellWidget(i, 4, cell)
                self.buttons.append(button)
        for i, row in enumerate(self.rows):
            self._draw_row(i, row)
        if not self.rows:
            self.hint.setText(tr("No outputs configured: add the virtual camera or stream "
                                 "targets in Settings ▸ Preferences ▸ Outputs."))
        elif not self.live:
            self.hint.setText(tr("Outputs start when a show goes on air."))
        else:
            self.hint.setText("")
        self.hint.setVisible(bool(self.hint.text()))

    def _draw_row(self, i: int, row: OutputRow) -> None:
        h = row.health
        items = self._items[i]
        name_item, state_item, bitrate_item, dropped = items
        name_item.setText(display_name(row.name))
        state = row.state_text if self.live else "off air"
        state_item.setText(tr(STATE_NAMES[state]).upper() if state in STATE_NAMES
                           else state.upper())
        color = theme.MUTED
        if self.live and h is not None and not row.pending:
            color = STATE_COLORS.get(h.state, theme.MUTED)
        elif row.pending:
            color = theme.ACCENT
        state_item.setForeground(QColor(color))
        font = state_item.font()
        font.setBold(True)
        state_item.setFont(font)
        bitrate_item.setText(format_bitrate(h.bitrate_bps) if h is not None else "—")
        dropped.setText(str(h.frames_dropped) if h is not None else "—")
        dropped.setForeground(QColor(theme.AMBER if h is not None and h.frames_dropped
                                     else theme.TEXT))
        tip = [f"{display_name(row.name)} ({row.kind})"]
        if h is not None:
            if h.reason:
                tip.append(h.reason)
            tip.append(tr("frames sent {sent}, dropped {dropped}", sent=h.frames_sent,
                          dropped=h.frames_dropped))
            if h.reconnects:
                tip.append(tr("reconnects {count}", count=h.reconnects))
        for item in items:
            item.setToolTip("\n".join(tip))
        button = self.buttons[i]
        if row.spec is None or (not row.configured and not row.alive):
            button.setText("")
            button.setEnabled(False)
            button.setVisible(False)
            return
        button.setVisible(True)
        button.setEnabled(self.live and not row.pending)
        if row.alive or row.pending == "stopping":
            button.setText(tr("Stop"))
        else:
            button.setText(tr("Restart") if h is not None and h.state == OutputState.DOWN
                           else tr("Start"))
        button.setToolTip(f"{button.text()} {display_name(row.name)}")

    @property
    def reasons(self) -> dict[str, str]:
        return {r.name: r.health.reason for r in self.rows if r.health is not None}
