"""The live-commerce product card: image, name, price, discount and selling points.

Rendered once per product (not per frame) with Pillow, at 2x and downscaled with LANCZOS so
every edge is anti-aliased, then handed to the GPU compositor as a straight-alpha RGBA
texture. Sizes derive from the card width (a "unit" is width/400), so the same design
works at 720p and 1080p; when the height is short the image shrinks first, then the list of
selling points, so text never overflows the panel. Wide, short areas (the bottom strip of
a portrait frame) get a horizontal variant whose type is sized from the height.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from studio.compose.fonts import PROPORTIONAL_FEATURES, load_font
from studio.core.errors import UserInputError
from studio.show.loader import IMAGE_FIX
from studio.show.model import CURRENCY_SYMBOLS, ZERO_DECIMAL_CURRENCIES, Product, format_price

RGB = tuple[int, int, int]

SUPERSAMPLE = 2
DESIGN_WIDTH_PX = 400.0  # sizes below are in px at this card width
HORIZONTAL_ASPECT = 1.15  # wider than this (width / height): image left, text right
HORIZONTAL_DESIGN_HEIGHT_PX = 290.0
MAX_SELLING_POINTS = 4
TAG_TEXT = "正在讲解 · NOW PRESENTING"
ELLIPSIS = "…"

PANEL_RGB: RGB = (255, 255, 255)
NAME_RGB: RGB = (22, 23, 28)
BODY_RGB: RGB = (64, 67, 76)
MUTED_RGB: RGB = (148, 150, 158)
DIVIDER_RGB: RGB = (236, 237, 241)
WHITE: RGB = (255, 255, 255)
INK_DARK: RGB = (20, 20, 24)

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
# One CJK character (or fullwidth form) is a line-break opportunity on its own.
_TOKEN = re.compile(
    r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]\s*|[^\s\u2e80-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+\s*|\s+")


def hex_to_rgb(color: str) -> RGB:
    """``"#ff2d55"`` -> (255, 45, 85)."""
    if not _HEX.match(color):
        raise UserInputError(f"expected an accent colour like \"#ff2d55\", got {color!r}")
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _luminance(rgb: RGB) -> float:
    """WCAG relative luminance."""
    def lin(c: int) -> float:
        v = c / 255.0
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def _contrast(a: RGB, b: RGB) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    """``a`` moved a fraction ``t`` toward ``b``."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t),
            round(a[2] + (b[2] - a[2]) * t))


def readable_on_white(accent: RGB, min_contrast: float = 3.0) -> RGB:
    """The accent, darkened just enough to read as large text on the white panel."""
    color = accent
    for _ in range(20):
        if _contrast(color, PANEL_RGB) >= min_contrast:
            break
        color = _mix(color, (0, 0, 0), 0.08)
    return color


def fit_ellipsis(text: str, font: ImageFont.FreeTypeFont, max_width_px: float) -> str:
    """``text`` cut to fit ``max_width_px``, with an ellipsis when cut."""
    if font.getlength(text) <= max_width_px:
        return text
    while text and font.getlength(text.rstrip() + ELLIPSIS) > max_width_px:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width_px: float,
              max_lines: int) -> list[str]:
    """Greedy wrap: Latin breaks between words, CJK between characters; the last kept line
    ends in an ellipsis when text was dropped."""
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(" ".join(text.split())):
        candidate = line + token
        if font.getlength(candidate.rstrip()) <= max_width_px or not line.strip():
            line = candidate
        else:
            lines.append(line.rstrip())
            line = token.lstrip()
        # A single word wider than the line: break it by character.
        while font.getlength(line.rstrip()) > max_width_px and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and font.getlength(line[:cut]) > max_width_px:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        kept = lines[:max_lines]
        kept[-1] = fit_ellipsis(kept[-1] + ELLIPSIS, font, max_width_px)
        if not kept[-1].endswith(ELLIPSIS):
            kept[-1] = fit_ellipsis(kept[-1], font, max_width_px - font.getlength(ELLIPSIS))
            kept[-1] += ELLIPSIS
        return kept
    return lines


def _split_price(amount: float, currency: str) -> tuple[str, str, str]:
    """("¥", "1,299", ".00"): the symbol and decimals are drawn smaller than the integer."""
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    number = format_price(amount, currency)[len(symbol):]
    if currency in ZERO_DECIMAL_CURRENCIES or "." not in number:
        return symbol.strip(), number, ""
    whole, decimals = number.rsplit(".", 1)
    return symbol.strip(), whole, "." + decimals


