"""Shared fixtures: show files written into tmp folders, the real Piper voice loaded once."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("EGL_PLATFORM", "surfaceless")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "LIVEHOST_AS_RUN_DIR" not in os.environ:  # runs in tests keep their as-run logs to the suite
    import tempfile

    os.environ["LIVEHOST_AS_RUN_DIR"] = tempfile.mkdtemp(prefix="livehost-as-run-")

MINIMAL_SHOW = """
[show]
title = "Test Show"
language = "en"

[host]
voice = "en_US-joe-medium"

[[products]]
id = "mug"
name = "Coffee Mug"
price = 39.9
currency = "CNY"
script = "This mug costs ¥39.9 today."
"""


@pytest.fixture
def write_show(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "show.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def piper_voice():  # type: ignore[no-untyped-def]
    from studio.voice.piper_tts import PiperTTS

    return PiperTTS("en_US-joe-medium")


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The window's settings folder, empty, for this test only."""
    directory = tmp_path / "config"
    monkeypatch.setenv("LIVEHOST_CONFIG_DIR", str(directory))
    return directory


@pytest.fixture
def english_after() -> Iterator[None]:
    """Leave the process in English for the other UI tests, whatever a test switched to."""
    from studio.ui import i18n

    yield
    i18n.set_language(i18n.ENGLISH)
