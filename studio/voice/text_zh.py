"""Mandarin text front-end: sales Chinese rewritten as a host says it, word segmentation, and the
split of a Chinese sentence into Chinese and English runs.

Chinese phonemisers (misaki's zh front-end, espeak's cmn) read Arabic numerals with a generic
number converter: "¥39.9" becomes "三十九点九" or is dropped, "3-5天" loses its range, "2件"
comes out as "二件" and "XR-200" as "XR负二百". A live-commerce host says "三十九块九",
"三到五天", "两件" and "X R 二零零", so before synthesis every sentence goes through
:func:`normalize_zh`, which leaves no Arabic digit behind.

Choices worth knowing:

* Money is read as a host says it, in 块/毛/分: "¥39.9", "¥39.90", "39.9元", "39元9角" ->
  "三十九块九"; "¥39.95" -> "三十九块九毛五"; "¥0.5" -> "五毛"; "¥1,299" -> "一千二百九十九块".
  A leading 2 before a unit or 百/千/万 is "两" ("¥2" -> "两块", "¥200" -> "两百块").
* Counts before a measure word use "两" ("2件" -> "两件", "2kg" -> "两公斤"); ordinals, months,
  days and "买2送1" keep "二" ("第2件" -> "第二件", "2月" -> "二月", "买二送一").
* Years (four digits before 年/款) and long digit strings (7+ digits) are read digit by digit;
  phone numbers (11-digit mobiles, 400/800 lines, ddd-dddd-dddd) too, with "幺" for 1, as
  phone numbers are said on air.
* Model numbers (a token mixing Latin letters and digits, like "XR-200"): upper-case letter
  runs are spelled letter by letter (space separated, for the English phonemiser), other letter
  runs are kept as words ("Mate"), digit groups of three or more digits are read digit by digit
  ("二零零") and shorter ones as numbers ("Mate60" -> "Mate六十").
* English words inside Chinese (brand names) are left as they are; :func:`split_languages` cuts
  the sentence into "zh" and "en" runs so that an engine can send the English to an English
  phonemiser.

:func:`segment_words_zh` uses jieba for the Chinese stretches. jieba caches its dictionary in
the system temp dir by default; here it caches in the user's cache dir
(``$XDG_CACHE_HOME/livehost-studio/jieba``, falling back to a temp dir if that is not writable).
It never downloads anything: its dictionary ships inside the package.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

__all__ = [
    "configure_jieba",
    "digits_zh",
    "int_zh",
    "normalize_zh",
    "number_zh",
    "segment_words_zh",
    "split_languages",
    "spoken_words_zh",
]

# --------------------------------------------------------------------------------------------
# Number words
# --------------------------------------------------------------------------------------------

_DIGITS: Final = "零一二三四五六七八九"
_PHONE_DIGITS: Final = "零幺二三四五六七八九"
_SECTION_UNITS: Final = ("", "十", "百", "千")
_GROUP_UNITS: Final = ("", "万", "亿", "万亿")


def _section(n: int) -> str:
    """0 < n < 10000, with inner zeros read once ("1010" -> 一千零一十)."""
    out: list[str] = []
    zero_pending = False
    for power in (3, 2, 1, 0):
        d = (n // 10**power) % 10
        if d == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(_DIGITS[d] + _SECTION_UNITS[power])
    return "".join(out)


def int_zh(n: int, *, liang: bool = False) -> str:
    """A non-negative integer in Chinese words: 1299 -> 一千二百九十九, 15 -> 十五.

    ``liang``: the form before a measure word or in money, where a leading 2 is 两
    (2 -> 两, 200 -> 两百, 2000 -> 两千).
    """
    if n < 0:
        return "负" + int_zh(-n, liang=liang)
    if n == 0:
        return "零"
    groups: list[int] = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    if len(groups) > len(_GROUP_UNITS):
        return digits_zh(str(sum(g * 10000**i for i, g in enumerate(groups))))
    out = ""
    zero_pending = False
    for idx in range(len(groups) - 1, -1, -1):
        g = groups[idx]
        if g == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or g < 1000):
            out += "零"
        zero_pending = False
        out += _section(g) + _GROUP_UNITS[idx]
    if out.startswith("一十"):
        out = out[1:]
    if liang:
        if out == "二":
            return "两"
        if len(out) > 1 and out[0] == "二" and out[1] in "百千万亿":
            out = "两" + out[1:]
    return out


def digits_zh(digits: str, *, phone: bool = False) -> str:
    """Digit by digit: "2026" -> 二零二六; phone numbers say 幺 for 1."""
    table = _PHONE_DIGITS if phone else _DIGITS
    return "".join(table[int(d)] for d in digits if d.isdigit())


def number_zh(text: str, *, liang: bool = False) -> str:
    """A written number ("1,299", "39.9", "0.5") in Chinese words (一千二百九十九, 三十九点九)."""
    text = text.replace(",", "").replace("，", "")
    whole, _, frac = text.partition(".")
    words = int_zh(int(whole or "0"), liang=liang and not frac)
    return words + ("点" + digits_zh(frac) if frac else "")


def _money(whole: str, frac: str = "") -> str:
    """Yuan as a host says it: 39.9 -> 三十九块九, 39.95 -> 三十九块九毛五, 0.5 -> 五毛."""
    yuan = int(whole.replace(",", "") or "0")
    frac = (frac + "00")[:2]
    jiao, fen = int(frac[0]), int(frac[1])
    out = int_zh(yuan, liang=True) + "块" if yuan else ""
    if jiao and fen:
        out += _DIGITS[jiao] + "毛" + _DIGITS[fen]
    elif jiao:
        out += _DIGITS[jiao] if yuan else _DIGITS[jiao] + "毛"
    elif fen:
        out += ("零" if yuan else "") + _DIGITS[fen] + "分"
    return out or "零块"


# --------------------------------------------------------------------------------------------
# Rules (applied in order: specific shapes claim their digits before the generic ones)
# --------------------------------------------------------------------------------------------

_FULLWIDTH: Final = {**{0xFF10 + i: ord("0") + i for i in range(10)},
                     **{0xFF21 + i: ord("A") + i for i in range(26)},
                     **{0xFF41 + i: ord("a") + i for i in range(26)},
                     0xFFE5: ord("¥"), 0xFF04: ord("$"), 0xFF05: ord("%"), 0xFF0B: ord("+"),
                     0xFE6A: ord("%"), 0xFF0F: ord("/"), 0x2103: None}

_MEASURES: Final = ("个件只支条瓶盒包袋罐套双对台部本张片粒颗块斤两天周年次倍层份位人口杯碗箱"
                    "桶根把款色种步套餐组")
"""Measure words (and 斤/两/天/周/年/次...) before which a count of 2 is 两."""
_MULTI_MEASURES: Final = ("公斤", "千克", "毫升", "小时", "分钟", "个月", "星期", "平方", "公里",
                          "厘米", "毫米")

_N: Final = r"\d+(?:,\d{3})*(?:\.\d+)?"
_NB: Final = r"(?<![\d.,A-Za-z])"  # a number's left edge: not inside another number or a token
_NE: Final = r"(?![\d.]*\d)"  # ... and its right edge

_LATIN_UNITS: Final = {
    "mg": "毫克", "g": "克", "kg": "公斤", "KG": "公斤", "Kg": "公斤", "ml": "毫升", "mL": "毫升",
    "ML": "毫升", "l": "升", "L": "升", "cm": "厘米", "mm": "毫米", "m": "米", "km": "公里",
    "mAh": "毫安时", "mah": "毫安时", "W": "瓦", "w": "瓦", "kW": "千瓦", "V": "伏", "h": "小时",
    "H": "小时", "min": "分钟", "s": "秒", "Hz": "赫兹", "GB": "G", "G": "G", "TB": "T",
    "MB": "兆", "°C": "度", "°": "度", "inch": "英寸",
}


def _is_measure(after: str) -> bool:
    return bool(after) and (after[0] in _MEASURES
                            or any(after.startswith(m) for m in _MULTI_MEASURES))


def _count(num: str, after: str) -> str:
    """A number read as a count: 两 before a measure word."""
    return number_zh(num, liang=_is_measure(after))


def _sub(pattern: re.Pattern[str], fn: Callable[[re.Match[str]], str], text: str) -> str:
    return pattern.sub(fn, text)


# Phone numbers: 11-digit mobiles, 400/800 service lines, grouped landlines.
_PHONE_MOBILE: Final = re.compile(r"(?<![\d.])(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_PHONE_GROUPED: Final = re.compile(r"(?<![\d.])(\d{3,4})-(\d{3,4})-(\d{4})(?!\d)")


def _phone(m: re.Match[str]) -> str:
    return "".join(digits_zh(g, phone=True) for g in m.groups())


# Dates and years.
_YMD: Final = re.compile(r"(?<!\d)(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})"
                         r"\s*([日号])?(?!\d)")
_YEAR: Final = re.compile(r"(?<![\d.])(\d{4})\s*(?=年|款|版|届)")
_MONTH_DAY: Final = re.compile(r"(?<![\d.])(\d{1,2})\s*月\s*(?:(\d{1,2})\s*([日号]))?")
_DAY: Final = re.compile(r"(?<![\d.])(\d{1,2})\s*(?=[日号])")


def _ymd(m: re.Match[str]) -> str:
    return (f"{digits_zh(m[1])}年{int_zh(int(m[2]))}月{int_zh(int(m[3]))}{m[4] or '日'}")


def _month_day(m: re.Match[str]) -> str:
    day = f"{int_zh(int(m[2]))}{m[3]}" if m[2] else ""
    return f"{int_zh(int(m[1]))}月{day}"


# Times of day.
_CLOCK: Final = re.compile(r"(?<![\d.])([01]?\d|2[0-4])\s*[:：]\s*([0-5]\d)(?![\d])")
_DIAN: Final = re.compile(r"(?<![\d.])(\d{1,2})\s*点(?:\s*(半|(\d{1,2})\s*(分)?))?")


def _hour(h: int) -> str:
    return int_zh(h, liang=True) + "点"


def _minutes(mm: int, fen: str = "") -> str:
    if mm == 0:
        return ""
    if mm == 30 and not fen:
        return "半"
    return ("零" if mm < 10 else "") + int_zh(mm) + fen


def _clock(m: re.Match[str]) -> str:
    return _hour(int(m[1])) + _minutes(int(m[2]))


def _dian(m: re.Match[str]) -> str:
    if m[2] == "半":
        return _hour(int(m[1])) + "半"
    if m[3]:
        mm = int(m[3])
        return _hour(int(m[1])) + ("零" if mm < 10 and len(m[3]) == 2 else "") + (
            int_zh(mm) + (m[4] or "") if mm else ("零分" if m[4] else ""))
    return _hour(int(m[1]))


_RATIO: Final = re.compile(r"(?<![\d.])(\d+)\s*[:：]\s*(\d+)(?![\d.])")
_TIME_RANGE: Final = re.compile(r"(?<=[点半分])\s*[-~～—–]\s*(?=[零一二两三四五六七八九十])")

# Money.
_YUAN_WAN: Final = re.compile(rf"(?:¥|RMB|CNY)\s*({_N})\s*([万亿])\s*(?:元|块钱|块)?")
_YUAN_PREFIX: Final = re.compile(
    rf"(?:¥|RMB|CNY)\s*({_N})(?:\s*[-~～—–]\s*({_N}))?\s*(?:元|块钱|块)?")
_YUAN_JIAO: Final = re.compile(r"(?<![\d.])(\d+)\s*[元块]\s*(\d)\s*[角毛](?:\s*(\d)\s*分)?")
_YUAN_SUFFIX: Final = re.compile(rf"{_NB}({_N})\s*(?:元|块钱|块|RMB|CNY)(?!\d)")
_YUAN_KUAI_JIAO: Final = re.compile(r"(?<![\d.])(\d+)\s*块\s*(\d)(?![\d.])")
_JIAO_ONLY: Final = re.compile(r"(?<![\d.])(\d)\s*[角毛](?:\s*(\d)\s*分)?")
_DOLLAR: Final = re.compile(rf"(?:US\$|\$|USD\s*)\s*({_N})|{_NB}({_N})\s*(?:美元|USD)")


def _split_num(num: str) -> tuple[str, str]:
    whole, _, frac = num.replace(",", "").partition(".")
    return whole, frac


def _yuan_prefix(m: re.Match[str]) -> str:
    first = _money(*_split_num(m[1]))
    if m[2]:
        return first + "到" + _money(*_split_num(m[2]))
    return first


def _yuan_jiao(m: re.Match[str]) -> str:
    return _money(m[1], m[2] + (m[3] or "0"))


def _jiao_only(m: re.Match[str]) -> str:
    return _money("0", m[1] + (m[2] or "0"))


def _dollar(m: re.Match[str]) -> str:
    num = m[1] or m[2]
    return number_zh(num, liang=True) + "美元"


# Percentages and discounts.
_PERCENT_RANGE: Final = re.compile(rf"{_NB}({_N})\s*%?\s*[-~～—–到至]\s*({_N})\s*%")
_PERCENT: Final = re.compile(rf"{_NB}({_N})\s*%")
_DISCOUNT: Final = re.compile(r"(?<![\d.])(\d)(?:\.(\d))?\s*折")


def _discount(m: re.Match[str]) -> str:
    return _DIGITS[int(m[1])] + (_DIGITS[int(m[2])] if m[2] and m[2] != "0" else "") + "折"


# Promotions.
_BUY_GET: Final = re.compile(r"买\s*(\d+)\s*送\s*(\d+)")
_MAN_JIAN: Final = re.compile(r"满\s*(\d+)\s*减\s*(\d+)")

# Quantities with Latin units: "125g", "1.5L", "500ml", "2kg", "128GB".
_UNIT_NAMES: Final = "|".join(sorted((re.escape(u) for u in _LATIN_UNITS), key=len, reverse=True))
_LATIN_QTY: Final = re.compile(rf"{_NB}({_N})\s*({_UNIT_NAMES})(?![A-Za-z])")


def _latin_qty(m: re.Match[str]) -> str:
    unit = _LATIN_UNITS[m[2]]
    return number_zh(m[1], liang=True) + unit


# Ranges: "3-5天", "2~3件".
_RANGE: Final = re.compile(rf"{_NB}({_N})\s*[-~～—–至]\s*({_N}){_NE}(?=\s*(\S*))")


def _range(m: re.Match[str]) -> str:
    after = m[3] or ""
    return _count(m[1], after) + "到" + _count(m[2], after)


# Ordinals and fractions.
_ORDINAL: Final = re.compile(r"第\s*(\d+)")
_FRACTION: Final = re.compile(r"(?<![\d./])(\d+)\s*/\s*(\d+)(?![\d/])")
_PER: Final = re.compile(rf"(?<=[\u4e00-\u9fff\d])\s*/\s*(?=[{_MEASURES}克升米斤]|公斤|千克|毫升)")

# Model numbers: tokens that mix Latin letters and digits ("XR-200", "RTX4090", "Mate60").
_MODEL: Final = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])"
    r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![A-Za-z0-9])")
_MODEL_PART: Final = re.compile(r"[A-Za-z]+|\d+")


def _model(m: re.Match[str]) -> str:
    words: list[str] = []
    for part in _MODEL_PART.findall(m[0]):
        if part.isdigit():
            said = digits_zh(part) if len(part) >= 3 or part.startswith("0") else int_zh(
                int(part))
            if words and not words[-1][-1].isascii():
                words[-1] += said
            else:
                words.append(said)
        elif part.isupper():
            words.append(" ".join(part))
        else:
            words.append(part)
    out = ""
    for w in words:
        if out and out[-1].isascii() and w[0].isascii():
            out += " "
        out += w
    return out


# What is left.
_LONG_DIGITS: Final = re.compile(r"(?<![\d.])\d{7,}(?![\d.])")
_NUMBER: Final = re.compile(rf"{_NB}({_N})(?=(\S*))")
_ANY_DIGITS: Final = re.compile(r"\d+(?:\.\d+)?")
"""Last resort for digits the shapes above did not claim ("0,9", ".5"): no digit is left."""
_PLUS: Final = re.compile(r"(?<=[零一二两三四五六七八九十百千万])\s*\+\s*"
                          r"(?=[零一二两三四五六七八九十])")
_SPACES: Final = re.compile(r"[ \t\u3000]+")
_HAN_OR_PUNCT: Final = r"[\u4e00-\u9fff，。！？、；：]"
_SPACE_AROUND_HAN: Final = re.compile(rf"(?<={_HAN_OR_PUNCT})\s+|\s+(?={_HAN_OR_PUNCT})")


def normalize_zh(text: str) -> str:
    """Rewrite one Mandarin sentence into what a live-commerce host says; no digit is left.

    The order of the passes matters: phone numbers, dates, times and money claim their digits
    before quantities, ranges and plain numbers; model numbers come after units so that "500ml"
    is a quantity and "XR-200" a model number.
    """
    t = text.translate(_FULLWIDTH)
    t = t.replace("\u2103", "°C").replace("￥", "¥")
    t = _sub(_PHONE_MOBILE, _phone, t)
    t = _sub(_PHONE_GROUPED, _phone, t)
    t = _sub(_YMD, _ymd, t)
    t = _YEAR.sub(lambda m: digits_zh(m[1]), t)
    t = _sub(_MONTH_DAY, _month_day, t)
    t = _DAY.sub(lambda m: int_zh(int(m[1])), t)
    t = _sub(_CLOCK, _clock, t)
    t = _sub(_DIAN, _dian, t)
    t = _TIME_RANGE.sub("到", t)
    t = _RATIO.sub(lambda m: f"{number_zh(m[1])}比{number_zh(m[2])}", t)
    t = _YUAN_WAN.sub(lambda m: f"{number_zh(m[1])}{m[2]}块", t)
    t = _sub(_YUAN_PREFIX, _yuan_prefix, t)
    t = _sub(_YUAN_JIAO, _yuan_jiao, t)
    t = _YUAN_SUFFIX.sub(lambda m: _money(*_split_num(m[1])), t)
    t = _YUAN_KUAI_JIAO.sub(lambda m: _money(m[1], m[2]), t)
    t = _sub(_JIAO_ONLY, _jiao_only, t)
    t = _sub(_DOLLAR, _dollar, t)
    t = _PERCENT_RANGE.sub(lambda m: f"百分之{number_zh(m[1])}到百分之{number_zh(m[2])}", t)
    t = _PERCENT.sub(lambda m: f"百分之{number_zh(m[1])}", t)
    t = _sub(_DISCOUNT, _discount, t)
    t = _BUY_GET.sub(lambda m: f"买{int_zh(int(m[1]))}送{int_zh(int(m[2]))}", t)
    t = _MAN_JIAN.sub(lambda m: f"满{int_zh(int(m[1]), liang=True)}减"
                                f"{int_zh(int(m[2]), liang=True)}", t)
    t = _ORDINAL.sub(lambda m: "第" + int_zh(int(m[1])), t)
    t = _sub(_LATIN_QTY, _latin_qty, t)
    t = _sub(_RANGE, _range, t)
    t = _PER.sub("一", t)
    t = _FRACTION.sub(lambda m: f"{int_zh(int(m[2]))}分之{int_zh(int(m[1]))}", t)
    t = _sub(_MODEL, _model, t)
    t = _LONG_DIGITS.sub(lambda m: digits_zh(m[0]), t)
    t = _NUMBER.sub(lambda m: _count(m[1], m[2]), t)
    t = _ANY_DIGITS.sub(lambda m: number_zh(m[0]) if len(m[0]) < 7 else digits_zh(m[0]), t)
    t = _PLUS.sub("加", t)
    t = _SPACES.sub(" ", t)
    t = _SPACE_AROUND_HAN.sub("", t)
    return t.strip()


# --------------------------------------------------------------------------------------------
# Languages inside a sentence
# --------------------------------------------------------------------------------------------

_EN_WORD: Final = r"[A-Za-z](?:[A-Za-z0-9'’&+]|[.\-](?=[A-Za-z0-9]))*"
_EN_RUN: Final = re.compile(rf"{_EN_WORD}(?:[ \t]+{_EN_WORD})*")


def split_languages(text: str) -> list[tuple[str, str]]:
    """Cut a (normalised) Mandarin sentence into ("zh", text) and ("en", text) runs, in order.

    An "en" run is one or more Latin-script words separated by spaces ("Earbuds Pro", "X R"),
    meant for the English phonemiser; everything else, punctuation included, is "zh". Runs are
    stripped of surrounding whitespace and whitespace-only runs are dropped, so joining the
    texts gives the sentence without the spaces at language boundaries.
    """
    runs: list[tuple[str, str]] = []

    def add(lang: str, chunk: str) -> None:
        chunk = chunk.strip()
        if not chunk:
            return
        if runs and runs[-1][0] == lang:
            runs[-1] = (lang, runs[-1][1] + chunk)
        else:
            runs.append((lang, chunk))

    pos = 0
    for m in _EN_RUN.finditer(text):
        add("zh", text[pos:m.start()])
        add("en", m[0])
        pos = m.end()
    add("zh", text[pos:])
    return runs


# --------------------------------------------------------------------------------------------
# Word segmentation (jieba)
# --------------------------------------------------------------------------------------------

_JIEBA_LOCK: Final = threading.Lock()
_JIEBA_READY: list[bool] = []

_HAN_RUN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ATOM: Final = re.compile(
    r"第?[¥$￥]?\d[\d,.:：]*(?:[-~～]\d[\d,.]*)?(?:%|％|[A-Za-z]+\b|[" + _MEASURES
    + r"克元月日号点折])?|" + _EN_WORD)
_WORDY: Final = re.compile(r"[\w\u3400-\u9fff]")


def _jieba_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for candidate in (Path(base) / "livehost-studio" / "jieba",
                      Path(tempfile.gettempdir()) / f"livehost-studio-jieba-{os.getuid()}"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return candidate
    return Path(tempfile.mkdtemp(prefix="livehost-jieba-"))


def configure_jieba() -> None:
    """Point jieba's dictionary cache at the user's cache dir and quiet its log; idempotent.

    Call it before anything else uses jieba (misaki's zh front-end calls ``jieba.lcut`` on the
    default tokenizer, which otherwise writes its cache to the system temp dir).
    """
    _jieba()


def _jieba() -> object:
    """jieba's default tokenizer, its dictionary cache in the user's cache dir, quiet."""
    import jieba

    with _JIEBA_LOCK:
        if not _JIEBA_READY:
            logging.getLogger("jieba").setLevel(logging.WARNING)
            jieba.setLogLevel(logging.WARNING)
            jieba.dt.tmp_dir = str(_jieba_cache_dir())
            jieba.dt.initialize()
            _JIEBA_READY.append(True)
    return jieba.dt


def segment_words_zh(text: str) -> list[str]:
    """The words of a Mandarin sentence as written, in order, for word spans and the teleprompter.

    Chinese stretches are cut by jieba; numbers with their unit or currency ("¥39.9", "30%",
    "125克", "3-5天"), model numbers ("XR-200") and English words stay whole. Whitespace and
    punctuation are not words and are left out. Words are cut so that each one can be read on
    its own: the spoken forms of the words, in order, are the spoken form of the sentence
    (``normalize_zh``), so every spoken syllable belongs to exactly one written word. Where
    reading apart would change what is said ("2" + "小时" is 二小时, "2小时" is 两小时), the
    pieces stay one word.
    """
    return [text[a:b] for a, b in _word_bounds(text)]


def word_ends_zh(text: str) -> list[int]:
    """Where a Mandarin sentence may be cut between words (the end of each word of
    :func:`segment_words_zh`): a long clause is split there, never inside a word or a price."""
    return [b for _, b in _word_bounds(text)]


def spoken_words_zh(text: str) -> list[tuple[str, str]]:
    """(written word, what is said for it) for each word of :func:`segment_words_zh`.

    "今天只要¥39.9" -> [("今天", "今天"), ("只要", "只要"), ("¥39.9", "三十九块九")]. The spoken
    forms joined are ``normalize_zh(text)`` less its punctuation and spaces, which is what an
    engine needs to give each written word its phonemes.
    """
    return [(text[a:b], normalize_zh(text[a:b])) for a, b in _word_bounds(text)]


_NOT_SAID: Final = re.compile(r"[\s，。！？、：；,.!?:;\"“”‘’'()（）《》【】「」…—]+")


def _said(text: str) -> str:
    return _NOT_SAID.sub("", normalize_zh(text))


def _word_bounds(text: str) -> list[tuple[int, int]]:
    tok = _jieba()
    bounds: list[tuple[int, int]] = []
    pos = 0
    for m in _ATOM.finditer(text):
        _cut_han(tok, text, pos, m.start(), bounds)
        bounds.append((m.start(), m.end()))
        pos = m.end()
    _cut_han(tok, text, pos, len(text), bounds)
    return _keep_readable(text, bounds)


_LOOKAHEAD_WORDS: Final = 4


def _keep_readable(text: str, bounds: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge words whose spoken forms read apart differ from the sentence's ("2"+"小时").

    The cut with the most words whose readings, in order, spell the sentence's spoken form;
    a group joins at most a few neighbouring words. If there is none, jieba's cut is kept.
    """
    if not any(_HAS_DIGIT.search(text[a:b]) for a, b in bounds):
        return bounds
    target = _said(text)
    n = len(bounds)
    said_cache: dict[tuple[int, int], str] = {}

    def said(i: int, j: int) -> str:  # words i..j (inclusive) as one
        key = (i, j)
        if key not in said_cache:
            said_cache[key] = _said(text[bounds[i][0]:bounds[j][1]])
        return said_cache[key]

    memo: dict[tuple[int, int], tuple[int, int] | None] = {}  # -> (n groups, end word) or None

    def best(i: int, offset: int) -> tuple[int, int] | None:
        if i == n:
            return (0, -1) if offset == len(target) else None
        key = (i, offset)
        if key not in memo:
            result: tuple[int, int] | None = None
            for j in range(i, min(n, i + _LOOKAHEAD_WORDS)):
                piece = said(i, j)
                if not target.startswith(piece, offset):
                    continue
                rest = best(j + 1, offset + len(piece))
                if rest is not None and (result is None or rest[0] + 1 > result[0]):
                    result = (rest[0] + 1, j)
            memo[key] = result
        return memo[key]

    if best(0, 0) is None:
        return bounds
    out: list[tuple[int, int]] = []
    i, offset = 0, 0
    while i < n:
        step = memo[(i, offset)]
        assert step is not None
        j = step[1]
        out.append((bounds[i][0], bounds[j][1]))
        offset += len(said(i, j))
        i = j + 1
    return out


_HAS_DIGIT: Final = re.compile(r"\d")


def _cut_han(tok: object, text: str, start: int, end: int,
             bounds: list[tuple[int, int]]) -> None:
    tokenize: Callable[[str], list[tuple[str, int, int]]] = tok.tokenize  # type: ignore[attr-defined]
    for piece, a, b in tokenize(text[start:end]):
        if _WORDY.search(piece):
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece) - len(piece.rstrip())
            bounds.append((start + a + lead, start + b - trail))
