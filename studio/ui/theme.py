"""The studio's dark theme: low glare for a long shift, with colour kept for state.

Red means "the AI is on air / a problem", green "a human is on air (on camera)", violet "a human
puppeteers the avatar", amber "next / warning"; everything else stays grey so those colours are
never ambiguous.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from studio.ui.i18n import N_

BG = "#17181d"
PANEL = "#1f2128"
RAISED = "#2a2d36"
BORDER = "#343845"
TEXT = "#e6e8ee"
MUTED = "#8b90a0"
ACCENT = "#4f7cff"
RED = "#e5323f"
RED_DARK = "#8e1620"
GREEN = "#23a55a"
GREEN_DARK = "#0f5c2f"
AMBER = "#f0a020"
VIOLET = "#8b5cf6"  # puppet: a human drives the avatar (neither the AI nor the camera)

MODE_COLORS = {"ai": RED, "human": GREEN, "puppet": VIOLET}
MODE_BORDERS = {"ai": "#ff6b75", "human": "#5fe08f", "puppet": "#b79bff"}
MODE_PILLS = {"ai": N_("AI HOST"), "human": N_("HUMAN"), "puppet": N_("PUPPET")}  # tr() shown
PILL_COLORS = {"ai": ACCENT, "human": GREEN, "puppet": VIOLET}  # red stays "live"

STATUS_COLORS = {"on air": RED, "next": AMBER, "done": "#5c6170", "queued": TEXT,
                 "skipped": "#5c6170"}

STYLESHEET = f"""
QWidget {{ background: {BG}; color: {TEXT}; font-size: 13px; }}
QMainWindow::separator {{ background: {BG}; width: 4px; height: 4px; }}
QMainWindow::separator:hover {{ background: {ACCENT}; }}
QDockWidget {{ titlebar-close-icon: none; color: {MUTED}; font-weight: 600; }}
QDockWidget::title {{ background: {PANEL}; padding: 6px 8px; border-bottom: 1px solid {BORDER};
    text-transform: uppercase; }}
QMenuBar {{ background: {PANEL}; border-bottom: 1px solid {BORDER}; }}
QMenuBar::item {{ padding: 4px 10px; background: transparent; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {RAISED}; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; padding: 4px; }}
QMenu::item {{ padding: 5px 28px 5px 20px; }}
QMenu::separator {{ height: 1px; background: {BORDER}; margin: 4px 8px; }}
QPushButton, QToolButton {{ background: {RAISED}; border: 1px solid {BORDER}; border-radius: 4px;
    padding: 5px 10px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:pressed, QToolButton:pressed {{ background: {BORDER}; }}
QPushButton:disabled, QToolButton:disabled {{ color: #555a68; border-color: #2a2d36; }}
QPushButton:checked, QToolButton:checked {{ background: #2d3b66; border-color: {ACCENT}; }}
QPushButton#primary {{ background: {ACCENT}; border-color: {ACCENT}; color: white;
    font-weight: 600; }}
QPushButton#danger {{ background: {RED_DARK}; border-color: {RED}; color: white;
    font-weight: 600; }}
QPushButton#primary:disabled, QPushButton#danger:disabled {{ background: {RAISED};
    border-color: {BORDER}; color: #555a68; }}
QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox, QComboBox, QKeySequenceEdit {{
    background: #12131a; border: 1px solid {BORDER}; border-radius: 4px; padding: 4px 6px;
    selection-background-color: {ACCENT}; }}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QComboBox:focus {{
    border-color: {ACCENT}; }}
QTableView, QListWidget, QTreeView {{ background: {PANEL}; border: 1px solid {BORDER};
    gridline-color: {BORDER}; alternate-background-color: #23252d;
    selection-background-color: #2d3b66; selection-color: {TEXT}; }}
QHeaderView::section {{ background: {PANEL}; color: {MUTED}; border: none;
    border-bottom: 1px solid {BORDER}; padding: 4px 6px; font-weight: 600; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; color: {MUTED}; }}
QStatusBar::item {{ border: none; }}
QStatusBar QLabel {{ background: transparent; padding: 0 6px; }}
QScrollBar:vertical {{ background: {BG}; width: 10px; margin: 0; }}
QScrollBar::handle:vertical {{ background: {RAISED}; border-radius: 4px; min-height: 24px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; width: 0; }}
QScrollBar:horizontal {{ background: {BG}; height: 10px; }}
QScrollBar::handle:horizontal {{ background: {RAISED}; border-radius: 4px; }}
QTabWidget::pane {{ border: 1px solid {BORDER}; }}
QTabBar::tab {{ background: {PANEL}; padding: 6px 14px; border: 1px solid {BORDER}; }}
QTabBar::tab:selected {{ background: {RAISED}; }}
QToolTip {{ background: {RAISED}; color: {TEXT}; border: 1px solid {BORDER}; }}
QLabel#muted {{ color: {MUTED}; background: transparent; }}
QLabel#sectionTitle {{ color: {MUTED}; font-weight: 600; background: transparent; }}
QCheckBox {{ background: transparent; }}
QFrame#card {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 6px; }}
"""


def scaled_font(font: QFont, factor: float, *, bold: bool | None = None) -> QFont:
    """A copy of ``font`` ``factor`` times as big, whether it is sized in points or pixels."""
    scaled = QFont(font)
    if font.pixelSize() > 0:
        scaled.setPixelSize(max(6, round(font.pixelSize() * factor)))
    else:
        scaled.setPointSizeF(max(5.0, font.pointSizeF() * factor))
    if bold is not None:
        scaled.setBold(bold)
    return scaled


def apply_dark_theme(app: QApplication) -> None:
    """Fusion + a dark palette + the stylesheet, so native dialogs match the window too."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: BG, QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: "#12131a", QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.Text: TEXT, QPalette.ColorRole.Button: RAISED,
        QPalette.ColorRole.ButtonText: TEXT, QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: RAISED,
        QPalette.ColorRole.ToolTipText: TEXT, QPalette.ColorRole.PlaceholderText: MUTED,
        QPalette.ColorRole.Link: ACCENT,
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#555a68"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText,
                     QColor("#555a68"))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
