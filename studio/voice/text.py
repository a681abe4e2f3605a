"""Text front-end for the voice: split scripts into speakable sentences and spell out numbers.

Piper phonemises with espeak-ng, which reads "¥39.9", "500g", "3-5" or "RX-7" badly or not at
all. Live-commerce scripts are full of such tokens, so before synthesis every sentence goes
through :func:`normalize_for_speech`, which rewrites them into plain English words.

Choices worth knowing (see also the rule comments below):

* Currency. ``¥``/``￥``/``CNY``/``RMB``/``元``/``块`` are yuan (the product is China-first, so the
  ambiguous ``¥`` is read as yuan, never yen; ``JPY``/``円`` are yen). Yuan, yen, won and rupee
  amounts are read with "point" ("thirty-nine point nine yuan"), which is how Chinese prices
  are said in English; trailing zero cents are dropped ("1,299.00" -> "... ninety-nine yuan").
  Dollars use "and ... cents" ("twelve dollars and ninety-nine cents"); euros and pounds use
  the short spoken form ("five pounds fifty", "two euros fifty"). ``USD``/``US$`` say
  "US dollars", ``HK$``/``HKD`` "Hong Kong dollars".
* A spelled letter "A" is hyphen-joined to what follows it ("A12" -> "A-twelve"): espeak-ng
  reads a lone "A" before a word as the article "uh", but "A-twelve" as the letter name.
* Four-digit groups inside model numbers are read in pairs, like years ("RTX4090" ->
  "R T X forty ninety"); bare digit strings of five or more digits are read digit by digit
  (order and phone numbers) unless they are round thousands ("10000" -> "ten thousand").
* "11.11" and "618" are not treated as shopping festivals (they are indistinguishable from a
  price or a count); "11/11" is read as a date, "Double 11" comes out as "Double eleven".
* Language "zh": the Chinese voice reads Arabic numerals itself, so the text is left as it
  is except for two re-orderings Chinese speech needs: "50%" -> "百分之50" and
  "¥39.9" -> "39.9元" (also "$5" -> "5美元"). Other languages are returned with only their
  whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

from studio.voice.types import word_cuts

__all__ = [
    "INLINE_PHONEMES",
    "MARKUP",
    "apply_pronunciations",
    "cardinal",
    "normalize_for_speech",
    "ordinal",
    "speech_words",
    "split_paragraphs",
    "split_sentences",
    "year_words",
]

# --------------------------------------------------------------------------------------------
# Number words (written here so the voice has no num2words dependency)
# --------------------------------------------------------------------------------------------

_ONES: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_TENS: Final = (
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
)
_SCALES: Final = ("", "thousand", "million", "billion", "trillion")
_ORDINAL_IRREGULAR: Final = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts: list[str] = []
    if hundreds:
        parts.append(f"{_ONES[hundreds]} hundred")
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        parts.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    elif rest or not hundreds:
        parts.append(_ONES[rest])
    return " ".join(parts)


def cardinal(n: int) -> str:
    """American cardinal without "and": 1299 -> "one thousand two hundred ninety-nine"."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n >= 1000 ** len(_SCALES):
        return _digits(str(n))
    if n < 1000:
        return _below_thousand(n)
    parts: list[str] = []
    scale = 0
    while n:
        n, group = divmod(n, 1000)
        if group:
            words = _below_thousand(group)
            parts.append(f"{words} {_SCALES[scale]}" if scale else words)
        scale += 1
    return " ".join(reversed(parts))


def ordinal(n: int) -> str:
    """23 -> "twenty-third": the cardinal with its last word turned into an ordinal."""
    words = cardinal(n)
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    head, last = words[:cut], words[cut:]
    if last in _ORDINAL_IRREGULAR:
        return head + _ORDINAL_IRREGULAR[last]
    if last.endswith("y"):
        return head + last[:-1] + "ieth"
    return head + last + "th"


def year_words(n: int) -> str:
    """Years and model numbers read in pairs: 2025 -> "twenty twenty-five", 1905 -> "nineteen
    oh five"."""
    if not 1000 <= n <= 9999 or n % 1000 == 0 or 2000 <= n < 2010:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {cardinal(low)}"
    return f"{cardinal(high)} {cardinal(low)}"


def _digits(s: str) -> str:
    return " ".join(_ONES[int(c)] for c in s if c.isdigit())


def _read_number(s: str) -> str:
    """A written number ("-1,299.05", ".5") as words; decimals are read digit by digit."""
    s = s.replace(",", "")
    sign = ""
    if s.startswith("-"):
        sign, s = "minus ", s[1:]
    whole, _, frac = s.partition(".")
    if len(whole) > 1 and whole.startswith("0"):
        words = _digits(whole)  # "007", "05": a code, not a quantity
    else:
        words = cardinal(int(whole)) if whole else "zero"
    if frac:
        words += " point " + _digits(frac)
    return sign + words


def _is_one(s: str) -> bool:
    return s.lstrip("-") == "1"


def _value(s: str) -> Decimal:
    try:
        return Decimal(s.replace(",", ""))
    except InvalidOperation:
        return Decimal(0)


# --------------------------------------------------------------------------------------------
# Shared regex fragments
# --------------------------------------------------------------------------------------------

# A written number: 1,299.00 / 39.9 / 500. Thousands groups must be exactly three digits.
_NUM: Final = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
# Not glued to a word or to another number (ASCII only: CJK text next to digits is fine).
_FREE: Final = r"(?<![A-Za-z0-9_.,])"
_END: Final = r"(?![A-Za-z0-9_])"
# Range separators between two numbers.
_SEP: Final = r"(?:-|–|—|~|\bto\b)"
# A leading minus sign, only where it cannot be a hyphen or a range dash.
_NEG: Final = r"(?:(?<![A-Za-z0-9_.,)\]-])-)?"


