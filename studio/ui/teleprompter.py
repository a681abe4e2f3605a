"""The teleprompter: what the host is saying, word by word, held at the reader's eye line.

Painted by hand (QTextLayout per sentence) rather than with a QTextEdit so that it can be
mirrored for beam-splitter glass with one QTransform, scroll smoothly at any rate, and
highlight the spoken word from the engine's word timings without re-laying out the text.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QLinearGradient,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.engine.events import ResumePoint, ScriptShown, SentenceStarted, Status, WordTiming
from studio.ui import theme
from studio.ui.i18n import N_, tr

EYE_LINE = 1 / 3  # the current line is held this far down the view
MARGIN_PX = 28
FOLLOW_RATE = 7.0  # per second: how fast auto-scroll closes the gap to the eye line

PAST = QColor("#5d6272")
UPCOMING = QColor("#c4c8d2")
CURRENT = QColor("#ffffff")
INSERTED = QColor("#7fb2ff")
PAST_INSERTED = QColor("#4a5f86")
WORD_BG = QColor(theme.AMBER)
WORD_FG = QColor("#111111")
RESUME = QColor(theme.AMBER)
RESUME_LABEL = N_("▶ AI RESUMES HERE")

_SPACE = re.compile(r"\s+")
_KIND_LABELS = {"interjection": N_("INTERJECTION"), "intro": N_("INTRO"),
                "outro": N_("OUTRO")}  # tr() where drawn


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def word_spans(text: str, words: tuple[WordTiming, ...]) -> list[tuple[int, int] | None]:
    """Character span of each timed word in the displayed text, found left to right.

    The voice may spell a word differently (numbers, symbols): such words get ``None`` and
    the highlight simply stays on the previous word for their duration.
    """
    lower = text.lower()
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for word in words:
        needle = word.text.strip().lower()
        stripped = needle.strip(".,!?;:\"'()")
        found = lower.find(needle, cursor) if needle else -1
        if found < 0 and stripped:
            found = lower.find(stripped, cursor)
            needle = stripped
        if found < 0 or found - cursor > 40:
            spans.append(None)
            continue
        spans.append((found, found + len(needle)))
        cursor = found + len(needle)
    return spans


@dataclass
class PrompterRow:
    """One sentence on the prompter; inserted rows (interjections...) are not in the script."""

    text: str
    kind: str = "script"
    script_index: int = -1
    start_samples: int = -1  # set once the row has been spoken
    layout: QTextLayout | None = field(default=None, repr=False)
    top: float = 0.0
    height: float = 0.0


class TeleprompterView(QWidget):
    """The prompter surface. Feed it ScriptShown, SentenceStarted and the playhead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 160)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.title = ""
        self.rows: list[PrompterRow] = []
        self._sentences: deque[SentenceStarted] = deque(maxlen=8)  # may arrive ahead of air
        self._active: SentenceStarted | None = None
        self._current_row = -1
        self._spans: list[tuple[int, int] | None] = []
        self._current_word = -1
        self._playhead = -1
        self._resume: ResumePoint | None = None  # set while a human is on air
        self._resume_row = -1
        self._font_size = 30
        self.mirror = False
        self.manual = False
        self.scroll_speed_px_s = 40
        self._offset = 0.0
        self._laid_out_width = -1
        self._content_height = 0.0
        self._last_tick = time.perf_counter()
        self._timer = QTimer(self)
        self._timer.setInterval(16)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    # -- what tests and the panel read -------------------------------------------------------
    @property
    def highlighted_word(self) -> str | None:
        """The word being spoken now (engine spelling), or None between sentences."""
        active = self._active
        if active is None or not (0 <= self._current_word < len(active.words)):
            return None
        return active.words[self._current_word].text

    @property
    def highlighted_sentence_index(self) -> int:
        """Index into ScriptShown.sentences of the sentence being spoken, -1 if none."""
        if 0 <= self._current_row < len(self.rows):
            return self.rows[self._current_row].script_index
        return -1

    @property
    def highlighted_text(self) -> str | None:
        if 0 <= self._current_row < len(self.rows):
            return self.rows[self._current_row].text
        return None

    @property
    def resume_row(self) -> int:
        """The row the AI resumes at (marked), -1 while the AI is on air."""
        return self._resume_row

    @property
    def resume_sentence_index(self) -> int:
        """Index into ScriptShown.sentences of the marked sentence, -1 if none (or not a
        script line)."""
        if 0 <= self._resume_row < len(self.rows):
            return self.rows[self._resume_row].script_index
        return -1

    @property
    def resume_text(self) -> str | None:
        if 0 <= self._resume_row < len(self.rows):
            return self.rows[self._resume_row].text
        return None

    @property
    def font_size(self) -> int:
        return self._font_size

    def sizeHint(self) -> QSize:
        return QSize(520, 480)

    # -- input -------------------------------------------------------------------------------
    def show_script(self, script: ScriptShown) -> None:
        self.title = script.title
        self.rows = [PrompterRow(text, "script", i) for i, text in enumerate(script.sentences)]
        self._current_row = -1
        self._current_word = -1
        self._active = None
        # Lines already spoken belong to the previous script; ones still ahead (look-ahead)
        # are matched against this one.
        ahead = [s for s in self._sentences if s.start_samples > self._playhead >= 0]
        self._sentences.clear()
        self._sentences.extend(ahead)
        self._resume_row = self._find_resume_row()
        self._invalidate()
        self._offset = self._target_offset()
        self._update_active()

    def set_resume(self, resume: ResumePoint | None) -> None:
        """Mark where the AI picks up again (a human is on air), or clear the mark (None)."""
        self._resume = resume
        self._resume_row = self._find_resume_row()
        self._invalidate()

    def _find_resume_row(self) -> int:
        """The interrupted sentence's row: by script index for script lines, else by text
        (the row last spoken with that text: the one the human cut)."""
        resume = self._resume
        if resume is None:
            return -1
        if resume.kind == "script" and resume.sentence_index >= 0:
            index = next((i for i, r in enumerate(self.rows)
                          if r.kind == "script" and r.script_index == resume.sentence_index
                          and _norm(r.text) == _norm(resume.text)), -1)
            if index >= 0:
                return index
        wanted = _norm(resume.text)
        matches = [i for i, r in enumerate(self.rows) if _norm(r.text) == wanted]
        if not matches:
            return -1
        spoken = [i for i in matches if self.rows[i].start_samples >= 0]
        return spoken[-1] if spoken else matches[0]

    def sentence_started(self, sentence: SentenceStarted) -> None:
        self._sentences.append(sentence)
        if self._playhead < 0 or sentence.start_samples <= self._playhead:
            self._update_active(force=sentence)
        if self._resume is not None and self._resume_row < 0:
            self._resume_row = self._find_resume_row()

    def set_playhead(self, pts_samples: int) -> None:
        self._playhead = pts_samples
        self._update_active()

    def clear(self) -> None:
        self.title = ""
        self.rows = []
        self._sentences.clear()
        self._active = None
        self._current_row = -1
        self._current_word = -1
        self._playhead = -1
        self._resume = None
        self._resume_row = -1
        self._invalidate()

    def finish(self) -> None:
        """The run-down is over: the script stays readable, nothing is highlighted."""
        self._sentences.clear()
        self._active = None
        self._current_row = -1
        self._current_word = -1
        self._resume = None
        self._resume_row = -1
        self.update()

    def set_font_size(self, size: int) -> None:
        self._font_size = max(10, min(120, size))
        self._invalidate()

    def set_mirror(self, mirror: bool) -> None:
        self.mirror = mirror
        self.update()

    def set_manual(self, manual: bool) -> None:
        self.manual = manual
        self.update()

    def set_scroll_speed(self, px_s: int) -> None:
        self.scroll_speed_px_s = px_s

    def rewind(self) -> None:
        self._offset = 0.0
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        """The wheel nudges the text; in auto mode it snaps back to the eye line."""
        self._offset = self._clamp(self._offset - event.angleDelta().y() / 2)
        self.update()
        event.accept()

    # -- state -------------------------------------------------------------------------------
    def _update_active(self, force: SentenceStarted | None = None) -> None:
        active = force
        if active is None:
            for sentence in self._sentences:
                due = sentence.start_samples <= self._playhead or self._playhead < 0
                if due and (active is None or sentence.start_samples >= active.start_samples):
                    active = sentence
        if active is None:
            return
        if active is not self._active:
            self._active = active
            self._current_row = self._row_for(active)
            row = self.rows[self._current_row] if self._current_row >= 0 else None
            self._spans = word_spans(row.text, active.words) if row is not None else []
            self._current_word = -1
            self.update()
        word = -1
        if self._playhead >= active.end_samples > active.start_samples:
            pass  # said: no word stays lit between sentences (or after the last one)
        elif self._playhead >= 0:
            for i, w in enumerate(active.words):
                if w.start_samples <= self._playhead:
                    word = i
                else:
                    break
        elif active.words:
            word = 0
        if word != self._current_word:
            self._current_word = word
            self.update()

    def _row_for(self, sentence: SentenceStarted) -> int:
        """The row showing this sentence; non-script lines are inserted after the current one."""
        for i, row in enumerate(self.rows):
            if row.start_samples == sentence.start_samples:
                return i
        index = -1
        if sentence.kind == "script" and 0 <= sentence.sentence_index < len(self.rows):
            candidate = self.rows[sentence.sentence_index]
            if candidate.kind == "script" and candidate.script_index == sentence.sentence_index:
                index = sentence.sentence_index
            else:
                index = next((i for i, r in enumerate(self.rows)
                              if r.script_index == sentence.sentence_index), -1)
        if index < 0:
            wanted = _norm(sentence.text)
            start = max(self._current_row, 0)
            index = next((i for i in range(start, len(self.rows))
                          if self.rows[i].start_samples < 0 and _norm(self.rows[i].text) == wanted),
                         -1)
        if index < 0:
            index = self._current_row + 1 if self._current_row >= 0 else 0
            self.rows.insert(index, PrompterRow(sentence.text, sentence.kind, -1))
            self._invalidate()
        self.rows[index].start_samples = sentence.start_samples
        return index

    # -- layout and painting -----------------------------------------------------------------
    def _font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSize(self._font_size)
        font.setWeight(QFont.Weight.DemiBold)
        return font

    def _invalidate(self) -> None:
        self._laid_out_width = -1
        self.update()

    def _layout(self) -> None:
        width = max(50, self.width() - 2 * MARGIN_PX)
        if width == self._laid_out_width:
            return
        self._laid_out_width = width
        font = self._font()
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        line_height = QFontMetricsF(font).height()
        gap = line_height * 0.55
        y = 0.0
        for index, row in enumerate(self.rows):
            layout = QTextLayout(row.text, font)
            layout.setTextOption(option)
            layout.beginLayout()
            line_y = 0.0
            while True:
                line = layout.createLine()
                if not line.isValid():
                    break
                line.setLineWidth(width)
                line.setPosition(QPointF(0, line_y))
                line_y += line.height() * 1.12
            layout.endLayout()
            labelled = row.kind in _KIND_LABELS or index == self._resume_row
            label_space = line_height * 0.5 if labelled else 0.0
            row.layout = layout
            row.top = y + label_space
            row.height = line_y
            y += label_space + line_y + gap
        self._content_height = y

    def _focus_y(self) -> float:
        """Content y of the line being spoken (centre), or of the current row's first line;
        while a human is on air, the row where the AI resumes."""
        if 0 <= self._resume_row < len(self.rows):
            row = self.rows[self._resume_row]
            return row.top + min(row.height, self._font_size * 1.5) / 2
        if not (0 <= self._current_row < len(self.rows)):
            return 0.0
        row = self.rows[self._current_row]
        if row.layout is None or row.layout.lineCount() == 0:
            return row.top
        line = row.layout.lineAt(0)
        span = self._spans[self._current_word] if 0 <= self._current_word < len(
            self._spans) else None
        if span is not None:
            found = row.layout.lineForTextPosition(span[0])
            if found.isValid():
                line = found
        return row.top + line.y() + line.height() / 2

    def _target_offset(self) -> float:
        self._layout()
        return self._clamp(self._focus_y() - self.height() * EYE_LINE)

    def _clamp(self, offset: float) -> float:
        low = -self.height() * EYE_LINE
        high = max(low, self._content_height - self.height() * EYE_LINE)
        return min(high, max(low, offset))

    def _tick(self) -> None:
        now = time.perf_counter()
        dt = min(0.1, now - self._last_tick)
        self._last_tick = now
        if not self.isVisible():
            return
        if self.manual:
            if self.scroll_speed_px_s:
                self._offset = self._clamp(self._offset + self.scroll_speed_px_s * dt)
                self.update()
            return
        target = self._target_offset()
        gap = target - self._offset
        if abs(gap) < 0.5:
            if gap:
                self._offset = target
                self.update()
            return
        self._offset += gap * min(1.0, dt * FOLLOW_RATE)
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._invalidate()
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._layout()
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#0b0c10"))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        if self.mirror:
            painter.setTransform(QTransform(-1, 0, 0, 1, self.width(), 0))
        eye_y = self.height() * EYE_LINE
        if not self.manual and self.rows:
            band = QRectF(0, eye_y - self._font_size * 0.95, self.width(), self._font_size * 1.9)
            painter.fillRect(band, QColor(255, 255, 255, 10))
            arrow = QPolygonF([QPointF(4, eye_y - 10), QPointF(16, eye_y), QPointF(4, eye_y + 10)])
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.RED))
            painter.drawPolygon(arrow)
        if not self.rows:
            painter.setPen(QColor(theme.MUTED))
            painter.setFont(self.font())
            painter.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter,
                             tr("The script appears here when the show is on air."))
            painter.end()
            return
        label_font = QFont(self.font())
        label_font.setPointSize(max(8, int(self._font_size * 0.38)))
        label_font.setBold(True)  # explicit point size: the stylesheet sizes in pixels
        font = self._font()
        for index, row in enumerate(self.rows):
            if row.layout is None:
                continue
            y = row.top - self._offset
            if y + row.height < -20 or y > self.height() + 20:
                continue
            current = index == self._current_row and self._resume is None
            resume = index == self._resume_row
            if resume:
                band = QRectF(MARGIN_PX - 18, y - self._font_size * 0.75,
                              self.width() - 2 * MARGIN_PX + 26,
                              row.height + self._font_size * 0.75 + 4)
                fill = QColor(RESUME)
                fill.setAlpha(34)
                painter.fillRect(band, fill)
                painter.fillRect(QRectF(MARGIN_PX - 14, y + 2, 4, row.height - 4), RESUME)
                painter.setFont(label_font)
                painter.setPen(RESUME)
                kind = _KIND_LABELS.get(row.kind)
                painter.drawText(QPointF(MARGIN_PX, y - self._font_size * 0.18),
                                 tr(RESUME_LABEL) + (f" · {tr(kind)}" if kind else ""))
            if resume or self.manual or current:
                color = CURRENT
            elif index < self._current_row:
                color = PAST_INSERTED if row.kind != "script" else PAST
            else:
                color = INSERTED if row.kind != "script" else UPCOMING
            if row.kind in _KIND_LABELS and not resume:
                painter.setFont(label_font)
                painter.setPen(QColor(theme.ACCENT))
                painter.drawText(QPointF(MARGIN_PX, y - self._font_size * 0.18),
                                 tr(_KIND_LABELS[row.kind]))
            if current and not self.manual:
                painter.fillRect(QRectF(MARGIN_PX - 14, y + 2, 4, row.height - 4),
                                 QColor(theme.RED))
            painter.setPen(QPen(color))
            painter.setFont(font)
            selections: list[QTextLayout.FormatRange] = []
            if current and not self.manual and 0 <= self._current_word < len(self._spans):
                span = self._spans[self._current_word]
                if span is not None:
                    fmt = QTextCharFormat()
                    fmt.setBackground(QBrush(WORD_BG))
                    fmt.setForeground(QBrush(WORD_FG))
                    selection = QTextLayout.FormatRange()
                    selection.start, selection.length, selection.format = (
                        span[0], span[1] - span[0], fmt)
                    selections.append(selection)
            row.layout.draw(painter, QPointF(MARGIN_PX, y), selections)
        self._paint_fades(painter)
        painter.end()

    def _paint_fades(self, painter: QPainter) -> None:
        """Soft top and bottom edges, so lines slide in and out instead of being cut."""
        painter.resetTransform()
        depth = min(self.height() * 0.2, 110.0)
        bg = QColor("#0b0c10")
        clear = QColor(bg)
        clear.setAlpha(0)
        for top in (True, False):
            y0 = 0.0 if top else self.height() - depth
            gradient = QLinearGradient(0, y0, 0, y0 + depth)
            gradient.setColorAt(0.0, bg if top else clear)
            gradient.setColorAt(1.0, clear if top else bg)
            painter.fillRect(QRectF(0, y0, self.width(), depth), QBrush(gradient))


