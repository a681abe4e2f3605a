"""The show file's schema. Unknown keys are errors: a typo must never be silently ignored."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

# ISO 4217 codes we format, with the symbol live-commerce overlays use.
CURRENCY_SYMBOLS: dict[str, str] = {
    "CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$", "TWD": "NT$",
    "KRW": "₩", "SGD": "S$", "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "INR": "₹", "RUB": "₽",
    "BRL": "R$", "MXN": "MX$", "THB": "฿", "VND": "₫", "IDR": "Rp", "MYR": "RM", "PHP": "₱",
    "CHF": "CHF ", "SEK": "kr ", "NOK": "kr ", "DKK": "kr ", "PLN": "zł ", "TRY": "₺",
    "AED": "AED ", "SAR": "SAR ", "ZAR": "R",
}
ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW", "VND", "IDR"}

SKIN_TONES = {"porcelain": "#f6d7c3", "light": "#efc3a4", "medium": "#d9a07c",
              "tan": "#b97a56", "brown": "#8d5a3b", "deep": "#5e3a26"}
HAIR_STYLES = ("bob", "long", "bun", "short")
BACKGROUND_PRESETS = ("studio-blue", "studio-warm", "studio-dark", "studio-green")


def _color(value: str, named: dict[str, str] | None = None) -> str:
    if named and value in named:
        return named[value]
    if not HEX_COLOR.match(value):
        options = f" or one of {', '.join(named)}" if named else ""
        raise ValueError(f"expected a colour like \"#3366cc\"{options}, got {value!r}")
    return value.lower()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ShowMeta(_Strict):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    language: Literal["en", "zh"] = "en"
    intro: str = ""
    outro: str = ""
    pause_between_sentences_s: Annotated[float, Field(ge=0.0, le=5.0)] = 0.3
    pause_between_products_s: Annotated[float, Field(ge=0.0, le=10.0)] = 0.9
    # Live only: after the last product, start the run-down again (24-hour streams).
    loop: bool = False


class HostLook(_Strict):
    skin_tone: str = "light"
    hair_style: str = "bob"
    hair_color: str = "#2a1b14"
    eye_color: str = "#4a3424"
    outfit_color: str = "#24527a"
    lip_color: str = "#c4566a"
    # "masculine": straighter, heavier brows, a finer lash line, no blush (a male host)
    face_style: Literal["feminine", "masculine"] = "feminine"

    @field_validator("skin_tone")
    @classmethod
    def _skin(cls, v: str) -> str:
        return _color(v, SKIN_TONES)

    @field_validator("hair_color", "eye_color", "outfit_color", "lip_color")
    @classmethod
    def _colors(cls, v: str) -> str:
        return _color(v)

    @field_validator("hair_style")
    @classmethod
    def _hair(cls, v: str) -> str:
        if v not in HAIR_STYLES:
            raise ValueError(f"expected one of {', '.join(HAIR_STYLES)}, got {v!r}")
        return v


class Host(_Strict):
    name: str = "Ava"
    avatar: str = "default"
    voice: str = "en_US-joe-medium"
    speaking_rate: Annotated[float, Field(ge=0.5, le=2.0)] = 1.0
    look: HostLook = HostLook()


class Stage(_Strict):
    background: str = "studio-blue"
    accent_color: str = "#ff2d55"
    host_position: Literal["left", "center", "right"] = "left"

    @field_validator("accent_color")
    @classmethod
    def _accent(cls, v: str) -> str:
        return _color(v)


class Product(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=80)]
    price: Annotated[float, Field(gt=0)]
    currency: str
    original_price: Annotated[float, Field(gt=0)] | None = None
    image: str | None = None
    selling_points: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=6)
    script: Annotated[str, Field(min_length=1)]

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        code = v.upper()
        if code not in CURRENCY_SYMBOLS:
            raise ValueError(f"expected an ISO 4217 code such as CNY or USD; {v!r} is not one "
                             f"we format (supported: {', '.join(sorted(CURRENCY_SYMBOLS))})")
        return code

    @model_validator(mode="after")
    def _original_above_price(self) -> Product:
        if self.original_price is not None and self.original_price <= self.price:
            raise ValueError(f"original_price ({self.original_price}) must be higher than "
                             f"price ({self.price}): it is shown struck through as the old price")
        return self


def pronunciation_problems(table: Mapping[str, object]) -> list[tuple[str, str]]:
    """(key, message) for each bad entry of a ``[pronunciations]`` table, all of them at once.

    A key is a word or a multi-word brand name ("Earbuds Pro"); a value is inline phonemes in
    ``[[ … ]]`` (espeak IPA) or a respelling. Keys match whatever the case, so two keys that
    differ only by case would be ambiguous."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for key, value in table.items():
        word = " ".join(key.split())
        if not word:
            problems.append((key, "an empty word; write the word or brand name to respell"))
            continue
        if not any(c.isalnum() for c in word):
            problems.append((key, f"{key!r} has no letters or digits; write the word to "
                                  "respell"))
            continue
        folded = word.casefold()
        if folded in seen:
            problems.append((key, f"{key!r} is the same word as {seen[folded]!r} (case does "
                                  "not matter); keep one of them"))
            continue
        seen[folded] = key
        if not isinstance(value, str):
            problems.append((key, f"expected text (phonemes in [[ ]] or a respelling), got "
                                  f"{value!r}"))
            continue
        said = value.strip()
        if not said:
            problems.append((key, f"the pronunciation of {key!r} is empty; write a respelling "
                                  "(\"Shao-mee\") or phonemes in [[ ]]"))
        elif said.startswith("[["):
            if not said.endswith("]]") or said.count("[[") != 1 or said.count("]]") != 1:
                problems.append((key, f"phonemes for {key!r} must be one [[ … ]] block, like "
                                      "\"[[ ʃˈaʊmiː ]]\""))
            elif not said[2:-2].strip():
                problems.append((key, f"the phonemes for {key!r} are empty; write espeak IPA "
                                      "between [[ and ]]"))
        elif "[[" in said or "]]" in said:
            problems.append((key, f"phonemes for {key!r} must be the whole value, "
                                  "\"[[ … ]]\", not mixed with text"))
        elif any(c in said for c in "<>"):
            problems.append((key, f"the pronunciation of {key!r} contains markup; write a "
                                  "plain respelling"))
    return problems