def _alts(words: Iterable[str]) -> str:
    """Alternation with longest first, so "min" wins over "m" and "mAh" over "mA"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# --------------------------------------------------------------------------------------------
# Character clean-up
# --------------------------------------------------------------------------------------------

_CHAR_MAP: Final[dict[int, str | int]] = {
    **{cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)},  # full-width ASCII -> ASCII
    ord("\u3000"): " ", ord("\u00a0"): " ", ord("\u2009"): " ", ord("\u202f"): " ",
    ord("−"): "-", ord("‐"): "-", ord("‑"): "-",
    ord("。"): ". ", ord("、"): ", ", ord("；"): "; ", ord("："): ": ",
    ord("℃"): "°C", ord("℉"): "°F",
    ord("’"): "'", ord("‘"): "'",
    ord("…"): "...",
}
# Full-width ¥ (U+FFE5) is outside the block above.
_CHAR_MAP[0xFFE5] = "¥"

# --------------------------------------------------------------------------------------------
# Abbreviations
# --------------------------------------------------------------------------------------------

# (pattern, words, whether the abbreviation's dot can also end the sentence)
_ABBREVIATIONS: Final = (
    (re.compile(r"\be\.g\.", re.I), "for example", False),
    (re.compile(r"\bi\.e\.", re.I), "that is", False),
    (re.compile(r"\betc\.", re.I), "et cetera", True),
    (re.compile(r"\bvs\.?(?=\s)", re.I), "versus", False),
    (re.compile(r"\bapprox\.", re.I), "approximately", False),
    (re.compile(r"\bMr\."), "Mister", False),
    (re.compile(r"\bMrs\."), "Missus", False),
    (re.compile(r"\bMs\."), "Miz", False),
    (re.compile(r"\bDr\."), "Doctor", False),
    (re.compile(r"\bU\.S\.(?:A\.)?"), "U S", True),
    (re.compile(r"\bU\.K\."), "U K", True),
    (re.compile(r"(?<![A-Za-z])w/o(?![A-Za-z])"), "without", False),
    (re.compile(r"(?<![A-Za-z])w/(?=\s)"), "with", False),
)
_SENTENCE_END_AFTER: Final = re.compile(r"\s*(?:$|[A-Z])")


def _expand_abbreviations(text: str) -> str:
    for pattern, words, can_end in _ABBREVIATIONS:
        def repl(m: re.Match[str], words: str = words, can_end: bool = can_end) -> str:
            # "... etc." at the very end still ends the sentence.
            ends = can_end and m.group().endswith(".") and _SENTENCE_END_AFTER.match(
                m.string, m.end())
            return words + ("." if ends else "")

        text = pattern.sub(repl, text)
    return text


# --------------------------------------------------------------------------------------------
# Dates and times
# --------------------------------------------------------------------------------------------

_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
_MONTH_BY_NAME: Final = {
    **{m.lower(): i for i, m in enumerate(_MONTHS, 1)},
    **{m[:3].lower(): i for i, m in enumerate(_MONTHS, 1)},
    "sept": 9,
}
_DAY: Final = r"(?P<d>3[01]|[12]\d|0?[1-9])"
_MONTH_NUM: Final = r"(?P<m>1[0-2]|0?[1-9])"
_YEAR: Final = r"(?P<y>(?:19|20)\d{2})"

_ISO_DATE: Final = re.compile(
    rf"(?<![\d./-]){_YEAR}(?P<sep>[-/.]){_MONTH_NUM}(?P=sep){_DAY}(?![\d]|[-/.]\d)"
)
_MDY_DATE: Final = re.compile(
    rf"(?<![\d./-]){_MONTH_NUM}(?P<sep>[-/]){_DAY}(?P=sep){_YEAR}(?![\d]|[-/.]\d)"
)
_MD_DATE: Final = re.compile(rf"(?<![\d./,-]){_MONTH_NUM}/{_DAY}(?![\d/]|\.\d)")
_MONTH_ALTS: Final = _alts(set(_MONTH_BY_NAME) | {m.lower() for m in _MONTHS})
_NAMED_DATE: Final = re.compile(
    rf"\b(?P<mon>{_MONTH_ALTS})\b\.?\s+{_DAY}(?:st|nd|rd|th)?(?![\d:])"
    rf"(?:,?\s+{_YEAR}(?!\d))?",
    re.I,
)
_DAY_FIRST_DATE: Final = re.compile(
    rf"(?<![\d.,]){_DAY}(?:st|nd|rd|th)?\s+(?P<mon>{_alts(_MONTHS)})\b(?:,?\s+{_YEAR}(?!\d))?"
)
_FRACTION: Final = re.compile(r"(?<![A-Za-z0-9_./,])(?P<n>[1-7])/(?P<d>[2348])(?![A-Za-z0-9/])")
_FRACTION_NAMES: Final = {2: ("half", "halves"), 3: ("third", "thirds"),
                          4: ("quarter", "quarters"), 8: ("eighth", "eighths")}

_AMPM: Final = r"(?P<ap>[AaPp])\.?[Mm]\b\.?"
_TIME_24: Final = re.compile(
    rf"(?<![\d:.])(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)(?::[0-5]\d)?(?:\s?{_AMPM})?(?![\d:])"
)
_TIME_12: Final = re.compile(
    rf"{_FREE}(?:(?P<h0>1[0-2]|0?[1-9])\s?(?:[-–—~]|to)\s?)?(?P<h>1[0-2]|0?[1-9])\s?{_AMPM}"
)
# "8:30-9:30", "9am - 5pm": the dash between two clock times means "to".
_TIME_RANGE_DASH: Final = re.compile(
    r"(?<![\d:.])(?P<t1>\d{1,2}(?::[0-5]\d(?:\s?[AaPp]\.?[Mm]\.?)?|\s?[AaPp]\.?[Mm]\.?))"
    r"\s?[-–—~]\s?(?=\d{1,2}(?::[0-5]\d|\s?[AaPp]\.?[Mm]))"
)


def _date_words(month: int, day: int, year: str | None) -> str:
    words = f"{_MONTHS[month - 1]} {ordinal(day)}"
    return f"{words}, {year_words(int(year))}" if year else words


def _numeric_date(m: re.Match[str]) -> str:
    return _date_words(int(m["m"]), int(m["d"]), m["y"])


def _md_date(m: re.Match[str]) -> str:
    return _date_words(int(m["m"]), int(m["d"]), None)


def _named_date(m: re.Match[str]) -> str:
    return _date_words(_MONTH_BY_NAME[m["mon"].lower()], int(m["d"]), m["y"])


def _day_first_date(m: re.Match[str]) -> str:
    words = f"the {ordinal(int(m['d']))} of {m['mon']}"
    return f"{words}, {year_words(int(m['y']))}" if m["y"] else words


def _fraction(m: re.Match[str]) -> str:
    n, d = int(m["n"]), int(m["d"])
    if n >= d:
        return m.group()
    single, plural = _FRACTION_NAMES[d]
    return f"{cardinal(n)} {single if n == 1 else plural}"


def _keep_final_period(m: re.Match[str]) -> str:
    """A trailing "p.m." swallows the sentence's full stop; give it back."""
    if m.group().endswith(".") and _SENTENCE_END_AFTER.match(m.string, m.end()):
        return "."
    return ""