def format_clock(seconds: float) -> str:
    """``mm:ss`` (``h:mm:ss`` past an hour); negative or unknown shows as ``--:--``."""
    if seconds != seconds or seconds < 0:  # NaN or unknown
        return "--:--"
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when narrow; the tooltip keeps the whole text."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        self.full_text = ""
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight,
                                                   max(10, self.width())))


class TeleprompterPanel(QWidget):
    """The prompter with its header (title, time left) and reader controls."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = TeleprompterView(self)
        self.title_label = ElidedLabel("—")
        self.title_label.setStyleSheet("font-size: 16px; font-weight: 700; background: none;")
        self.product_left = QLabel("--:--")
        self.show_left = QLabel("--:--")
        for label, tip in ((self.product_left, tr("Time left for this product")),
                           (self.show_left, tr("Time left for the whole show"))):
            label.setToolTip(tip)
            label.setStyleSheet("font-size: 20px; font-weight: 700; background: none;"
                                "font-family: 'DejaVu Sans Mono', monospace;")

        def caption(text: str) -> QLabel:
            label = QLabel(text)
            label.setObjectName("muted")
            return label

        header = QHBoxLayout()
        header.setContentsMargins(10, 6, 10, 6)
        header.addWidget(self.title_label, 1)
        header.addSpacing(10)
        header.addWidget(caption(tr("PRODUCT")))
        header.addSpacing(4)
        header.addWidget(self.product_left)
        header.addSpacing(16)
        header.addWidget(caption(tr("SHOW")))
        header.addSpacing(4)
        header.addWidget(self.show_left)

        self.font_size = QSpinBox()
        self.font_size.setRange(12, 96)
        self.font_size.setSuffix(" pt")
        self.font_size.setToolTip(tr("Teleprompter text size"))
        self.font_size.setValue(self.view.font_size)
        self.font_size.valueChanged.connect(self.view.set_font_size)
        self.mirror = QCheckBox(tr("Mirror"))
        self.mirror.setToolTip(tr("Flip horizontally for a beam-splitter (glass) prompter"))
        self.mirror.toggled.connect(self.view.set_mirror)
        self.manual = QCheckBox(tr("Manual scroll"))
        self.manual.setToolTip(tr("Scroll at a steady speed for a human reader instead of "
                                  "following the host's voice"))
        self.speed = QSpinBox()
        self.speed.setRange(0, 400)
        self.speed.setSingleStep(5)
        self.speed.setSuffix(" px/s")
        self.speed.setToolTip(tr("Manual scroll speed (0 stops)"))
        self.speed.setValue(self.view.scroll_speed_px_s)
        self.speed.valueChanged.connect(self.view.set_scroll_speed)
        self.rewind = QToolButton()
        self.rewind.setText(tr("Top"))
        self.rewind.setToolTip(tr("Back to the top"))
        self.rewind.clicked.connect(self.view.rewind)
        self.manual.toggled.connect(self._manual_toggled)
        self._manual_toggled(False)

        controls = QHBoxLayout()
        controls.setContentsMargins(10, 4, 10, 6)
        controls.addWidget(caption(tr("Size")))
        controls.addWidget(self.font_size)
        controls.addSpacing(8)
        controls.addWidget(self.mirror)
        controls.addStretch(1)
        controls.addWidget(self.manual)
        controls.addWidget(self.speed)
        controls.addWidget(self.rewind)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)
        layout.addLayout(controls)

    def _manual_toggled(self, manual: bool) -> None:
        self.view.set_manual(manual)
        self.speed.setEnabled(manual)
        self.rewind.setEnabled(manual)

    def show_script(self, script: ScriptShown) -> None:
        self.title_label.set_full_text(script.title or "—")
        self.view.show_script(script)

    def update_status(self, status: Status) -> None:
        self.product_left.setText(format_clock(status.product_time_left_s))
        self.show_left.setText(format_clock(status.show_time_left_s))

    def finish(self) -> None:
        """The run-down is finished: said so where the product's title was."""
        self.title_label.set_full_text(tr("Run-down finished"))
        self.product_left.setText("--:--")
        self.view.finish()

    def clear(self) -> None:
        self.title_label.set_full_text("—")
        self.product_left.setText("--:--")
        self.show_left.setText("--:--")
        self.view.clear()