def discount_percent(price: float, original_price: float | None) -> int | None:
    """Whole-percent saving for the badge; None when there is no (visible) discount."""
    if original_price is None or original_price <= price:
        return None
    percent = round(100.0 * (1.0 - price / original_price))
    return percent if percent >= 1 else None


def _load_product_image(image_path: Path, side_px: int) -> Image.Image:
    """The image cover-cropped to a ``side_px`` square (centre crop), on white if it has alpha."""
    try:
        with Image.open(image_path) as source:
            source.draft("RGB", (side_px, side_px))  # JPEG: decode at reduced size, much faster
            image = source.convert("RGBA")
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error…
        raise UserInputError(f"cannot read the product image {image_path} ({exc}); "
                             f"{IMAGE_FIX}") from exc
    backdrop = Image.new("RGBA", image.size, (*PANEL_RGB, 255))
    image = Image.alpha_composite(backdrop, image).convert("RGB")
    w, h = image.size
    crop = min(w, h)
    box = ((w - crop) / 2, (h - crop) / 2, (w + crop) / 2, (h + crop) / 2)
    return image.resize((side_px, side_px), Image.Resampling.LANCZOS, box=box,
                        reducing_gap=3.0)


def _rounded_mask(size_px: tuple[int, int], radius_px: int) -> Image.Image:
    mask = Image.new("L", size_px, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size_px[0] - 1, size_px[1] - 1),
                                           radius=radius_px, fill=255)
    return mask


@dataclass(frozen=True)
class _Fonts:
    name: ImageFont.FreeTypeFont
    price_big: ImageFont.FreeTypeFont
    price_small: ImageFont.FreeTypeFont
    original: ImageFont.FreeTypeFont
    badge: ImageFont.FreeTypeFont
    point: ImageFont.FreeTypeFont
    tag: ImageFont.FreeTypeFont
    initial: ImageFont.FreeTypeFont


