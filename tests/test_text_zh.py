"""Mandarin text front-end: sales Chinese read as a host says it, language runs, jieba words.

Exact strings: each rule is what a listener should hear, written in characters.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from studio.voice.text_zh import (
    digits_zh,
    int_zh,
    normalize_zh,
    number_zh,
    segment_words_zh,
    split_languages,
    spoken_words_zh,
)

DEMO_ZH = Path(__file__).resolve().parents[1] / "assets" / "shows" / "demo_zh" / "demo_zh.toml"


@pytest.mark.parametrize(("n", "words"), [
    (0, "零"), (5, "五"), (10, "十"), (15, "十五"), (20, "二十"), (105, "一百零五"),
    (110, "一百一十"), (1010, "一千零一十"), (1299, "一千二百九十九"), (10000, "一万"),
    (10010, "一万零一十"), (100000, "十万"), (120000, "十二万"), (100000000, "一亿"),
])
def test_integers(n: int, words: str) -> None:
    assert int_zh(n) == words


def test_liang_and_digits() -> None:
    assert int_zh(2, liang=True) == "两"
    assert int_zh(200, liang=True) == "两百"
    assert int_zh(2000, liang=True) == "两千"
    assert int_zh(22, liang=True) == "二十二"
    assert int_zh(12, liang=True) == "十二"
    assert number_zh("1.5") == "一点五" and number_zh("0.25") == "零点二五"
    assert number_zh("1,299") == "一千二百九十九"
    assert digits_zh("2026") == "二零二六" and digits_zh("138", phone=True) == "幺三八"


CASES = [
    # Money, as a host says it.
    ("只要¥39.9", "只要三十九块九"),
    ("只要¥39.90", "只要三十九块九"),
    ("只要￥39.9", "只要三十九块九"),
    ("原价¥1,299", "原价一千二百九十九块"),
    ("39.9元", "三十九块九"),
    ("39元9角", "三十九块九"),
    ("39元9角5分", "三十九块九毛五"),
    ("39块9", "三十九块九"),
    ("¥39.95", "三十九块九毛五"),
    ("¥39.05", "三十九块零五分"),
    ("¥0.5", "五毛"),
    ("¥2", "两块"),
    ("¥200", "两百块"),
    ("¥59", "五十九块"),
    ("¥39-59", "三十九块到五十九块"),
    ("¥1.5万", "一点五万块"),
    ("$5.99", "五点九九美元"),
    ("满200减30", "满两百减三十"),
    # Percentages and discounts.
    ("立省30%", "立省百分之三十"),
    ("立省30％", "立省百分之三十"),
    ("12.5%", "百分之十二点五"),
    ("30%-50%", "百分之三十到百分之五十"),
    ("打8.5折", "打八五折"),
    ("全场9折", "全场九折"),
    # Units.
    ("125克", "一百二十五克"),
    ("125g", "一百二十五克"),
    ("1.5L", "一点五升"),
    ("500ml", "五百毫升"),
    ("500mL装", "五百毫升装"),
    ("2kg", "两公斤"),
    ("0.5kg", "零点五公斤"),
    ("5000mAh", "五千毫安时"),
    ("128GB内存", "一百二十八G内存"),
    ("5G手机", "五G手机"),
    ("9.9元/斤", "九块九一斤"),
    # Counts, ordinals, promotions.
    ("2件", "两件"),
    ("拍2件", "拍两件"),
    ("12个", "十二个"),
    ("2个月", "两个月"),
    ("第3件", "第三件"),
    ("第2件半价", "第二件半价"),
    ("买2送1", "买二送一"),
    ("前100名", "前一百名"),
    # Ranges.
    ("3-5天", "三到五天"),
    ("3~5天", "三到五天"),
    ("3～5天", "三到五天"),
    ("2-3件", "两到三件"),
    ("1/2", "二分之一"),
    ("16:9屏幕", "十六比九屏幕"),
    # Dates.
    ("4月20日", "四月二十日"),
    ("4月20号", "四月二十号"),
    ("2月", "二月"),
    ("2026年", "二零二六年"),
    ("2026款", "二零二六款"),
    ("2026年4月20日", "二零二六年四月二十日"),
    ("2026-04-20", "二零二六年四月二十日"),
    ("3号链接", "三号链接"),
    # Times.
    ("晚上8点", "晚上八点"),
    ("8:30", "八点半"),
    ("晚上8:30开播", "晚上八点半开播"),
    ("8:00", "八点"),
    ("8:15", "八点十五"),
    ("8:05", "八点零五"),
    ("2:00", "两点"),
    ("8点半", "八点半"),
    ("8点30分", "八点三十分"),
    ("8点05分", "八点零五分"),
    ("20:00-22:00", "二十点到二十二点"),
    # Phone, order and model numbers.
    ("客服电话13812345678", "客服电话幺三八幺二三四五六七八"),
    ("热线400-820-8820", "热线四零零八二零八八二零"),
    ("订单号1234567", "订单号一二三四五六七"),
    ("型号XR-200", "型号X R二零零"),
    ("型号 XR-200", "型号X R二零零"),
    ("RTX4090显卡", "R T X四零九零显卡"),
    ("华为Mate60", "华为Mate六十"),
    ("iPhone15", "iPhone十五"),
    ("A2尺寸", "A二尺寸"),
    # Plain numbers and English inside Chinese.
    ("1.5", "一点五"),
    ("10000", "一万"),
    ("Bluetooth 5.3", "Bluetooth五点三"),
    ("２件", "两件"),
    ("这款Earbuds Pro耳机只要¥299，原价¥399，立省25%！",
     "这款Earbuds Pro耳机只要两百九十九块，原价三百九十九块，立省百分之二十五！"),
]


@pytest.mark.parametrize(("text", "spoken"), CASES)
def test_normalize_zh(text: str, spoken: str) -> None:
    assert normalize_zh(text) == spoken


@pytest.mark.parametrize(("text", "_spoken"), CASES)
def test_no_digit_is_left(text: str, _spoken: str) -> None:
    assert not re.search(r"\d", normalize_zh(text))


def test_split_languages() -> None:
    spoken = normalize_zh("这款Earbuds Pro耳机，型号XR-200，只要¥299！")
    assert split_languages(spoken) == [
        ("zh", "这款"), ("en", "Earbuds Pro"), ("zh", "耳机，型号"), ("en", "X R"),
        ("zh", "二零零，只要两百九十九块！"),
    ]
    assert split_languages("全中文的句子。") == [("zh", "全中文的句子。")]
    assert split_languages("Hello, LiveHost!") == [
        ("en", "Hello"), ("zh", ","), ("en", "LiveHost"), ("zh", "!")]
    assert split_languages("  ") == []
    assert split_languages("用iPhone's相机") == [("zh", "用"), ("en", "iPhone's"), ("zh", "相机")]


def test_segment_words_zh() -> None:
    words = segment_words_zh("这款Earbuds Pro耳机只要¥39.9，125克，3-5天发货，型号XR-200，"
                             "晚上8点开抢，立省30%！")
    assert words == ["这", "款", "Earbuds", "Pro", "耳机", "只要", "¥39.9", "125克", "3-5天",
                     "发货", "型号", "XR-200", "晚上", "8点", "开抢", "立省", "30%"]
    assert segment_words_zh("欢迎来到直播间") == ["欢迎", "来到", "直播间"]
    assert segment_words_zh("，。！") == []


def test_spoken_words_zh() -> None:
    assert spoken_words_zh("今天只要¥39.9，型号XR-200") == [
        ("今天", "今天"), ("只要", "只要"), ("¥39.9", "三十九块九"), ("型号", "型号"),
        ("XR-200", "X R二零零")]
    # A count of 2 is 两 only with its measure word, so the two stay one word.
    assert segment_words_zh("就能听2小时音乐") == ["就", "能", "听", "2小时", "音乐"]
    assert segment_words_zh("满200减30，30%-50%") == ["满200减30", "30%-50%"]


def _demo_lines() -> list[str]:
    show = tomllib.loads(DEMO_ZH.read_text(encoding="utf-8"))
    texts = [show["show"]["intro"], show["show"]["outro"]] + [
        p["script"] for p in show["products"]]
    return [line.strip() for t in texts for line in t.splitlines() if line.strip()]


def test_words_read_apart_say_the_sentence() -> None:
    """Every spoken syllable belongs to one written word: the words' readings spell the whole."""
    def said(text: str) -> str:
        return re.sub(r"[\s，。！？、：；,.!?:;]", "", text)

    for sentence in _demo_lines() + [text for text, _ in CASES]:
        words = spoken_words_zh(sentence)
        assert "".join(said(spoken) for _, spoken in words) == said(normalize_zh(sentence))
        # Words are in order, taken from the sentence as written.
        pos = 0
        for written, _ in words:
            pos = sentence.index(written, pos) + len(written)


