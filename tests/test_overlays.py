"""Product card and AI label overlays: shapes, colours, CJK glyphs and the label's legal size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFont
from skimage import data

from studio.compose import fonts
from studio.compose.card import (
    discount_percent,
    fit_ellipsis,
    render_product_card,
    wrap_text,
)
from studio.compose.label import (
    AI_LABEL_TEXT,
    label_text_box_px,
    render_ai_label,
)
from studio.core.errors import DependencyError, UserInputError
from studio.show.model import Product

ACCENT = "#ff2d55"
ACCENT_RGB = np.array([0xFF, 0x2D, 0x55])
CARD_W, CARD_H = 400, 580


def product(**overrides: object) -> Product:
    fields: dict[str, object] = {
        "id": "p1", "name": "Noise-Cancelling Headphones", "price": 999.0, "currency": "USD",
        "original_price": 1299.0, "selling_points": ["40-hour battery", "Bluetooth 5.3"],
        "script": "Look at these.",
    }
    fields.update(overrides)
    return Product.model_validate(fields)


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("img") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


def accent_pixels(rgba: np.ndarray, tolerance: int = 40) -> np.ndarray:
    """Opaque pixels within ``tolerance`` (per channel) of the accent colour."""
    near = np.abs(rgba[..., :3].astype(int) - ACCENT_RGB).max(axis=-1) <= tolerance
    return near & (rgba[..., 3] > 200)


# --- fonts --------------------------------------------------------------------------------


def test_cjk_font_draws_real_distinct_glyphs() -> None:
    font = fonts.load_font(48)
    wu, xian = font.getmask("无"), font.getmask("线")
    notdef = font.getmask("\U0010fffd")
    assert max(bytes(wu)) > 200, "无 has no ink"
    assert bytes(wu) != bytes(xian), "two different hanzi draw the same glyph (tofu)"
    assert (wu.size, bytes(wu)) != (notdef.size, bytes(notdef)), "无 draws .notdef"
    assert fonts.draws_cjk(font) and fonts.draws_cjk(fonts.load_font(48, bold=True))
    family = font.getname()[0]
    assert family is not None
    assert "SC" in family or not str(fonts.find_cjk_fonts().regular).endswith(".ttc")


def test_latin_only_font_is_rejected_as_cjk() -> None:
    assert not fonts.draws_cjk(ImageFont.load_default(size=24))


def test_load_font_is_cached() -> None:
    assert fonts.load_font(30, bold=True) is fonts.load_font(30, bold=True)


@pytest.fixture
def fresh_font_caches() -> Iterator[None]:
    fonts.clear_font_caches()
    yield
    fonts.clear_font_caches()


def test_missing_cjk_font_raises_dependency_error(monkeypatch: pytest.MonkeyPatch,
                                                   fresh_font_caches: None) -> None:
    monkeypatch.setattr(fonts, "_candidate_pairs", lambda: iter(()))
    with pytest.raises(DependencyError, match="fonts-noto-cjk"):
        fonts.find_cjk_fonts()
    with pytest.raises(DependencyError, match="apt-get install fonts-noto-cjk"):
        render_ai_label(1280, 720 + 1)  # an uncached size, so it must load a font


def test_font_dir_env_is_honoured_and_latin_fonts_skipped(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path,
                                                          fresh_font_caches: None) -> None:
    real = fonts.find_cjk_fonts()
    fonts.clear_font_caches()
    (tmp_path / "AAA-Regular.ttf").write_bytes(b"not a font")
    (tmp_path / "MyCJK-Regular").with_suffix(real.regular.suffix).symlink_to(real.regular)
    monkeypatch.setenv(fonts.FONT_DIR_ENV, str(tmp_path))
    found = fonts.find_cjk_fonts()
    assert found.regular.parent == tmp_path and found.regular.name.startswith("MyCJK")
    assert found.bold == found.regular  # no bold in that folder: regular stands in


# --- card ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("width_px", "height_px"),
                         [(400, 580), (600, 870), (240, 360), (619, 384), (929, 576)])
def test_card_shape_dtype_and_transparent_corners(width_px: int, height_px: int) -> None:
    card = render_product_card(product(), None, ACCENT, width_px, height_px)
    assert card.shape == (height_px, width_px, 4) and card.dtype == np.uint8
    for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        assert card[y, x, 3] == 0
    assert card[..., 3].max() == 255  # an opaque panel exists
    assert card.flags.writeable


def test_price_is_drawn_in_the_accent_colour() -> None:
    cheap = render_product_card(product(price=9.0, original_price=None), None, ACCENT,
                                CARD_W, CARD_H)
    dear = render_product_card(product(price=8888888.0, original_price=None), None, ACCENT,
                               CARD_W, CARD_H)
    changed = np.abs(cheap.astype(int) - dear.astype(int)).max(axis=-1) > 60
    assert changed.sum() > 300, "the price barely changed the card"
    price_pixels = accent_pixels(dear) & changed
    assert price_pixels.sum() > 0.3 * changed.sum()


@pytest.mark.parametrize(("width_px", "height_px"), [(CARD_W, CARD_H), (619, 384)])
def test_product_image_appears_in_the_card(astronaut_png: Path, width_px: int,
                                           height_px: int) -> None:
    """Both layouts: tall (landscape frames) and the wide strip of portrait frames."""
    with_image = render_product_card(product(), astronaut_png, ACCENT, width_px, height_px)
    placeholder = render_product_card(product(), None, ACCENT, width_px, height_px)
    diff = np.abs(with_image.astype(int) - placeholder.astype(int)).max(axis=-1) > 30
    ys, xs = np.nonzero(diff)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    assert abs((bottom - top) - (right - left)) <= 3, "the image area is not square"
    assert right - left > 0.3 * width_px
    # The astronaut is square, so a cover crop is a plain resize: compare the lower-right
    # interior (away from the rounded corners and the "now presenting" tag).
    expected = np.asarray(Image.fromarray(data.astronaut()).resize(
        (right - left, bottom - top), Image.Resampling.LANCZOS), dtype=int)
    got = with_image[top:bottom, left:right, :3].astype(int)
    h, w = got.shape[:2]
    region = (slice(h // 3, h - h // 10), slice(w // 10, w - w // 10))
    assert np.abs(got[region] - expected[region]).mean() < 8


def test_discount_adds_strikethrough_and_badge() -> None:
    with_discount = render_product_card(product(), None, ACCENT, CARD_W, CARD_H)
    without = render_product_card(product(original_price=None), None, ACCENT, CARD_W, CARD_H)
    assert accent_pixels(with_discount).sum() > accent_pixels(without).sum() + 200
    grey = np.array([148, 150, 158])
    def grey_pixels(rgba: np.ndarray) -> int:
        return int((np.abs(rgba[..., :3].astype(int) - grey).max(axis=-1) <= 12).sum())
    assert grey_pixels(with_discount) > grey_pixels(without) + 100
    assert discount_percent(999.0, 1299.0) == 23
    assert discount_percent(999.0, None) is None
    assert discount_percent(999.0, 999.5) is None  # rounds to 0%: no badge


def test_chinese_name_renders_ink() -> None:
    short = render_product_card(product(name="Pro"), None, ACCENT, CARD_W, CARD_H)
    cjk = render_product_card(product(name="无线降噪耳机 Pro"), None, ACCENT, CARD_W, CARD_H)
    dark = np.array([22, 23, 28])
    def dark_pixels(rgba: np.ndarray) -> int:
        return int((np.abs(rgba[..., :3].astype(int) - dark).max(axis=-1) <= 40).sum())
    assert dark_pixels(cjk) > dark_pixels(short) + 400


def test_card_fits_many_points_in_a_short_card(astronaut_png: Path) -> None:
    busy = product(name="名" * 80, selling_points=[f"卖点 {i} " + "很长" * 20 for i in range(6)],
                   price=123456789.0, original_price=987654321.0, currency="CNY")
    for width_px, height_px in ((300, 340), (300, 200), (160, 120)):
        card = render_product_card(busy, astronaut_png, "#ffe600", width_px, height_px)
        assert card.shape == (height_px, width_px, 4) and card[0, 0, 3] == 0


def test_card_rejects_bad_input(astronaut_png: Path, tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="accent"):
        render_product_card(product(), None, "red", CARD_W, CARD_H)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(UserInputError, match=r"broken\.png"):
        render_product_card(product(), broken, ACCENT, CARD_W, CARD_H)
    with pytest.raises(UserInputError):
        render_product_card(product(), None, ACCENT, 100, 50)


def test_wrap_text_two_lines_with_ellipsis() -> None:
    font = fonts.load_font(20, bold=True)
    lines = wrap_text("无线降噪耳机 Pro 官方旗舰店 " * 6, font, 200, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 200 for line in lines)
    assert wrap_text("Short name", font, 200, 2) == ["Short name"]
    words = wrap_text("Noise Cancelling Headphones Extra", font, 150, 5)
    assert len(words) > 1
    assert all(not line.startswith(" ") for line in words)
    assert " ".join(words) == "Noise Cancelling Headphones Extra"
    assert fit_ellipsis("x" * 100, font, 60).endswith("…")


# --- AI label -----------------------------------------------------------------------------

FRAMES = [(1280, 720), (1920, 1080), (720, 1280), (640, 360)]


def _text_ink(label: np.ndarray) -> np.ndarray:
    """White text over the dark pill: bright, (nearly) opaque pixels are ink."""
    return (label[..., :3].min(axis=-1) >= 128) & (label[..., 3] >= 128)


@pytest.mark.parametrize(("frame_w", "frame_h"), FRAMES)
def test_ai_label_is_at_least_five_percent_of_short_side(frame_w: int, frame_h: int) -> None:
    label, _ = render_ai_label(frame_w, frame_h)
    min_px = 0.05 * min(frame_w, frame_h)
    ink = _text_ink(label)
    rows = np.flatnonzero(ink.any(axis=1))
    assert rows[-1] - rows[0] + 1 >= min_px  # whole text ink
    # Cap height of the first glyph, "A": the first run of inked columns.
    cols = np.flatnonzero(ink.any(axis=0))
    gaps = np.flatnonzero(np.diff(cols) > 1)
    a_cols = cols[: gaps[0] + 1]
    a_rows = np.flatnonzero(ink[:, a_cols].any(axis=1))
    assert a_rows[-1] - a_rows[0] + 1 >= min_px


@pytest.mark.parametrize(("frame_w", "frame_h"), FRAMES)
def test_ai_label_placement_and_text_box(frame_w: int, frame_h: int) -> None:
    label, (x, y) = render_ai_label(frame_w, frame_h)
    h, w = label.shape[:2]
    assert label.dtype == np.uint8 and label.shape[2] == 4
    assert x > 0 and y > 0 and x + w <= frame_w and y + h <= frame_h
    assert x < 0.1 * frame_w and y < 0.1 * frame_h  # top-left corner area
    tx, ty, tw, th = label_text_box_px(frame_w, frame_h)
    assert x <= tx and y <= ty and tx + tw <= x + w and ty + th <= y + h
    assert th >= 0.05 * min(frame_w, frame_h)
    # The box is the ink: it holds all of the bright pixels and hugs them (edges are
    # anti-aliased, so solid ink may start a pixel inside the box).
    ink = _text_ink(label)
    inside = ink[ty - y: ty - y + th, tx - x: tx - x + tw]
    assert inside.sum() == ink.sum()
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    assert rows[0] <= 1 and rows[-1] >= th - 2 and cols[0] <= 1 and cols[-1] >= tw - 2
    # The pill is dark and semi-opaque where there is no text.
    assert 100 <= label[h // 2, 2, 3] <= 220 or 100 <= label[h // 2, w // 2, 3] <= 220
    assert label[0, 0, 3] < 40  # rounded: the corner is (nearly) transparent


def test_ai_label_text_is_the_mandated_text() -> None:
    assert AI_LABEL_TEXT == "AI-generated · AI生成"
    first, _ = render_ai_label(1280, 720)
    first[:] = 0  # callers get their own copy: the cache must not be damaged
    again, _ = render_ai_label(1280, 720)
    assert again.any()