class Show(_Strict):
    show: ShowMeta
    host: Host = Host()
    stage: Stage = Stage()
    products: Annotated[list[Product], Field(min_length=1)]
    # Brand names the voice gets wrong: word -> "[[ phonemes ]]" or a respelling.
    pronunciations: dict[str, str] = Field(default_factory=dict)

    # Set by the loader, not the file: where relative paths (images) resolve, and the file
    # read (problems found later, such as the voice's, name its line).
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source_path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique_ids(self) -> Show:
        seen: set[str] = set()
        for product in self.products:
            if product.id in seen:
                raise ValueError(f"product id {product.id!r} is used twice; ids must be unique")
            seen.add(product.id)
        return self

    @field_validator("pronunciations")
    @classmethod
    def _pronunciations(cls, v: dict[str, str]) -> dict[str, str]:
        problems = pronunciation_problems(v)
        if problems:
            raise ValueError("; ".join(f"{key!r}: {message}" for key, message in problems))
        return {" ".join(k.split()): value.strip() for k, value in v.items()}

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    def with_base_dir(self, base_dir: Path) -> Show:
        self._base_dir = base_dir
        return self

    @property
    def source_path(self) -> Path | None:
        """The show file this was loaded from (None for a show built in code)."""
        return self._source_path

    def with_source(self, show_path: Path) -> Show:
        """Loaded from ``show_path``: relative paths resolve beside it."""
        self._source_path = show_path
        return self.with_base_dir(show_path.resolve().parent)

    def product_image_path(self, product: Product) -> Path | None:
        return None if product.image is None else (self._base_dir / product.image).resolve()

    def product(self, product_id: str) -> Product:
        for product in self.products:
            if product.id == product_id:
                return product
        raise KeyError(product_id)


def format_price(amount: float, currency: str) -> str:
    """``format_price(1299, "CNY") == "¥1,299.00"``, as overlays show it."""
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{symbol}{amount:,.0f}"
    return f"{symbol}{amount:,.2f}"
