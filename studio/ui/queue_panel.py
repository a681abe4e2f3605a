"""The run-down: what was, is and will be presented, editable while on air.

The table mirrors the engine's QueueChanged; edits become commands (ReorderQueue,
SetSkipped, GoToProduct, PinProduct, UpsertProduct) and the next QueueChanged shows what
the engine made of them. A reorder is shown at once (optimistically) so dragging feels
direct; the engine's answer replaces it a frame later.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.program.queue import ProductStatus, QueueEntry
from studio.ui import theme
from studio.ui.i18n import N_, tr

MIME = "application/x-livehost-product-ids"
COLUMNS = ("#", N_("Status"), N_("Product"), N_("Price"))
STATUS_ROLE = Qt.ItemDataRole.UserRole + 1  # the status as the engine says it (colours)
STATUS_NAMES = {"on air": N_("on air"), "next": N_("next"), "done": N_("done"),
                "queued": N_("queued"), "skipped": N_("skipped")}


def status_name(status: str) -> str:
    """A queue status ("on air") as the operator reads it."""
    return tr(STATUS_NAMES[status]) if status in STATUS_NAMES else status
AnyIndex = QModelIndex | QPersistentModelIndex


def reordered(ids: Sequence[str], moving: Sequence[str], row: int) -> list[str]:
    """``ids`` with ``moving`` taken out and put back before position ``row`` (drop semantics)."""
    moving_set = set(moving)
    before = sum(1 for i in ids[:row] if i in moving_set)
    rest = [i for i in ids if i not in moving_set]
    at = max(0, min(len(rest), row - before))
    return [*rest[:at], *[i for i in ids if i in moving_set], *rest[at:]]


class QueueModel(QAbstractTableModel):
    """Rows are QueueEntry; drops emit ``reorder_requested`` with every id in the new order."""

    reorder_requested = Signal(tuple)

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[QueueEntry] = []

    def set_entries(self, entries: Sequence[QueueEntry]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.endResetModel()

    def ids(self) -> list[str]:
        return [e.product_id for e in self.entries]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(COLUMNS[section])
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(index.row() + 1)
            if column == 1:
                return status_name(entry.status.value)
            if column == 2:
                return ("📌 " if entry.pinned else "") + entry.name
            return entry.price_text
        if role == Qt.ItemDataRole.ToolTipRole:
            pin = tr(" · pinned on screen") if entry.pinned else ""
            return f"{entry.name} ({entry.product_id}) — {status_name(entry.status.value)}{pin}"
        if role == Qt.ItemDataRole.ForegroundRole:
            if entry.status in (ProductStatus.DONE, ProductStatus.SKIPPED):
                return QColor(theme.MUTED)
            return None
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            if entry.status == ProductStatus.SKIPPED and column == 2:
                font.setStrikeOut(True)
            if entry.status == ProductStatus.ON_AIR:
                font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return entry.product_id
        if role == STATUS_ROLE:
            return entry.status.value
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        rows = sorted({i.row() for i in indexes if i.isValid()})
        data = QMimeData()
        payload = json.dumps([self.entries[r].product_id for r in rows]).encode()
        data.setData(MIME, QByteArray(payload))
        return data

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: AnyIndex) -> bool:
        """Reorder from a drag; returns False so the view never deletes the dragged rows."""
        if action != Qt.DropAction.MoveAction or not data.hasFormat(MIME):
            return False
        try:
            moving = [str(i) for i in json.loads(bytes(data.data(MIME).data()).decode())]
        except ValueError:
            return False
        if row < 0:
            row = parent.row() if parent.isValid() else len(self.entries)
        self.request_order(reordered(self.ids(), moving, row))
        return False

    def request_order(self, ids: Sequence[str]) -> None:
        """Show the new order at once and ask the engine for it."""
        if list(ids) == self.ids() or sorted(ids) != sorted(self.ids()):
            return
        by_id = {e.product_id: e for e in self.entries}
        self.set_entries([by_id[i] for i in ids])
        self.reorder_requested.emit(tuple(ids))


class StatusDelegate(QStyledItemDelegate):
    """Draws the status column as a coloured pill, readable at a glance across the room."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        if option.state & QStyle.StateFlag.State_Selected:  # type: ignore[attr-defined]
            painter.fillRect(option.rect, option.palette.highlight())  # type: ignore[attr-defined]
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        status = str(index.data(STATUS_ROLE) or "")
        color = QColor(theme.STATUS_COLORS.get(status, theme.MUTED))
        rect: QRect = option.rect.adjusted(6, 5, -6, -5)  # type: ignore[attr-defined]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        filled = status in ("on air", "next")
        painter.setPen(color)
        fill = QColor(color)
        fill.setAlpha(235 if filled else 0)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setFont(theme.scaled_font(option.font, 0.82, bold=True))  # type: ignore[attr-defined]
        painter.setPen(QColor("#101010") if filled else color)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text.upper())
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(86, 28)