def _time(m: re.Match[str]) -> str:
    hour, minute = int(m["h"]), int(m["min"])
    ap = m["ap"]
    if ap is None and minute == 0 and hour == 0:
        return "midnight" + _keep_final_period(m)
    if ap is None and 1 <= hour <= 12:
        minutes = "o'clock" if minute == 0 else _minutes(minute)
        return f"{cardinal(hour)} {minutes}"
    suffix = ("PM" if hour >= 12 else "AM") if ap is None else ap.upper() + "M"
    hour12 = hour % 12 or 12
    words = cardinal(hour12) + (f" {_minutes(minute)}" if minute else "")
    return f"{words} {suffix}" + _keep_final_period(m)


def _time_12(m: re.Match[str]) -> str:
    start = f"{cardinal(int(m['h0']))} to " if m["h0"] else ""
    return f"{start}{cardinal(int(m['h']))} {m['ap'].upper()}M" + _keep_final_period(m)


def _minutes(minute: int) -> str:
    return f"oh {cardinal(minute)}" if minute < 10 else cardinal(minute)


# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------

Style = Literal["point", "and", "short"]


@dataclass(frozen=True, slots=True)
class _Currency:
    """How one currency is spoken; ``style`` says how the fractional part is read."""

    one: str
    many: str
    style: Style
    minor_one: str = ""
    minor_many: str = ""


_YUAN: Final = _Currency("yuan", "yuan", "point")
_YEN: Final = _Currency("yen", "yen", "point")
_DOLLAR: Final = _Currency("dollar", "dollars", "and", "cent", "cents")
_EURO: Final = _Currency("euro", "euros", "short", "cent", "cents")
_POUND: Final = _Currency("pound", "pounds", "short", "penny", "pence")


def _dollar(prefix: str) -> _Currency:
    return _Currency(f"{prefix} dollar", f"{prefix} dollars", "and", "cent", "cents")


_CURRENCY_PREFIX: Final[dict[str, _Currency]] = {
    "¥": _YUAN, "CNY": _YUAN, "RMB": _YUAN,
    "JPY": _YEN,
    "$": _DOLLAR, "US$": _dollar("US"), "USD": _dollar("US"),
    "HK$": _dollar("Hong Kong"), "HKD": _dollar("Hong Kong"),
    "NT$": _dollar("New Taiwan"), "TWD": _dollar("New Taiwan"),
    "S$": _dollar("Singapore"), "SGD": _dollar("Singapore"),
    "A$": _dollar("Australian"), "AUD": _dollar("Australian"),
    "C$": _dollar("Canadian"), "CAD": _dollar("Canadian"),
    "€": _EURO, "EUR": _EURO,
    "£": _POUND, "GBP": _POUND,
    "₩": _Currency("won", "won", "point"), "KRW": _Currency("won", "won", "point"),
    "₹": _Currency("rupee", "rupees", "point"), "INR": _Currency("rupee", "rupees", "point"),
}
_CURRENCY_SUFFIX: Final[dict[str, _Currency]] = {
    **_CURRENCY_PREFIX,
    "元": _YUAN, "块": _YUAN, "yuan": _YUAN, "円": _YEN,
    "dollar": _DOLLAR, "dollars": _DOLLAR, "euro": _EURO, "euros": _EURO,
}
_SCALE_WORDS: Final = r"thousand|million|billion|trillion"
_SCALE_ABBR: Final = {"k": "thousand", "K": "thousand", "M": "million", "mn": "million",
                      "B": "billion", "bn": "billion"}

# "per" targets after an amount or a quantity: "$5/kg", "¥9.9/pc", "30 km/day".
_PER_WORDS: Final = {
    "pc": "piece", "pcs": "piece", "piece": "piece", "item": "item", "each": "each",
    "day": "day", "d": "day", "week": "week", "wk": "week", "month": "month", "mo": "month",
    "year": "year", "yr": "year", "hour": "hour", "hr": "hour", "h": "hour", "min": "minute",
    "box": "box", "bottle": "bottle", "pack": "pack", "set": "set", "pair": "pair",
    "person": "person", "kg": "kilogram", "g": "gram", "lb": "pound", "L": "liter",
    "ml": "milliliter", "m": "meter", "cm": "centimeter", "m²": "square meter",
}
_PER: Final = rf"(?:\s?/\s?(?P<per>{_alts(_PER_WORDS)})(?![A-Za-z0-9_]))?"
_AMOUNT_TAIL: Final = (
    rf"(?:\s?(?P<scale>{_SCALE_WORDS})\b|(?P<abbr>{_alts(_SCALE_ABBR)})(?![A-Za-z]))?"
)