def test_jieba_caches_in_the_user_cache_dir() -> None:
    from studio.voice.text_zh import configure_jieba

    configure_jieba()
    import jieba

    cache_dir = Path(str(jieba.dt.tmp_dir))
    assert cache_dir.is_dir() and os.access(cache_dir, os.W_OK)
    assert "livehost-studio" in str(cache_dir)


def test_time_left_is_estimated_per_language(write_show) -> None:  # type: ignore[no-untyped-def]
    """A Chinese character is a syllable: a Mandarin script of the same length lasts longer."""
    from studio.program.live_program import SPOKEN_CHARS_PER_S, LiveProgram
    from studio.show.loader import load_show
    from tests.conftest import MINIMAL_SHOW

    zh = (MINIMAL_SHOW.replace('language = "en"', 'language = "zh"')
          .replace('voice = "en_US-joe-medium"', 'voice = "kokoro:jf_alpha"')
          .replace("This mug costs ¥39.9 today.", "这款杯子今天只要三十九块九。"))
    program = LiveProgram(load_show(write_show(zh)))
    _, show_s = program.time_left_s()  # before the show: its whole script
    assert show_s == pytest.approx(len("这款杯子今天只要三十九块九。") / SPOKEN_CHARS_PER_S["zh"],
                                   rel=0.01)
    english = LiveProgram(load_show(write_show(MINIMAL_SHOW, "en.toml")))
    assert english.time_left_s()[1] == pytest.approx(
        len("This mug costs ¥39.9 today.") / SPOKEN_CHARS_PER_S["en"], rel=0.01)