class QueuePanel(QWidget):
    """Run-down table plus the buttons that act on the selected product."""

    reorder_requested = Signal(tuple)  # every product id, new order
    go_requested = Signal(str, bool)  # product id, now
    skip_requested = Signal(str, bool)  # product id, skipped
    pin_requested = Signal(object)  # product id or None (unpin)
    add_requested = Signal()
    edit_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QueueModel()
        self.model.reorder_requested.connect(self.reorder_requested)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(1, StatusDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setDragEnabled(True)
        self.table.setAcceptDrops(True)
        self.table.setDropIndicatorShown(True)
        self.table.setDragDropOverwriteMode(False)
        self.table.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.table.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(1, 92)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(lambda _index: self._edit())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.model.modelReset.connect(self._update_buttons)

        def button(text: str, tip: str, slot: Any, name: str = "") -> QPushButton:
            b = QPushButton(text)
            b.setToolTip(tip)
            if name:
                b.setObjectName(name)
            b.clicked.connect(lambda: slot())
            return b

        self.go_next_button = button(tr("Go to next"), tr("Present the selected product after "
                                                          "the current sentence"),
                                     lambda: self._go(False))
        self.go_now_button = button(tr("Go now"), tr("Cut to the selected product now"),
                                    lambda: self._go(True), "danger")
        self.skip_button = button(tr("Skip"), tr("Skip the selected product (or put it back)"),
                                  self._toggle_skip)
        self.pin_button = button(tr("Pin"), tr("Keep the selected product's card on screen"),
                                 self._toggle_pin)
        self.up_button = button("▲", tr("Move up in the run-down"), lambda: self._move(-1))
        self.down_button = button("▼", tr("Move down in the run-down"), lambda: self._move(1))
        self.add_button = button(tr("Add…"), tr("Add a product to the end of the queue"),
                                 self.add_requested.emit)
        self.edit_button = button(tr("Edit…"), tr("Edit the selected product"), self._edit)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        grid.addWidget(self.go_next_button, 0, 0, 1, 2)
        grid.addWidget(self.go_now_button, 0, 2, 1, 2)
        grid.addWidget(self.skip_button, 1, 0)
        grid.addWidget(self.pin_button, 1, 1)
        grid.addWidget(self.up_button, 1, 2)
        grid.addWidget(self.down_button, 1, 3)
        grid.addWidget(self.add_button, 2, 0, 1, 2)
        grid.addWidget(self.edit_button, 2, 2, 1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.table, 1)
        layout.addLayout(grid)
        self._update_buttons()

    # -- from the engine ---------------------------------------------------------------------
    def set_entries(self, entries: Sequence[QueueEntry]) -> None:
        if list(entries) == self.model.entries:
            return  # the engine re-sends the queue often; a reset would flicker and lose hover
        selected = self.selected_id()
        self.model.set_entries(entries)
        if selected is not None:
            self.select(selected)

    # -- selection ---------------------------------------------------------------------------
    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        return self.model.entries[rows[0].row()].product_id

    def selected_entry(self) -> QueueEntry | None:
        pid = self.selected_id()
        return next((e for e in self.model.entries if e.product_id == pid), None)

    def select(self, product_id: str) -> None:
        for row, entry in enumerate(self.model.entries):
            if entry.product_id == product_id:
                self.table.selectRow(row)
                return

    # -- the reorder API (drag and drop, the arrows, tests) ----------------------------------
    def move_product(self, product_id: str, row: int) -> None:
        """Put ``product_id`` at ``row`` (0-based) and ask the engine for that order."""
        ids = [i for i in self.model.ids() if i != product_id]
        ids.insert(max(0, min(len(ids), row)), product_id)
        self.model.request_order(ids)
        self.select(product_id)

    def _move(self, delta: int) -> None:
        pid = self.selected_id()
        if pid is not None:
            self.move_product(pid, self.model.ids().index(pid) + delta)

    def _go(self, now: bool) -> None:
        pid = self.selected_id()
        if pid is not None:
            self.go_requested.emit(pid, now)

    def _toggle_skip(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.skip_requested.emit(entry.product_id, entry.status != ProductStatus.SKIPPED)

    def _toggle_pin(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.pin_requested.emit(None if entry.pinned else entry.product_id)

    def _edit(self) -> None:
        pid = self.selected_id()
        if pid is not None:
            self.edit_requested.emit(pid)

    def _update_buttons(self) -> None:
        entry = self.selected_entry()
        has = entry is not None
        for b in (self.go_next_button, self.go_now_button, self.skip_button, self.pin_button,
                  self.up_button, self.down_button, self.edit_button):
            b.setEnabled(has)
        if entry is not None:
            self.skip_button.setText(tr("Unskip") if entry.status == ProductStatus.SKIPPED
                                     else tr("Skip"))
            self.pin_button.setText(tr("Unpin") if entry.pinned else tr("Pin"))