_MONEY_PREFIX: Final = re.compile(
    rf"(?<![A-Za-z0-9_])(?P<cur>{_alts(_CURRENCY_PREFIX)})\s?(?P<a>{_NUM})"
    rf"(?:\s?{_SEP}\s?(?:{_alts(_CURRENCY_PREFIX)})?\s?(?P<b>{_NUM}))?"
    rf"{_AMOUNT_TAIL}(?![A-Za-z0-9_]){_PER}"
)
_MONEY_SUFFIX: Final = re.compile(
    rf"{_FREE}(?P<a>{_NUM})(?:\s?{_SEP}\s?(?P<b>{_NUM}))?{_AMOUNT_TAIL}"
    rf"\s?(?P<cur>{_alts(_CURRENCY_SUFFIX)})(?![A-Za-z0-9_]){_PER}"
)


def _trim_zeros(s: str) -> str:
    """ "39.90" -> "39.9", "1,299.00" -> "1,299": zero cents are never spoken."""
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def _amount(s: str, cur: _Currency) -> str:
    s = _trim_zeros(s)
    whole, _, frac = s.partition(".")
    if not frac or cur.style == "point" or len(frac) > 2:
        return f"{_read_number(s)} {cur.one if _is_one(s) else cur.many}"
    major = int(whole.replace(",", ""))
    minor = int(frac.ljust(2, "0"))
    minor_words = f"{cardinal(minor)} {cur.minor_one if minor == 1 else cur.minor_many}"
    if major == 0:
        return minor_words
    major_words = f"{cardinal(major)} {cur.one if major == 1 else cur.many}"
    if cur.style == "and":
        return f"{major_words} and {minor_words}"
    return f"{major_words} {_minutes(minor)}"


def _money(m: re.Match[str], cur: _Currency) -> str:
    a, b = m["a"], m["b"]
    scale = m["scale"] or (_SCALE_ABBR[m["abbr"]] if m["abbr"] else None)
    if scale:
        low = _read_number(_trim_zeros(a))
        span = f"{low} to {_read_number(_trim_zeros(b))}" if b else low
        words = f"{span} {scale} {cur.many}"
    elif b:
        whole_amounts = "." not in _trim_zeros(a) + _trim_zeros(b)
        if whole_amounts or cur.style == "point":
            words = f"{_read_number(_trim_zeros(a))} to {_read_number(_trim_zeros(b))} {cur.many}"
        else:
            words = f"{_amount(a, cur)} to {_amount(b, cur)}"
    else:
        words = _amount(a, cur)
    if m["per"]:
        words += f" per {_PER_WORDS[m['per']]}"
    return words


def _money_prefix(m: re.Match[str]) -> str:
    return _money(m, _CURRENCY_PREFIX[m["cur"]])


def _money_suffix(m: re.Match[str]) -> str:
    return _money(m, _CURRENCY_SUFFIX[m["cur"]])


# --------------------------------------------------------------------------------------------
# Percentages, units and other quantities
# --------------------------------------------------------------------------------------------

_PERCENT: Final = re.compile(
    rf"{_FREE}(?P<a>{_NEG}{_NUM})(?:\s?%?\s?{_SEP}\s?(?P<b>-?{_NUM}))?\s?%"
)


def _percent(m: re.Match[str]) -> str:
    words = _read_number(m["a"])
    if m["b"]:
        words += " to " + _read_number(m["b"])
    return words + " percent"


# Unit symbol -> (singular, plural). Case matters: "m" is metres, "M" is not a unit here.
_UNITS: Final[dict[str, tuple[str, str]]] = {
    "mg": ("milligram", "milligrams"), "g": ("gram", "grams"), "kg": ("kilogram", "kilograms"),
    "KG": ("kilogram", "kilograms"), "Kg": ("kilogram", "kilograms"),
    "oz": ("ounce", "ounces"), "fl oz": ("fluid ounce", "fluid ounces"),
    "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"),
    "ml": ("milliliter", "milliliters"), "mL": ("milliliter", "milliliters"),
    "L": ("liter", "liters"),
    "nm": ("nanometer", "nanometers"), "mm": ("millimeter", "millimeters"),
    "cm": ("centimeter", "centimeters"), "m": ("meter", "meters"),
    "km": ("kilometer", "kilometers"), "ft": ("foot", "feet"),
    "m²": ("square meter", "square meters"), "㎡": ("square meter", "square meters"),
    "cm²": ("square centimeter", "square centimeters"),
    "m³": ("cubic meter", "cubic meters"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "ms": ("millisecond", "milliseconds"), "sec": ("second", "seconds"),
    "secs": ("second", "seconds"), "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"), "h": ("hour", "hours"), "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "W": ("watt", "watts"), "kW": ("kilowatt", "kilowatts"), "V": ("volt", "volts"),
    "mAh": ("milliamp hour", "milliamp hours"), "Ah": ("amp hour", "amp hours"),
    "Wh": ("watt hour", "watt hours"), "kWh": ("kilowatt hour", "kilowatt hours"),
    "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"), "GHz": ("gigahertz", "gigahertz"),
    "KB": ("kilobyte", "kilobytes"), "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"), "TB": ("terabyte", "terabytes"),
    "Mbps": ("megabit per second", "megabits per second"),
    "Gbps": ("gigabit per second", "gigabits per second"),
    "fps": ("frame per second", "frames per second"),
    "MP": ("megapixel", "megapixels"), "dB": ("decibel", "decibels"),
    "kcal": ("kilocalorie", "kilocalories"), "cal": ("calorie", "calories"),
    "°C": ("degree Celsius", "degrees Celsius"), "°F": ("degree Fahrenheit",
                                                         "degrees Fahrenheit"),
    "pc": ("piece", "pieces"), "pcs": ("piece", "pieces"), "PCS": ("piece", "pieces"),
    "HP": ("horsepower", "horsepower"), "hp": ("horsepower", "horsepower"),
    "mA": ("milliamp", "milliamps"), "kV": ("kilovolt", "kilovolts"),
    "mV": ("millivolt", "millivolts"), "mW": ("milliwatt", "milliwatts"),
    "MW": ("megawatt", "megawatts"), "PB": ("petabyte", "petabytes"),
    "µm": ("micrometer", "micrometers"), "μm": ("micrometer", "micrometers"),
    "mi": ("mile", "miles"), "yd": ("yard", "yards"), "gal": ("gallon", "gallons"),
    "psi": ("pound per square inch", "pounds per square inch"),
    "kPa": ("kilopascal", "kilopascals"), "Pa": ("pascal", "pascals"),
    "rpm": ("revolution per minute", "revolutions per minute"),
    "RPM": ("revolution per minute", "revolutions per minute"),
    "m/s": ("meter per second", "meters per second"), "Nm": ("newton meter", "newton meters"),
}
# Symbols too ambiguous to follow a space ("2 A grade", "1 l"); they count only when glued on.
_ATTACHED_UNITS: Final[dict[str, tuple[str, str]]] = {
    "A": ("amp", "amps"), "l": ("liter", "liters"), "°": ("degree", "degrees"),
    '"': ("inch", "inches"), "″": ("inch", "inches"), "in": ("inch", "inches"),
}
_QUANTITY: Final = re.compile(
    rf"{_FREE}(?P<a>{_NEG}{_NUM})"
    rf"(?:\s?(?:{_alts(_UNITS)}|{_alts(_ATTACHED_UNITS)})?\s?{_SEP}\s?(?P<b>-?{_NUM}))?"
    rf"(?:\s?(?P<unit>{_alts(_UNITS)})|(?P<glued>{_alts(_ATTACHED_UNITS)}))"
    rf"(?![A-Za-z0-9_]){_PER}"
)


