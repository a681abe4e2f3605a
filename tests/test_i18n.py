"""The window in Chinese: under a zh_CN locale (or the Language setting) every menu, button,
dock title and problem the operator sees is Chinese; under English it is English.

Headless (offscreen Qt): the window is built as the operator gets it, and what its widgets
show is read back. The catalog's completeness is checked against the source: every string
handed to ``tr``/``N_`` in studio/ui must have a Chinese entry.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialogButtonBox,
    QDockWidget,
    QLabel,
    QMenu,
    QTabWidget,
    QWidget,
)

from studio.engine.actions import ACTIONS
from studio.engine.commands import NextProduct
from studio.engine.events import Problem
from studio.ui import i18n
from studio.ui.i18n_zh import CATALOG
from studio.ui.interject_panel import PhraseButton
from studio.ui.main_window import StudioWindow
from studio.ui.settings import Settings, SettingsStore
from studio.ui.settings_dialog import SettingsDialog

UI_DIR = Path(__file__).resolve().parents[1] / "studio" / "ui"
CJK = re.compile(r"[\u4e00-\u9fff]")
# What may stay Latin in a Chinese window: brand and format names, units, key names.
ALLOWED_WORDS = re.compile(
    r"\b(?:OBS|AI|LiveHost|MP4|dBFS|fps|kbps|kb/s|Mb/s|px/s|pt|ms|s|Ctrl|Shift|Alt|Meta|"
    r"Esc|Return|Enter|Right|Left|F\d{1,2}|Studio|WebSocket|udp|srt|rtmp|HOST|PORT|APP|KEY|"
    r"CNY|ID|dev|video\d+)\b")
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


pytestmark = pytest.mark.usefixtures("english_after")


def _locale(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    for var in LOCALE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", lang)


def _settings(config_dir: Path, language: str = "system") -> None:
    settings = Settings(language=language)
    settings.audio.enabled = False  # no sound card here: no note about it
    SettingsStore(config_dir).save(settings)


def _window(qtbot: Any) -> StudioWindow:
    window = StudioWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _menu_titles(window: StudioWindow) -> list[str]:
    return [a.text() for a in window.menuBar().actions()]


def _untranslated(text: str) -> bool:
    """Latin words left after the allowed names are taken out: text nobody translated."""
    if CJK.search(text):
        return False
    return re.search(r"[A-Za-z]{2,}", ALLOWED_WORDS.sub("", text.replace("&", ""))) is not None


def _visible_texts(root: QWidget) -> dict[str, str]:
    """Every text a visible action, button, label, dock, tab or combo entry shows."""
    texts: dict[str, str] = {}
    for action in root.findChildren(QAction):
        if action.isVisible() and action.text() and not action.isSeparator():
            texts[f"action {action.objectName() or action.text()}"] = action.text()
            texts[f"tip {action.objectName() or action.text()}"] = action.toolTip()
    for menu in root.findChildren(QMenu):
        if menu.title():
            texts[f"menu {menu.title()}"] = menu.title()
    for button in root.findChildren(QAbstractButton):
        if isinstance(button, PhraseButton):  # what the host says: show content, not UI
            continue
        if button.isVisibleTo(root) and button.text():
            texts[f"button {button.text()}"] = button.text()
            if button.toolTip():
                texts[f"button tip {button.text()}"] = button.toolTip()
    for label in root.findChildren(QLabel):
        if label.isVisibleTo(root) and label.text():
            texts[f"label {label.text()}"] = re.sub(r"<[^>]+>|&nbsp;", " ", label.text())
    for dock in root.findChildren(QDockWidget):
        texts[f"dock {dock.objectName()}"] = dock.windowTitle()
    for tabs in root.findChildren(QTabWidget):
        for i in range(tabs.count()):
            texts[f"tab {tabs.tabText(i)}"] = tabs.tabText(i)
    for combo in root.findChildren(QComboBox):
        for i in range(combo.count()):
            if combo.itemData(i) in ("", "\x00file", "human", "puppet", "system"):
                texts[f"combo {combo.itemText(i)}"] = combo.itemText(i)
    return texts


def test_every_ui_string_has_a_chinese_translation() -> None:
    """Scan studio/ui for tr("…")/N_("…") literals: each one is in the zh_CN catalog."""
    missing: list[str] = []
    fields = re.compile(r"\{(\w+)\}")
    broken: list[str] = []
    count = 0
    for path in sorted(UI_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("tr", "N_") and node.args \
                    and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                text = node.args[0].value
                count += 1
                if text not in CATALOG:
                    missing.append(f"{path.name}: {text!r}")
                elif set(fields.findall(text)) != set(fields.findall(CATALOG[text])):
                    broken.append(f"{path.name}: {text!r} -> {CATALOG[text]!r}")
    assert count > 300
    assert missing == []
    assert broken == []  # a translation fills the same {fields} as its English
    for spec in ACTIONS:  # the engine's action table, translated by id
        i18n.set_language(i18n.CHINESE)
        assert CJK.search(i18n.action_title(spec)), spec.id
        assert CJK.search(i18n.action_description(spec)), spec.id


def test_the_window_is_chinese_under_a_zh_cn_locale(qtbot: Any, config_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _locale(monkeypatch, "zh_CN.UTF-8")
    _settings(config_dir)  # Language: System
    window = _window(qtbot)
    assert window.language == "zh_CN"
    assert _menu_titles(window) == ["文件(&F)", "直播(&S)", "视图(&V)", "设置(&T)", "帮助(&H)"]
    assert window.takeover.button.text() == "未开播\n打开直播脚本即可开播"
    assert [d.windowTitle() for d in window.docks] == ["接管", "商品队列", "提词器", "插话",
                                                       "输出", "OBS"]
    assert window.registry.actions["takeover"].text() == "接管（AI ⇄ 真人）"
    assert window.registry.actions["next_product"].toolTip().startswith("下一个商品 (")
    assert window.queue.model.headerData(2, Qt.Orientation.Horizontal) == "商品"
    window.help_overlay.open()
    assert window.help_overlay.rows["mode_human"] == ("真人出镜", "F10")

    # A command with no show on air: the bridge's own problem, in Chinese.
    assert window.send(NextProduct()) is False
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=5000)
    assert "当前没有正在直播的节目。" in window.banner.text
    assert "请先打开直播脚本" in window.banner.text
    # An engine problem with a code: rendered from the catalog with its arguments.
    window.bridge.problem.emit(Problem(
        "output udp://127.0.0.1:5004 is down: connection refused",
        "the show goes on with the other outputs", code="output.down",
        args=(("name", "udp://127.0.0.1:5004"), ("reason", "connection refused"))))
    qtbot.waitUntil(lambda: "输出 udp://127.0.0.1:5004 出现故障" in window.banner.text,
                    timeout=5000)
    assert "connection refused" in window.banner.text
    assert "直播在其他输出上继续" in window.banner.text
    # An argument that is a word is translated too; an unknown code shows the English.
    window.banner.show_problem(Problem("camera: x disconnected: gone", "fix", code="input.lost",
                                       args=(("name", "camera: x"), ("reason", "gone"),
                                             ("stand_in", "standby"))))
    assert "暂时由待机画面代替" in window.banner.text
    window.banner.show_problem(Problem("something new happened", "do this", code="new.code"))
    assert window.banner.text.endswith("something new happened\ndo this")
    window.banner.show_problem(Problem("no microphone is set", "choose one", "warning",
                                       code="input.no_mic"))

    leftovers = {k: v for k, v in _visible_texts(window).items() if _untranslated(v)}
    assert leftovers == {}
    # Qt's own strings (standard buttons) come from Qt's shipped zh_CN translation.
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "取消"
    # And the catalog answers Qt's own translate() as well (installed as a QTranslator).
    assert QCoreApplication.translate("studio", "Go now") == "立即切换"
    window.help_overlay.hide()
    window.close()


def test_preferences_are_chinese_and_the_language_setting_persists(
        qtbot: Any, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _locale(monkeypatch, "en_US.UTF-8")
    _settings(config_dir)
    window = _window(qtbot)
    assert window.language == "en"
    assert _menu_titles(window) == ["&File", "&Show", "&View", "Se&ttings", "&Help"]
    assert window.takeover.button.text() == "NO SHOW ON AIR\nopen a show to go live"
    assert [d.windowTitle() for d in window.docks][:3] == ["Takeover", "Run-down",
                                                           "Teleprompter"]

    dialog = window.open_preferences()
    assert isinstance(dialog, SettingsDialog)
    qtbot.addWidget(dialog)
    assert [dialog.language.itemData(i) for i in range(dialog.language.count())] == [
        "system", "en", "zh_CN"]
    assert dialog.language.itemText(2) == "简体中文"
    dialog.language.setCurrentIndex(dialog.language.findData("zh_CN"))
    dialog.accept()
    assert window.settings.language == "zh_CN"
    assert "The language changes when the studio starts again." in window.notes
    window.close()
    assert SettingsStore(config_dir).load().language == "zh_CN"

    again = _window(qtbot)  # English locale, Chinese setting: the setting wins
    assert again.language == "zh_CN"
    assert _menu_titles(again)[0] == "文件(&F)"
    prefs = again.open_preferences()
    assert isinstance(prefs, SettingsDialog)
    qtbot.addWidget(prefs)
    prefs.show()
    qtbot.waitExposed(prefs)
    assert prefs.windowTitle() == "偏好设置"
    assert [prefs.tabs.tabText(i) for i in range(prefs.tabs.count())] == [
        "常规", "快捷键", "快捷话术", "输出", "音频", "输入", "OBS"]
    buttons = prefs.findChild(QDialogButtonBox)
    assert buttons is not None
    assert {b.text() for b in buttons.buttons()} == {"确定", "取消"}
    leftovers = {}
    for i in range(prefs.tabs.count()):
        prefs.tabs.setCurrentIndex(i)
        leftovers.update({k: v for k, v in _visible_texts(prefs).items() if _untranslated(v)})
    # The quick phrases are what the host says (show content), not window text.
    assert leftovers == {}
    prefs.reject()
    again.close()

    # And back: the English setting wins over a Chinese locale.
    _locale(monkeypatch, "zh_CN.UTF-8")
    store = SettingsStore(config_dir)
    settings = store.load()
    settings.language = "en"
    store.save(settings)
    english = _window(qtbot)
    assert english.language == "en"
    assert english.takeover_dock.windowTitle() == "Takeover"
    english.close()


def test_an_old_settings_file_gains_the_language_and_a_bad_value_resets(
        tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"schema_version": 4, "recent_files": ["/a.toml"]}', encoding="utf-8")
    store = SettingsStore(tmp_path)
    loaded = store.load()
    assert store.warnings == [] and loaded.language == "system"
    assert loaded.recent_files == ["/a.toml"]
    path.write_text('{"schema_version": 5, "language": "klingon"}', encoding="utf-8")
    assert store.load().language == "system"
    assert any("language" in w for w in store.warnings)


def test_a_mandarin_show_gets_mandarin_quick_phrases_and_keeps_the_operators_own(
        qtbot: Any, config_dir: Path) -> None:
    from studio.engine.actions import DEFAULT_QUICK_PHRASES, DEFAULT_QUICK_PHRASES_ZH
    from studio.show.loader import load_show

    settings = Settings(language="en")
    settings.audio.enabled = False
    settings.quick_phrases[1] = "Link 7 is live now!"  # the operator's own: said as written
    SettingsStore(config_dir).save(settings)
    window = _window(qtbot)
    shown = [b.toolTip().split("\n")[0] for b in window.interject.phrase_buttons]
    assert shown[0] == DEFAULT_QUICK_PHRASES[0]  # no show: the defaults as they are
    root = Path(__file__).resolve().parents[1] / "assets" / "shows"
    window.saved_show = load_show(root / "demo_zh" / "demo_zh.toml")
    window.apply_settings_keys()
    shown = [b.toolTip().split("\n")[0] for b in window.interject.phrase_buttons]
    assert shown[0] == DEFAULT_QUICK_PHRASES_ZH[0] and CJK.search(shown[0])
    assert shown[1] == "Link 7 is live now!"
    assert window.quick_phrases()[2:] == list(DEFAULT_QUICK_PHRASES_ZH[2:])
    window.saved_show = load_show(root / "demo" / "demo.toml")
    assert window.quick_phrases()[0] == DEFAULT_QUICK_PHRASES[0]
    window.close()