class _Card:
    """One render: layout in supersampled pixels, then drawing."""

    def __init__(self, product: Product, image_path: Path | None, accent: RGB,
                 width_px: int, height_px: int,
                 on_image_problem: Callable[[str], None] | None = None) -> None:
        self.product = product
        self.image_path = image_path
        self.on_image_problem = on_image_problem
        self.accent = accent
        self.accent_text = readable_on_white(accent)
        self.on_accent = WHITE if _contrast(WHITE, accent) >= 2.2 else INK_DARK
        self.width_px, self.height_px = width_px, height_px
        self.horizontal = width_px > height_px * HORIZONTAL_ASPECT
        design_scale = width_px / DESIGN_WIDTH_PX
        if self.horizontal:  # a wide strip: its height, not its width, limits the type size
            design_scale = min(design_scale, height_px / HORIZONTAL_DESIGN_HEIGHT_PX)
        self.unit = design_scale * SUPERSAMPLE  # 1 design px, supersampled

    def u(self, design_px: float) -> int:
        return max(1, round(design_px * self.unit))

    def fonts(self, price_scale: float = 1.0) -> _Fonts:
        u = self.u
        return _Fonts(
            name=load_font(u(18), bold=True),
            price_big=load_font(u(40 * price_scale), bold=True),
            price_small=load_font(u(21 * price_scale), bold=True),
            original=load_font(u(15)),
            badge=load_font(u(13), bold=True),
            point=load_font(u(14.5)),
            tag=load_font(u(11), bold=True),
            initial=load_font(u(96), bold=True),
        )

    def render(self) -> npt.NDArray[np.uint8]:
        u = self.u
        big_w, big_h = self.width_px * SUPERSAMPLE, self.height_px * SUPERSAMPLE
        side_m, top_m, bottom_m = u(14), u(10), u(22)
        panel_x0, panel_x1 = side_m, big_w - side_m
        pad = u(18)
        inner_w = panel_x1 - panel_x0 - 2 * pad
        available_h = big_h - top_m - bottom_m
        # Wide areas (the portrait layout's bottom strip) put the image left of the text.
        image_side = min(available_h - 2 * pad, round(inner_w * 0.4)) if self.horizontal else 0
        text_w = inner_w - image_side - u(16) if self.horizontal else inner_w

        fonts = self.fonts()
        price_parts = _split_price(self.product.price, self.product.currency)
        scale = 1.0
        while self._price_width(fonts, price_parts) > text_w and scale > 0.4:
            scale -= 0.05
            fonts = self.fonts(scale)

        name_lines = wrap_text(self.product.name, fonts.name, text_w, 2)
        name_line_h = round(fonts.name.size * 1.32)
        percent = discount_percent(self.product.price, self.product.original_price)
        original_text = (None if self.product.original_price is None
                         else format_price(self.product.original_price, self.product.currency))
        extras_w = self._extras_width(fonts, original_text, percent)
        price_w = self._price_width(fonts, price_parts)
        extras_inline = extras_w == 0 or price_w + u(10) + extras_w <= text_w
        price_cap_h = self._cap_height(fonts.price_big)
        price_row_h = price_cap_h + u(6)
        extras_row_h = 0 if extras_inline else u(28)
        point_row_h = u(27)
        points = list(self.product.selling_points[:MAX_SELLING_POINTS])

        def text_h(n_points: int) -> int:
            h = len(name_lines) * name_line_h + u(10) + price_row_h + extras_row_h
            if n_points:
                h += u(16) + 1 + u(12) + n_points * point_row_h - u(4)
            return h

        if self.horizontal:
            while points and text_h(len(points)) > available_h - 2 * pad:
                points.pop()
            panel_h = min(available_h, max(text_h(len(points)), image_side) + 2 * pad)
            image_side = min(image_side, panel_h - 2 * pad)
            with_image = image_side >= u(40)
            text_x = panel_x0 + pad + (image_side + u(16) if with_image else 0)
            text_w = panel_x1 - pad - text_x
        else:
            # The image gives way first, then selling points; it keeps >= 45% of the width.
            def fixed_h(n_points: int) -> int:
                return 2 * pad + u(14) + text_h(n_points)
            min_image = round(inner_w * 0.45)
            while points and available_h - fixed_h(len(points)) < min_image:
                points.pop()
            image_side = min(inner_w, available_h - fixed_h(len(points)))
            with_image = image_side >= u(40)
            if not with_image:
                image_side = 0
            panel_h = min(available_h, 2 * pad + text_h(len(points))
                          + (image_side + u(14) if with_image else 0))
            text_x = panel_x0 + pad
        panel_y1 = big_h - bottom_m
        panel_y0 = panel_y1 - panel_h

        canvas = Image.new("RGB", (big_w, big_h), PANEL_RGB)
        draw = ImageDraw.Draw(canvas)
        y = panel_y0 + pad
        if with_image and self.horizontal:
            self._draw_image(canvas, fonts, panel_x0 + pad, y, image_side)
            y += max(0, (panel_h - 2 * pad - text_h(len(points))) // 2)  # centre the text
        elif with_image:
            image_x = panel_x0 + pad + (inner_w - image_side) // 2
            self._draw_image(canvas, fonts, image_x, y, image_side)
            y += image_side + u(14)
        x = text_x
        for line in name_lines:
            draw.text((x, y + round(name_line_h * 0.5)), line, font=fonts.name, fill=NAME_RGB,
                      anchor="lm")
            y += name_line_h
        y += u(10)
        baseline = y + price_cap_h + u(2)
        end_x = self._draw_price(draw, fonts, x, baseline, price_parts)
        if extras_w:
            if extras_inline:
                self._draw_extras(draw, fonts, end_x + u(10), baseline, original_text, percent)
            else:
                self._draw_extras(draw, fonts, x, baseline + extras_row_h, original_text,
                                  percent)
        y += price_row_h + extras_row_h
        if points:
            y += u(16)
            draw.rectangle((x, y, x + text_w, y + max(1, u(1)) - 1), fill=DIVIDER_RGB)
            y += u(12)
            for point in points:
                self._draw_point(draw, fonts, x, y, text_w, point)
                y += point_row_h

        panel_mask = _rounded_mask((panel_x1 - panel_x0, panel_h), u(22))
        mask = Image.new("L", (big_w, big_h), 0)
        mask.paste(panel_mask, (panel_x0, panel_y0))
        out_size = (self.width_px, self.height_px)
        # Outside the panel the canvas is white, so its edge pixels need no premultiplying.
        rgb = np.asarray(canvas.resize(out_size, Image.Resampling.LANCZOS), dtype=np.float32)
        panel_a = np.asarray(mask.resize(out_size, Image.Resampling.LANCZOS),
                             dtype=np.float32) / 255.0
        shadow_a = self._shadow_alpha(mask)
        # Straight-alpha "over" of the panel onto a black shadow.
        out_a = panel_a + shadow_a * (1.0 - panel_a)
        out_rgb = rgb * (panel_a / np.maximum(out_a, 1e-6))[..., None]
        out = np.empty((self.height_px, self.width_px, 4), dtype=np.uint8)
        out[..., :3] = np.clip(out_rgb, 0, 255).round()
        out[..., 3] = np.clip(out_a * 255.0, 0, 255).round()
        return out

    # --- pieces -------------------------------------------------------------------------

    @staticmethod
    def _cap_height(font: ImageFont.FreeTypeFont) -> int:
        _, top, _, bottom = font.getbbox("8", anchor="ls")
        return int(bottom - top)

    def _price_width(self, fonts: _Fonts, parts: tuple[str, str, str]) -> float:
        symbol, whole, decimals = parts
        return (fonts.price_small.getlength(symbol) + self.u(2)
                + fonts.price_big.getlength(whole) + fonts.price_small.getlength(decimals))

    def _extras_width(self, fonts: _Fonts, original: str | None, percent: int | None) -> int:
        width = 0.0
        if original is not None:
            width += fonts.original.getlength(original)
        if percent is not None:
            width += self.u(8) + fonts.badge.getlength(f"-{percent}%") + 2 * self.u(7)
        return math.ceil(width)

    def _draw_price(self, draw: ImageDraw.ImageDraw, fonts: _Fonts, x: int, baseline: int,
                    parts: tuple[str, str, str]) -> int:
        symbol, whole, decimals = parts
        color = self.accent_text
        draw.text((x, baseline), symbol, font=fonts.price_small, fill=color, anchor="ls")
        x += round(fonts.price_small.getlength(symbol)) + self.u(2)
        draw.text((x, baseline), whole, font=fonts.price_big, fill=color, anchor="ls")
        x += round(fonts.price_big.getlength(whole))
        if decimals:
            draw.text((x, baseline), decimals, font=fonts.price_small, fill=color, anchor="ls")
            x += round(fonts.price_small.getlength(decimals))
        return x

    def _draw_extras(self, draw: ImageDraw.ImageDraw, fonts: _Fonts, x: int, baseline: int,
                     original: str | None, percent: int | None) -> None:
        """The struck-through old price in grey, then the accent "-23%" badge."""
        u = self.u
        if original is not None:
            draw.text((x, baseline), original, font=fonts.original, fill=MUTED_RGB, anchor="ls")
            width = round(fonts.original.getlength(original))
            strike_y = baseline - round(self._cap_height(fonts.original) * 0.42)
            draw.line((x - u(1), strike_y, x + width + u(1), strike_y), fill=MUTED_RGB,
                      width=max(1, u(1.4)))
            x += width + u(8)
        if percent is not None:
            text = f"-{percent}%"
            cap = self._cap_height(fonts.badge)
            h = cap + 2 * u(6)
            w = round(fonts.badge.getlength(text)) + 2 * u(7)
            top = baseline - round(self._cap_height(fonts.original) * 0.5) - h // 2
            draw.rounded_rectangle((x, top, x + w, top + h), radius=h // 2, fill=self.accent)
            draw.text((x + w / 2, top + h / 2), text, font=fonts.badge, fill=self.on_accent,
                      anchor="mm")

    def _draw_point(self, draw: ImageDraw.ImageDraw, fonts: _Fonts, x: int, y: int,
                    inner_w: int, text: str) -> None:
        """A tinted circle with an accent tick, then the point on one line."""
        u = self.u
        d = u(17)
        cy = y + u(11)
        draw.ellipse((x, cy - d / 2, x + d, cy + d / 2), fill=_mix(self.accent, WHITE, 0.86))
        tick = [(x + d * 0.28, cy + d * 0.02), (x + d * 0.44, cy + d * 0.18),
                (x + d * 0.73, cy - d * 0.16)]
        draw.line(tick, fill=self.accent_text, width=max(1, u(2.1)), joint="curve")
        text_x = x + d + u(9)
        line = fit_ellipsis(text, fonts.point, inner_w - (text_x - x))
        draw.text((text_x, cy), line, font=fonts.point, fill=BODY_RGB, anchor="lm")

    def _draw_image(self, canvas: Image.Image, fonts: _Fonts, x: int, y: int,
                    side: int) -> None:
        u = self.u
        radius = u(14)
        tile = None
        if self.image_path is not None:
            try:
                tile = _load_product_image(self.image_path, side)
            except UserInputError as exc:
                if self.on_image_problem is None:  # a render refuses the show
                    raise
                self.on_image_problem(str(exc))  # live: the card, as if it had no image
        if tile is None:
            tile = self._placeholder(fonts, side)
        canvas.paste(tile, (x, y), _rounded_mask((side, side), radius))
        self._draw_tag(ImageDraw.Draw(canvas), fonts, x + u(9), y + u(9), side - 2 * u(9))

    def _placeholder(self, fonts: _Fonts, side: int) -> Image.Image:
        """A soft accent-tinted gradient with the product's initial: no image, no empty hole."""
        t = np.linspace(0.0, 1.0, 32, dtype=np.float32)  # a smooth ramp: upscaled below
        ramp = (t[None, :] + t[:, None]) / 2.0
        top = np.array(_mix(self.accent, WHITE, 0.93), dtype=np.float32)
        bottom = np.array(_mix(self.accent, WHITE, 0.80), dtype=np.float32)
        pixels = top + (bottom - top) * ramp[..., None]
        tile = Image.fromarray(pixels.round().astype(np.uint8), "RGB").resize(
            (side, side), Image.Resampling.BICUBIC)
        initial = self.product.name.strip()[:1].upper() or "?"
        font = fonts.initial
        if side < font.size * 1.6:
            font = load_font(max(8, round(side / 1.6)), bold=True)
        ImageDraw.Draw(tile).text((side / 2, side / 2), initial, font=font,
                                  fill=_mix(self.accent, WHITE, 0.45), anchor="mm")
        return tile

    def _draw_tag(self, draw: ImageDraw.ImageDraw, fonts: _Fonts, x: int, y: int,
                  max_w: int) -> None:
        """The "正在讲解 · NOW PRESENTING" pill: a live dot and the tag in the accent colour."""
        u = self.u
        cap = self._cap_height(fonts.tag)
        h = cap + 2 * u(7)
        dot = u(6)
        text_w = fonts.tag.getlength(TAG_TEXT, features=PROPORTIONAL_FEATURES)
        text = TAG_TEXT
        if text_w > max_w - (2 * u(9) + dot + u(6)):
            text = TAG_TEXT.split(" · ")[0]  # narrow image: the Chinese half alone
            text_w = fonts.tag.getlength(text)
        w = u(9) + dot + u(6) + round(text_w) + u(10)
        draw.rounded_rectangle((x, y, x + w, y + h), radius=h // 2, fill=self.accent)
        cy = y + h / 2
        draw.ellipse((x + u(9), cy - dot / 2, x + u(9) + dot, cy + dot / 2), fill=self.on_accent)
        draw.text((x + u(9) + dot + u(6), cy), text, font=fonts.tag, fill=self.on_accent,
                  anchor="lm", features=PROPORTIONAL_FEATURES)

    def _shadow_alpha(self, big_mask: Image.Image) -> npt.NDArray[np.float32]:
        """Two stacked black shadows, a tight contact one and a soft offset one, in [0, 1].

        Blurred at half the output size: a shadow has no detail, and blur is the slow part.
        """
        factor = 2 * SUPERSAMPLE
        small = big_mask.reduce(factor)
        unit = self.unit / SUPERSAMPLE / 2.0
        alpha = np.zeros((small.height, small.width), dtype=np.float32)
        for offset_y, blur, strength in ((1.0, 1.5, 0.10), (6.0, 7.0, 0.20)):
            shifted = Image.new("L", small.size, 0)
            shifted.paste(small, (0, round(offset_y * unit)))
            blurred = shifted.filter(ImageFilter.GaussianBlur(blur * unit))
            alpha += np.asarray(blurred, dtype=np.float32) * (strength / 255.0)
        upscaled = Image.fromarray(alpha, "F").resize((self.width_px, self.height_px),
                                                      Image.Resampling.BILINEAR)
        return np.clip(np.asarray(upscaled, dtype=np.float32), 0.0, 1.0)


def render_product_card(product: Product, image_path: Path | None, accent_color: str,
                        width_px: int, height_px: int, *,
                        on_image_problem: Callable[[str], None] | None = None
                        ) -> npt.NDArray[np.uint8]:
    """The card as RGBA ``(height_px, width_px, 4)`` uint8 with straight (not premultiplied)
    alpha: an opaque rounded panel with a soft shadow, transparent elsewhere.

    The panel hugs its content and sits at the bottom of the area, so spare height stays
    transparent instead of showing as an empty white block. Areas wider than 1.15:1 (the
    portrait layout's bottom strip) get a horizontal card: image left, text right.

    An image that cannot be read raises UserInputError, unless ``on_image_problem`` is given:
    then it is told why, and the card is drawn as for a product without an image (name,
    price and selling points all there), so a live show never loses its card to a bad file.
    """
    if width_px < 120 or height_px < 100:
        raise UserInputError(
            f"a product card needs at least 120x100 px, got {width_px}x{height_px}")
    accent = hex_to_rgb(accent_color)
    return _Card(product, image_path, accent, width_px, height_px, on_image_problem).render()