# "a 65 W charger" is "a sixty-five watt charger": after an article, a quantity followed by a
# noun describes it, and the unit stays singular (unless "of"/"and"... follow: a measure).
_ATTRIBUTIVE_BEFORE: Final = re.compile(r"(?:^|\s)(?:a|an|the|this|that|our|your|its)\s+$", re.I)
_NOT_A_NOUN: Final = frozenset({
    "of", "and", "or", "to", "per", "for", "in", "on", "at", "with", "by", "from", "each",
    "is", "are", "was", "were", "long", "wide", "tall", "high", "deep", "thick", "away",
})


def _attributive(m: re.Match[str]) -> bool:
    after = _NEXT_WORD.match(m.string, m.end())
    if after is None or after.group(1).lower() in _NOT_A_NOUN:
        return False
    return _ATTRIBUTIVE_BEFORE.search(m.string, 0, m.start()) is not None


def _quantity(m: re.Match[str]) -> str:
    one, many = _UNITS[m["unit"]] if m["unit"] else _ATTACHED_UNITS[m["glued"]]
    words = _read_number(m["a"])
    if m["b"]:
        words += " to " + _read_number(m["b"])
    singular = (not m["b"] and _is_one(m["a"])) or (not m["per"] and _attributive(m))
    words += " " + (one if singular else many)
    if m["per"]:
        words += f" per {_PER_WORDS[m['per']]}"
    return words


_RESOLUTION_K: Final = re.compile(rf"{_FREE}(?P<n>2|4|5|6|8|16)[Kk]{_END}")
_RESOLUTION_P: Final = re.compile(rf"{_FREE}(?P<n>480|720|1080|1440|2160)[pP]{_END}")
_THOUSANDS_K: Final = re.compile(rf"{_FREE}(?P<n>{_NUM})[kK]{_END}")
_WAN: Final = re.compile(rf"{_FREE}(?P<n>{_NUM})\s?(?P<unit>[万亿])")
_ORDINAL: Final = re.compile(rf"{_FREE}(?P<n>\d+)(?:st|nd|rd|th){_END}")

_DIMENSION: Final = re.compile(r"(?<=\d)\s?[x×]\s?(?=\d)")
_TIMES_AFTER: Final = re.compile(rf"{_FREE}(?P<n>{_NUM})\s?[x×]{_END}")
_TIMES_BEFORE: Final = re.compile(rf"(?<![A-Za-z0-9_])[x×]\s?(?P<n>{_NUM}){_END}")
_NUMBER_SIGN: Final = re.compile(r"(?:#|\bNo\.|\bno\.|\bNO\.)\s?(?=\d)")


def _wan(m: re.Match[str]) -> str:
    """Chinese 万 (10⁴) and 亿 (10⁸) multipliers become plain numbers with commas."""
    factor = 10_000 if m["unit"] == "万" else 100_000_000
    value = _value(m["n"]) * factor
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


# --------------------------------------------------------------------------------------------
# Ranges, model numbers, years and plain numbers
# --------------------------------------------------------------------------------------------

_DIGIT_GROUPS: Final = re.compile(r"(?<![A-Za-z0-9_.,-])\d+(?:-\d+){2,}(?![A-Za-z0-9_-])")
_RANGE: Final = re.compile(
    rf"(?<![A-Za-z0-9_.,-])(?P<a>{_NUM})\s?(?:-|–|—|~)\s?(?P<b>{_NUM})(?![A-Za-z0-9_]|[-.]\d)"
)
_YEAR_ONLY: Final = re.compile(r"(?:19|20)\d{2}")
_TOKEN: Final = re.compile(r"(?<![A-Za-z0-9_'])[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*(?![A-Za-z0-9_])")
_VOWEL: Final = re.compile(r"[AEIOUY]")
_TOKEN_PART: Final = re.compile(r"[A-Za-z]+|\d+|[-.]")
_YEAR_NUMBER: Final = re.compile(rf"{_FREE}(?P<y>(?:19|20)\d{{2}})(?![A-Za-z0-9_]|[.,]\d)")
_LONG_DIGITS: Final = re.compile(rf"{_FREE}(?P<n>\d{{5,}})(?![A-Za-z0-9_]|[.,]\d)")
_RATIO: Final = re.compile(r"(?<=\d):(?=\d)")
_PLAIN: Final = re.compile(rf"(?P<n>{_NEG}(?:{_NUM}|\.\d+))")

_YEAR_CONTEXT: Final = frozenset({
    "in", "since", "from", "until", "till", "by", "of", "year", "before", "after", "during",
    "circa", "early", "late", "spring", "summer", "autumn", "fall", "winter",
})
_COUNT_WORDS: Final = frozenset({
    "sold", "left", "more", "off", "people", "viewers", "fans", "likes", "orders", "items",
    "units", "pieces", "pcs", "sets", "pairs", "boxes", "bottles", "buyers", "customers",
    "reviews", "stars", "times",
})
_NEXT_WORD: Final = re.compile(r"\s+([A-Za-z]+)")
_PREV_WORD: Final = re.compile(r"([A-Za-z]+)\s+$")


def _range(m: re.Match[str]) -> str:
    a, b = m["a"], m["b"]
    if _YEAR_ONLY.fullmatch(a) and _YEAR_ONLY.fullmatch(b):
        return f"{year_words(int(a))} to {year_words(int(b))}"
    if _value(a) < _value(b):
        return f"{_read_number(a)} to {_read_number(b)}"
    return f"{_read_number(a)} {_read_number(b)}"  # "24-7", a score: not a range


def _digit_groups(m: re.Match[str]) -> str:
    """Phone and order numbers "400-123-4567": digit by digit, a pause per group."""
    return ", ".join(_digits(group) for group in m.group().split("-"))


def _should_spell(letters: str) -> bool:
    """Spell "RX", "GT", "i" letter by letter; leave "SAVE", "Pro", "iPhone" to espeak, which
    reads pronounceable words as words and spells unpronounceable capitals itself."""
    if len(letters) <= 2:
        return True
    return letters.isupper() and not _VOWEL.search(letters)


def _model_digits(digits: str) -> str:
    if (len(digits) > 1 and digits.startswith("0")) or len(digits) >= 5:
        return _digits(digits)
    if len(digits) == 4:
        return year_words(int(digits))
    return cardinal(int(digits))


def _model_number(m: re.Match[str]) -> str:
    """Letters mixed with digits ("RX-7", "X200", "A12-B", "iPhone15"): spell short letter
    groups, read digit groups as numbers."""
    token = m.group()
    if not (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)):
        return token
    pieces: list[str] = []
    after_point = False
    for part in _TOKEN_PART.findall(token):
        if part == "-":
            continue
        if part == ".":
            pieces.append("point")
            after_point = True
            continue
        if part.isdigit():
            pieces.append(_digits(part) if after_point else _model_digits(part))
        elif _should_spell(part):
            pieces.extend(part.upper())
        else:
            pieces.append(part)
        after_point = False
    # espeak-ng reads a lone "A" before a word as the article; "A-twelve" keeps the letter.
    out: list[str] = []
    i = 0
    while i < len(pieces):
        if pieces[i] == "A" and i + 1 < len(pieces):
            out.append(f"A-{pieces[i + 1]}")
            i += 2
        else:
            out.append(pieces[i])
            i += 1
    return " ".join(out)


def _year(m: re.Match[str]) -> str:
    year = int(m["y"])
    before = _PREV_WORD.search(m.string, 0, m.start())
    if before and before.group(1).lower() in _YEAR_CONTEXT:
        return year_words(year)
    after = _NEXT_WORD.match(m.string, m.end())
    if after:
        word = after.group(1).lower()
        if word in _COUNT_WORDS or (word.endswith("s") and len(word) > 3 and
                                    not word.endswith("ss")):
            return cardinal(year)  # "1999 orders", "2000 viewers"
    return year_words(year)


def _long_digits(m: re.Match[str]) -> str:
    n = m["n"]
    if not n.startswith("0") and n.endswith("000"):
        return cardinal(int(n))  # round amounts written without commas: "10000"
    return _digits(n)


def _plain(m: re.Match[str]) -> str:
    return _read_number(m["n"])


# --------------------------------------------------------------------------------------------
# Symbols and final clean-up
# --------------------------------------------------------------------------------------------

_SYMBOL_WORDS: Final = (
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"\s*\+\s*"), " plus "),
    (re.compile(r"\s*=\s*"), " equals "),
    (re.compile(r"(?<=\w)@(?=\w)"), " at "),
    (re.compile(r"\s*@\s*"), " at "),
    (re.compile(r"~\s*"), " about "),
    (re.compile(r"\s*%"), " percent"),
    (re.compile(r"\s*°"), " degrees"),
    (re.compile(r"#(?=\w)"), ""),
    (re.compile(r"\s*/\s*"), " "),
    (re.compile(r"\s+[-–—]+\s+|—|–"), ", "),
    (re.compile(r"[(\[{（【]"), ", "),
    (re.compile(r"[)\]}）】]"), ", "),
    (re.compile(r"[\"“”«»「」『』*_|^`<>\\]"), " "),
)
_SPACE_BEFORE_PUNCT: Final = re.compile(r"\s+([,.!?;:])")
_COMMA_BEFORE_STOP: Final = re.compile(r",+\s*([.!?;:])")
_REPEATED_COMMAS: Final = re.compile(r",(?:\s*,)+")
_COMMA_WITHOUT_SPACE: Final = re.compile(r",(?=[A-Za-z])")
_LEADING_PUNCT: Final = re.compile(r"^[\s,;:]+")
_TRAILING_COMMA: Final = re.compile(r"[\s,;:]+$")
_SPACES: Final = re.compile(r"\s+")


def _drop_pictographs(text: str) -> str:
    """Emoji and other symbols (™, ©) have no reading; espeak would say their names or skip."""
    return "".join(
        c for c in text
        if unicodedata.category(c) not in ("So", "Sk", "Cs", "Co", "Cf") or c in "°"
    )


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _REPEATED_COMMAS.sub(",", text)
    text = _COMMA_BEFORE_STOP.sub(r"\1", text)
    text = _COMMA_WITHOUT_SPACE.sub(", ", text)
    text = _LEADING_PUNCT.sub("", text)
    text = _TRAILING_COMMA.sub("", text)
    return text.strip()


# --------------------------------------------------------------------------------------------
# Public API: normalisation
# --------------------------------------------------------------------------------------------

_ZH_PERCENT: Final = re.compile(rf"(?P<n>-?{_NUM})\s?%")
_ZH_YUAN: Final = re.compile(rf"(?:¥|￥|CNY|RMB)\s?(?P<n>{_NUM})")
_ZH_DOLLAR: Final = re.compile(rf"(?<![A-Za-z])(?:US)?\$\s?(?P<n>{_NUM})")


def _normalize_zh(text: str) -> str:
    """Chinese reads Arabic numerals itself; only the word order around them changes."""
    text = text.replace("\uffe5", "¥").replace("％", "%")
    text = _ZH_PERCENT.sub(lambda m: f"百分之{m['n']}", text)
    text = _ZH_YUAN.sub(lambda m: f"{m['n']}元", text)
    text = _ZH_DOLLAR.sub(lambda m: f"{m['n']}美元", text)
    return _SPACES.sub(" ", text).strip()


# Inline phonemes, as piper-tts reads them: "[[ ʃaʊmi ]]". Never rewritten.
INLINE_PHONEMES: Final = re.compile(r"\[\[.*?\]\]", re.S)
# SSML-like markup: "<break time="1s"/>", "<emphasis>", "</speak>", "<!-- -->". Not supported:
# ``studio check`` refuses it, and the voice never reads it aloud.
MARKUP: Final = re.compile(r"<!--.*?-->|<[/!?]?[A-Za-z][^<>]*>", re.S)


def normalize_for_speech(text: str, language: str = "en") -> str:
    """Rewrite one sentence into words the voice says correctly.

    Only English ("en", "en-US", ...) is fully implemented; "zh" gets the minimal re-ordering
    described in the module docstring and any other language is only whitespace-normalised.
    The order of the passes matters: specific patterns (dates, times, money, quantities) must
    claim their digits before the generic range, model-number and plain-number passes.
    Inline phonemes (``[[ … ]]``, from :func:`apply_pronunciations`) pass through untouched;
    markup tags are dropped (the show check refuses them; a live line must not read them).
    """
    text = MARKUP.sub(" ", text)
    blocks = INLINE_PHONEMES.findall(text)
    if not blocks:
        return _normalize_plain(text, language)
    # Each block becomes a plain word no pass rewrites, and comes back after normalising.
    marks = [f"xqphonemes{_letters(i)}qx" for i in range(len(blocks))]
    for mark, block in zip(marks, blocks, strict=True):
        text = text.replace(block, mark, 1)
    out = _normalize_plain(text, language)
    for mark, block in zip(marks, blocks, strict=True):
        out = out.replace(mark, "[[ " + " ".join(block[2:-2].split()) + " ]]")
    return out


def _letters(i: int) -> str:
    """0 -> "a", 25 -> "z", 26 -> "ba": an index spelled in letters only."""
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = chr(97 + r) + out
        if not i:
            return out


def apply_pronunciations(text: str, table: Mapping[str, str]) -> str:
    """The show's ``[pronunciations]`` applied: each key, as a whole word, any case, becomes its
    value. A value in ``[[ … ]]`` is inline phonemes (espeak IPA, which Piper reads as
    written); anything else is a respelling ("Xiaomi" -> "Shao-mee"). Keys may be several
    words ("Earbuds Pro"); the longest key wins where keys overlap."""
    if not table:
        return text
    by_key = {" ".join(k.split()).casefold(): v.strip() for k, v in table.items() if k.strip()}
    if not by_key:
        return text
    parts = []
    for key in sorted(by_key, key=len, reverse=True):
        body = r"\s+".join(re.escape(w) for w in key.split())
        head = r"(?<![A-Za-z0-9_])" if key[0].isascii() and key[0].isalnum() else ""
        tail = r"(?![A-Za-z0-9_])" if key[-1].isascii() and key[-1].isalnum() else ""
        parts.append(head + body + tail)
    pattern = re.compile("|".join(parts), re.IGNORECASE)

    def repl(m: re.Match[str]) -> str:
        return by_key[" ".join(m.group().split()).casefold()]

    # Text already in inline phonemes is left alone.
    out: list[str] = []
    pos = 0
    for m in INLINE_PHONEMES.finditer(text):
        out.append(pattern.sub(repl, text[pos:m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(pattern.sub(repl, text[pos:]))
    return "".join(out)


def _normalize_plain(text: str, language: str) -> str:
    lang = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    if lang == "zh":
        return _normalize_zh(text)
    if lang != "en":
        return _SPACES.sub(" ", text).strip()

    t = text.translate(_CHAR_MAP)
    t = _WAN.sub(_wan, t)
    t = _expand_abbreviations(t)
    # Dates and times first: they contain "-", "/", ":" and "." that later passes misread.
    t = _ISO_DATE.sub(_numeric_date, t)
    t = _MDY_DATE.sub(_numeric_date, t)
    t = _NAMED_DATE.sub(_named_date, t)
    t = _DAY_FIRST_DATE.sub(_day_first_date, t)
    t = _TIME_RANGE_DASH.sub(lambda m: f"{m['t1']} to ", t)
    t = _TIME_24.sub(_time, t)
    t = _TIME_12.sub(_time_12, t)
    t = _FRACTION.sub(_fraction, t)
    t = _MD_DATE.sub(_md_date, t)
    # Symbol-level rewrites whose numbers are read by later passes.
    t = _DIMENSION.sub(" by ", t)
    t = _TIMES_AFTER.sub(lambda m: f"{m['n']} times", t)
    t = _TIMES_BEFORE.sub(lambda m: f"times {m['n']}", t)
    t = _NUMBER_SIGN.sub("number ", t)
    # Amounts and quantities.
    t = _MONEY_PREFIX.sub(_money_prefix, t)
    t = _MONEY_SUFFIX.sub(_money_suffix, t)
    t = _PERCENT.sub(_percent, t)
    t = _RESOLUTION_K.sub(lambda m: f"{cardinal(int(m['n']))} K", t)
    t = _RESOLUTION_P.sub(lambda m: f"{year_words(int(m['n']))} P", t)
    t = _QUANTITY.sub(_quantity, t)
    t = _THOUSANDS_K.sub(lambda m: f"{_read_number(m['n'])} thousand", t)
    t = _ORDINAL.sub(lambda m: ordinal(int(m["n"])), t)
    # Generic number shapes.
    t = _DIGIT_GROUPS.sub(_digit_groups, t)
    t = _RANGE.sub(_range, t)
    t = _TOKEN.sub(_model_number, t)
    t = _YEAR_NUMBER.sub(_year, t)
    t = _LONG_DIGITS.sub(_long_digits, t)
    t = _RATIO.sub(" to ", t)
    t = _PLAIN.sub(_plain, t)
    # Whatever symbols are left.
    for pattern, words in _SYMBOL_WORDS:
        t = pattern.sub(words, t)
    t = _drop_pictographs(t)
    return _tidy(t)


# --------------------------------------------------------------------------------------------
# Public API: splitting
# --------------------------------------------------------------------------------------------

_PARAGRAPH_BREAK: Final = re.compile(r"\n[ \t\f\v]*\n\s*")
_INNER_NEWLINE: Final = re.compile(r"\s*\n\s*")


def split_paragraphs(script: str) -> list[str]:
    """Paragraphs separated by one or more blank lines; inner newlines become spaces."""
    script = script.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (_INNER_NEWLINE.sub(" ", p).strip() for p in _PARAGRAPH_BREAK.split(script))
    return [p for p in paragraphs if p]


# A sentence ends at . ! ? … (with closing quotes/brackets) before whitespace or the end, or at
# CJK 。！？ anywhere (Chinese puts no space after them).
_BOUNDARY: Final = re.compile(
    r"[.!?…]+[\"'”’)\]»」』）]*(?=\s|$)|[。！？]+[\"'”’)\]»」』）]*"
)
# Abbreviations that never end a sentence, and ones that do unless a lowercase word follows.
_NEVER_FINAL: Final = frozenset({
    "mr.", "mrs.", "ms.", "dr.", "prof.", "sr.", "jr.", "st.", "vs.", "e.g.", "i.e.", "approx.",
    "fig.", "dept.", "est.", "inc.", "ltd.", "no.",
})
_MAYBE_FINAL: Final = frozenset({"etc."})
_ACRONYM: Final = re.compile(r"(?:[a-z]\.){2,}")
_LAST_WORD: Final = re.compile(r"(\S+)$")
_NEXT_CHAR: Final = re.compile(r"\s*(\S)")
_LONG_LIMIT: Final = 220
_CLAUSE_BREAKS: Final = (
    re.compile(r"(?<=[;；])\s*"),
    re.compile(r"(?<=[,，、])\s+|(?<=[，、])"),
    re.compile(r"(?<=—)\s*|\s+(?=—)"),
)


def _is_abbreviation(paragraph: str, dot_end: int) -> bool:
    """Whether the "." ending at ``dot_end`` belongs to an abbreviation, not a sentence end."""
    word_match = _LAST_WORD.search(paragraph, 0, dot_end)
    if word_match is None:
        return False
    word = word_match.group(1).lstrip("([\"'“‘").lower()
    nxt = _NEXT_CHAR.match(paragraph, dot_end)
    next_char = nxt.group(1) if nxt else ""
    if word == "no.":
        return next_char.isdigit() or next_char == "#"
    if word in _NEVER_FINAL:
        return bool(next_char)
    if word in _MAYBE_FINAL or _ACRONYM.fullmatch(word):
        return bool(next_char) and not next_char.isupper()
    return False


def _split_long(sentence: str, level: int = 0) -> list[str]:
    """Cut an over-long sentence at ; then , then — then between words, so live TTS can start
    before its end and no sentence outgrows what a voice can synthesise in bounded memory."""
    if len(sentence) <= _LONG_LIMIT:
        return [sentence]
    if level >= len(_CLAUSE_BREAKS):
        return _split_words(sentence)
    clauses = [c for c in _CLAUSE_BREAKS[level].split(sentence) if c.strip()]
    if len(clauses) < 2:
        return _split_long(sentence, level + 1)
    chunks: list[str] = []
    current = ""
    for clause in clauses:
        candidate = f"{current} {clause}" if current and not _is_cjk(current[-1]) else (
            current + clause)
        if current and len(candidate) > _LONG_LIMIT:
            chunks.append(current)
            current = clause
        else:
            current = candidate
    chunks.append(current)
    out: list[str] = []
    for chunk in chunks:
        out.extend(_split_long(chunk.strip(), level + 1))
    return out


def _split_words(sentence: str) -> list[str]:
    """Pieces of at most _LONG_LIMIT characters cut between words (at spaces and, in Chinese,
    at word ends; a single endless "word" at the limit): a script without punctuation still
    reads in bounded sentences."""
    cuts = set(word_cuts(sentence, "en"))
    if any(_is_cjk(c) for c in sentence):
        cuts.update(word_cuts(sentence, "zh"))
    ordered = sorted(cuts)
    out: list[str] = []
    start = 0
    while len(sentence) - start > _LONG_LIMIT:
        cut = max((c for c in ordered if start < c <= start + _LONG_LIMIT),
                  default=start + _LONG_LIMIT)
        out.append(sentence[start:cut].strip())
        start = cut
    out.append(sentence[start:].strip())
    return [piece for piece in out if piece]


def _is_cjk(c: str) -> bool:
    return "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph in order, original text kept, so each can be voiced alone."""
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        if m.group() == "." and _is_abbreviation(paragraph, m.end()):
            continue
        piece = paragraph[start:m.end()].strip()
        if piece:
            sentences.append(piece)
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    out: list[str] = []
    for sentence in sentences:
        out.extend(_split_long(sentence))
    return out


def speech_words(text: str) -> list[str]:
    """Words as the teleprompter shows them: whitespace-separated, punctuation attached."""
    return text.split()
