"""Tests for the voice text front-end: what the en voice is asked to say for sales-script text."""

from __future__ import annotations

import pytest

from studio.voice.text import (
    cardinal,
    normalize_for_speech,
    ordinal,
    speech_words,
    split_paragraphs,
    split_sentences,
    year_words,
)


def _check(text: str, expected: str) -> None:
    assert normalize_for_speech(text) == expected


# --------------------------------------------------------------------------------------------
# Number words
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (20, "twenty"),
        (42, "forty-two"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (1299, "one thousand two hundred ninety-nine"),
        (12000, "twelve thousand"),
        (1_000_000, "one million"),
        (2_500_000_001, "two billion five hundred million one"),
        (3_000_000_000_000, "three trillion"),
        (-5, "minus five"),
    ],
)
def test_cardinal(n: int, expected: str) -> None:
    assert cardinal(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "first"), (2, "second"), (3, "third"), (4, "fourth"), (5, "fifth"), (8, "eighth"),
        (9, "ninth"), (11, "eleventh"), (12, "twelfth"), (20, "twentieth"),
        (23, "twenty-third"), (100, "one hundredth"), (101, "one hundred first"),
    ],
)
def test_ordinal(n: int, expected: str) -> None:
    assert ordinal(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (2025, "twenty twenty-five"), (1999, "nineteen ninety-nine"), (2000, "two thousand"),
        (2005, "two thousand five"), (2010, "twenty ten"), (1900, "nineteen hundred"),
        (1905, "nineteen oh five"),
    ],
)
def test_year_words(n: int, expected: str) -> None:
    assert year_words(n) == expected


# --------------------------------------------------------------------------------------------
# Currency
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¥39.9", "thirty-nine point nine yuan"),
        ("￥39.90", "thirty-nine point nine yuan"),
        ("¥ 39.9", "thirty-nine point nine yuan"),
        ("CNY 1,299.00", "one thousand two hundred ninety-nine yuan"),
        ("99.9元", "ninety-nine point nine yuan"),
        ("RMB 88", "eighty-eight yuan"),
        ("RMB100", "one hundred yuan"),
        ("100 CNY", "one hundred yuan"),
        ("¥1", "one yuan"),
        ("$1", "one dollar"),
        ("$5", "five dollars"),
        ("$12.99", "twelve dollars and ninety-nine cents"),
        ("$1.01", "one dollar and one cent"),
        ("$0.99", "ninety-nine cents"),
        ("$5.5", "five dollars and fifty cents"),
        ("$3.00", "three dollars"),
        ("99 dollars", "ninety-nine dollars"),
        ("USD 1.5 million", "one point five million US dollars"),
        ("USD 5", "five US dollars"),
        ("5 USD", "five US dollars"),
        ("$1.5M", "one point five million dollars"),
        ("¥5k", "five thousand yuan"),
        ("HK$100", "one hundred Hong Kong dollars"),
        ("JPY 500", "five hundred yen"),
        ("€20", "twenty euros"),
        ("€1", "one euro"),
        ("€2.50", "two euros fifty"),
        ("£5.50", "five pounds fifty"),
        ("£0.50", "fifty pence"),
        ("£1", "one pound"),
        ("$5/kg", "five dollars per kilogram"),
        ("¥9.9/pc", "nine point nine yuan per piece"),
        ("¥1.5万", "fifteen thousand yuan"),
        ("Only ¥39.9 today!", "Only thirty-nine point nine yuan today!"),
        ("Was ¥199, now ¥99!", "Was one hundred ninety-nine yuan, now ninety-nine yuan!"),
    ],
)
def test_currency(text: str, expected: str) -> None:
    _check(text, expected)


# --------------------------------------------------------------------------------------------
# Percentages, quantities and units
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50%", "fifty percent"),
        ("12.5%", "twelve point five percent"),
        ("50% off", "fifty percent off"),
        ("Save 5%!", "Save five percent!"),
        ("-20%", "minus twenty percent"),
        ("100％", "one hundred percent"),
    ],
)
def test_percent(text: str, expected: str) -> None:
    _check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500 g", "five hundred grams"),
        ("500g", "five hundred grams"),
        ("1 g", "one gram"),
        ("1 kg", "one kilogram"),
        ("2 kg", "two kilograms"),
        ("0.5kg", "zero point five kilograms"),
        ("1.5 L", "one point five liters"),
        ("1l", "one liter"),
        ("250 ml", "two hundred fifty milliliters"),
        ("30 cm", "thirty centimeters"),
        ("5 m", "five meters"),
        ("5 min", "five minutes"),
        ("5 mins left", "five minutes left"),
        ("10 mm", "ten millimeters"),
        ("3.5 mm", "three point five millimeters"),
        ("2 in 1", "two in one"),
        ("65 W", "sixty-five watts"),
        ("65W", "sixty-five watts"),
        ("5000 mAh", "five thousand milliamp hours"),
        ("20,000mAh", "twenty thousand milliamp hours"),
        ("128 GB", "one hundred twenty-eight gigabytes"),
        ("1 TB", "one terabyte"),
        ("120 Hz", "one hundred twenty hertz"),
        ("8 oz", "eight ounces"),
        ("1 lb", "one pound"),
        ("2 lbs", "two pounds"),
        ("1 ft", "one foot"),
        ("6 ft", "six feet"),
        ("25°C", "twenty-five degrees Celsius"),
        ("25℃", "twenty-five degrees Celsius"),
        ("1°C", "one degree Celsius"),
        ("-5°C", "minus five degrees Celsius"),
        ("98.6°F", "ninety-eight point six degrees Fahrenheit"),
        ("2 pcs", "two pieces"),
        ("1 pc", "one piece"),
        ("2A", "two amps"),
        ('6.1" display', "six point one inches display"),
        ("60 fps", "sixty frames per second"),
        ("50MP camera", "fifty megapixels camera"),
        ("We ship in 24h.", "We ship in twenty-four hours."),
        ("4K", "four K"),
        ("8K TV", "eight K TV"),
        ("1080p", "ten eighty P"),
        ("10k steps", "ten thousand steps"),
        ("5万", "fifty thousand"),
        ("30x40cm", "thirty by forty centimeters"),
        ("3x faster", "three times faster"),
        ("x2", "times two"),
        ("×2", "times two"),
        ("500 ml x 2", "five hundred milliliters times two"),
    ],
)
def test_quantities(text: str, expected: str) -> None:
    _check(text, expected)


# --------------------------------------------------------------------------------------------
# Ranges
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3-5 days", "three to five days"),
        ("2-3 business days", "two to three business days"),
        ("¥39-59", "thirty-nine to fifty-nine yuan"),
        ("¥39 - ¥59", "thirty-nine to fifty-nine yuan"),
        ("$10 to $20", "ten to twenty dollars"),
        ("$9.99-19.99",
         "nine dollars and ninety-nine cents to nineteen dollars and ninety-nine cents"),
        ("9.9-19.9元", "nine point nine to nineteen point nine yuan"),
        ("10–20%", "ten to twenty percent"),
        ("10%-20%", "ten to twenty percent"),
        ("1-2 kg", "one to two kilograms"),
        ("-5~10°C", "minus five to ten degrees Celsius"),
        ("1999-2001", "nineteen ninety-nine to two thousand one"),
        ("24-7", "twenty-four seven"),
    ],
)
def test_ranges(text: str, expected: str) -> None:
    _check(text, expected)


# --------------------------------------------------------------------------------------------
# Dates, times, ordinals, years
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-11", "November eleventh, twenty twenty-four"),
        ("2024/6/18", "June eighteenth, twenty twenty-four"),
        ("12/25/2024", "December twenty-fifth, twenty twenty-four"),
        ("11/11", "November eleventh"),
        ("Nov 11", "November eleventh"),
        ("Dec. 12", "December twelfth"),
        ("March 8th", "March eighth"),
        ("November 11, 2024", "November eleventh, twenty twenty-four"),
        ("11 November 2024", "the eleventh of November, twenty twenty-four"),
        ("8:00 pm", "eight PM"),
        ("8:00 p.m.", "eight PM."),
        ("Sale ends at 8 p.m. tomorrow", "Sale ends at eight PM tomorrow"),
        ("8pm", "eight PM"),
        ("at 9am.", "at nine AM."),
        ("10:30 am", "ten thirty AM"),
        ("20:00", "eight PM"),
        ("20:30", "eight thirty PM"),
        ("8:00", "eight o'clock"),
        ("8:30", "eight thirty"),
        ("09:05", "nine oh five"),
        ("00:00", "midnight"),
        ("00:30", "twelve thirty AM"),
        ("9AM-5PM", "nine AM to five PM"),
        ("2-4pm", "two to four PM"),
        ("8:30-9:30", "eight thirty to nine thirty"),
        ("1st", "first"),
        ("2nd", "second"),
        ("23rd", "twenty-third"),
        ("1st place, 2nd place", "first place, second place"),
        ("in 2025", "in twenty twenty-five"),
        ("since 1999", "since nineteen ninety-nine"),
        ("2025", "twenty twenty-five"),
        ("the 2024 collection", "the twenty twenty-four collection"),
        ("1999 orders", "one thousand nine hundred ninety-nine orders"),
        ("2000 viewers", "two thousand viewers"),
    ],
)
def test_dates_times_years(text: str, expected: str) -> None:
    _check(text, expected)


# --------------------------------------------------------------------------------------------
# Model numbers, long digit strings, plain numbers, symbols
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RX-7", "R X seven"),
        ("X200", "X two hundred"),
        ("iPhone 15", "iPhone fifteen"),
        ("iPhone15", "iPhone fifteen"),
        # A lone "A" before a word is the article to espeak-ng; "A-twelve" says the letter.
        ("SKU A12-B", "SKU A-twelve B"),
        ("A4 paper", "A-four paper"),
        ("RTX4090", "R T X forty ninety"),
        ("Galaxy S24 Ultra", "Galaxy S twenty-four Ultra"),
        ("5G phone", "five G phone"),
        ("IP68", "I P sixty-eight"),
        ("i7", "I seven"),
        ("MP3", "M P three"),
        ("RX-7.2", "R X seven point two"),
        ("Use code SAVE20 now", "Use code SAVE twenty now"),
        ("COVID-19", "COVID nineteen"),
        ("40012345", "four zero zero one two three four five"),
        ("Order #12345", "Order number one two three four five"),
        ("Call 400-123-4567 now.", "Call four zero zero, one two three, four five six seven now."),
        ("10000", "ten thousand"),
    ],
)
def test_model_and_codes(text: str, expected: str) -> None:
    _check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", "three"),
        ("0.5", "zero point five"),
        (".5", "zero point five"),
        ("3.14", "three point one four"),
        ("12,000", "twelve thousand"),
        ("1,000,000", "one million"),
        ("-5", "minus five"),
        ("−5", "minus five"),
        ("007", "zero zero seven"),
        ("#1", "number one"),
        ("No. 1 seller", "number one seller"),
        ("Tom & Jerry", "Tom and Jerry"),
        ("2+1", "two plus one"),
        ("100+ reviews", "one hundred plus reviews"),
        ("1/2 price", "one half price"),
        ("3/4 cup", "three quarters cup"),
        ("24/7", "twenty-four seven"),
        ("16:9 screen", "sixteen to nine screen"),
        ("~50 left", "about fifty left"),
        ("Buy 2 get 1 free!", "Buy two get one free!"),
        ("e.g. this, etc.", "for example this, et cetera."),
        ("Mr. Wang says hi.", "Mister Wang says hi."),
        ("approx. 5 kg", "approximately five kilograms"),
    ],
)
def test_plain_numbers_and_symbols(text: str, expected: str) -> None:
    _check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great deal!!! 🔥🔥", "Great deal!!!"),
        ("Hurry… only today", "Hurry... only today"),
        ("Limited offer — act now", "Limited offer, act now"),
        ("Great (limited) deal!", "Great, limited, deal!"),
        ("He said “buy”.", "He said buy."),
        ("Is it good? Yes, very!", "Is it good? Yes, very!"),
        ("Brand™ quality", "Brand quality"),
        ("  lots   of   space  ", "lots of space"),
        ("好价。", "好价."),
    ],
)
def test_punctuation_kept_and_symbols_dropped(text: str, expected: str) -> None:
    _check(text, expected)


def test_language_tags() -> None:
    assert normalize_for_speech("$5", "en-US") == "five dollars"
    # zh: digits stay (the Chinese voice reads them); only the word order changes.
    assert normalize_for_speech("只要¥39.9，打50%折", "zh") == "只要39.9元，打百分之50折"
    assert normalize_for_speech("Only  $5", "fr") == "Only $5"


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("One.\n\nTwo.", ["One.", "Two."]),
        ("Line one\nline two\n\n\n\nNext", ["Line one line two", "Next"]),
        ("  \n\nA\r\n\r\nB  \n \n", ["A", "B"]),
        ("", []),
        ("\n\n\n", []),
    ],
)
def test_split_paragraphs(script: str, expected: list[str]) -> None:
    assert split_paragraphs(script) == expected


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("Hi there. Welcome!", ["Hi there.", "Welcome!"]),
        ("Only 39.9 today. Buy now!", ["Only 39.9 today.", "Buy now!"]),
        ("It costs 1,299.00 yuan. Wow", ["It costs 1,299.00 yuan.", "Wow"]),
        ("Mr. Wang and Dr. Li agree. Yes?", ["Mr. Wang and Dr. Li agree.", "Yes?"]),
        ("Colors, e.g. red, i.e. bright. Next.", ["Colors, e.g. red, i.e. bright.", "Next."]),
        ("Red, blue, etc. are here. Go!", ["Red, blue, etc. are here.", "Go!"]),
        ("Apples vs. pears. Done.", ["Apples vs. pears.", "Done."]),
        ("It is No. 1 in sales. Say no. Then go.",
         ["It is No. 1 in sales.", "Say no.", "Then go."]),
        ("It weighs approx. 5 kg. Light!", ["It weighs approx. 5 kg.", "Light!"]),
        ("Made in the U.S. and loved. Sure.", ["Made in the U.S. and loved.", "Sure."]),
        ("The RX-7.2 is back. Great.", ["The RX-7.2 is back.", "Great."]),
        ("Wait... Really?! Yes.", ["Wait...", "Really?!", "Yes."]),
        ("Hmm… ok. Fine", ["Hmm…", "ok.", "Fine"]),
        ('He said "Buy now!" Then left.', ['He said "Buy now!"', "Then left."]),
        ("(Really.) Ok", ["(Really.)", "Ok"]),
        ("今天特价。只要39.9元！快来抢？好的", ["今天特价。", "只要39.9元！", "快来抢？", "好的"]),
        ("“好吗？”好。", ["“好吗？”", "好。"]),
        ("No ending", ["No ending"]),
        ("", []),
    ],
)
def test_split_sentences(paragraph: str, expected: list[str]) -> None:
    assert split_sentences(paragraph) == expected


def test_long_sentence_split_at_semicolons_first() -> None:
    clause = "first we show the fabric and the stitching up close"
    sentence = "; ".join([clause] * 6) + "."
    parts = split_sentences(sentence)
    assert len(parts) > 1
    assert all(len(p) <= 220 for p in parts)
    assert all(p.endswith((";", ".")) for p in parts)
    assert " ".join(parts) == sentence


def test_long_sentence_split_at_commas() -> None:
    sentence = "This jacket is waterproof, windproof and breathable, " * 6 + "so grab it now!"
    parts = split_sentences(sentence.strip())
    assert len(parts) == 2
    assert all(len(p) <= 220 for p in parts)
    assert parts[-1].endswith("so grab it now!")
    assert " ".join(parts) == sentence.strip()


def test_long_sentence_split_at_dashes_and_cjk_commas() -> None:
    sentence = "—".join(["a really long stretch of words without commas at all"] * 6)
    parts = split_sentences(sentence)
    assert len(parts) > 1
    assert all(len(p) <= 220 for p in parts)
    zh = "这款外套防水，防风，透气，" * 30 + "快来买吧。"
    zh_parts = split_sentences(zh)
    assert len(zh_parts) > 1
    assert all(len(p) <= 220 for p in zh_parts)
    assert "".join(zh_parts) == zh


def test_a_script_without_punctuation_reads_in_bounded_sentences() -> None:
    # 5,000 words with no sentence or clause punctuation once drove a render to 24 GB: the
    # paragraph is cut between words into sentences a voice synthesises in bounded memory.
    words = [f"word{i % 97}" for i in range(5000)]
    parts = split_sentences(" ".join(words))
    assert all(0 < len(p) <= 220 for p in parts)
    assert " ".join(parts).split() == words  # every word, in order, none cut in two
    zh = "今天只要¥39.9喜欢的朋友赶紧下单" * 100  # Mandarin: cut at word ends, not in a price
    zh_parts = split_sentences(zh)
    assert all(0 < len(p) <= 220 for p in zh_parts) and "".join(zh_parts) == zh
    assert not any("¥39" in p[-4:] and not p.endswith("¥39.9") for p in zh_parts)
    assert all(len(p) <= 220 for p in split_sentences("x" * 1000))  # one endless "word"


def test_a_long_clause_streams_its_first_words_first() -> None:
    from studio.voice.types import split_clauses

    # A slow voice starts on the first words; each later chunk is at most twice what is
    # already out (synthesised while that plays), cut at commas where it can, else between
    # words.
    sentence = ("This moisturising cream is only $39.99 today, and if you order in the next "
                "ten minutes, we add a travel-size bottle for free, so tap the link below.")
    chunks = split_clauses(sentence, "en")
    assert chunks[0] == "This moisturising" and " ".join(chunks) == sentence
    for k in range(1, len(chunks) - 1):
        assert len(chunks[k]) <= 2 * max(8, sum(len(c) for c in chunks[:k]))
    zh = "今天直播间只要¥39.9就能把这款保湿面霜带回家，买两瓶再送一个旅行装。"
    zh_chunks = split_clauses(zh, "zh")
    assert "".join(zh_chunks) == zh and len(zh_chunks[0]) <= 10
    assert "¥39.9" in "".join(c for c in zh_chunks if "¥" in c)  # the price is never cut
    assert split_clauses("Welcome back, everyone.", "en") == ["Welcome back,", "everyone."]
    assert split_clauses("Hello there friends.", "en") == ["Hello there friends."]  # short


def test_short_sentence_with_commas_not_split() -> None:
    assert split_sentences("Red, green, blue; all in stock — today only.") == [
        "Red, green, blue; all in stock — today only."
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Only ¥39.9 today!", ["Only", "¥39.9", "today!"]),
        ("  Buy   now,\nfriends. ", ["Buy", "now,", "friends."]),
        ("", []),
    ],
)
def test_speech_words(text: str, expected: list[str]) -> None:
    assert speech_words(text) == expected


# --------------------------------------------------------------------------------------------
# Units as a host says them
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5 HP", "one point five horsepower"),
        ("a 2 hp motor", "a two horsepower motor"),
        ("3 kW", "three kilowatts"),
        ("5000 mAh", "five thousand milliamp hours"),
        ("512 GB", "five hundred twelve gigabytes"),
        ("2 TB", "two terabytes"),
        ("64 MB", "sixty-four megabytes"),
        ("65 W", "sixty-five watts"),
        ("a 65 W charger", "a sixty-five watt charger"),
        ("the 500 g of flour", "the five hundred grams of flour"),
        ("220 V", "two hundred twenty volts"),
        ("2A", "two amps"),
        ("50 Hz", "fifty hertz"),
        ("44.1 kHz", "forty-four point one kilohertz"),
        ("12 mm", "twelve millimeters"),
        ("30 cm", "thirty centimeters"),
        ("1 m", "one meter"),
        ("5 km", "five kilometers"),
        ("500 g", "five hundred grams"),
        ("1 kg", "one kilogram"),
        ("200 mg", "two hundred milligrams"),
        ("250 ml", "two hundred fifty milliliters"),
        ("1.5 L", "one point five liters"),
        ("8 oz", "eight ounces"),
        ("2 lb", "two pounds"),
        ("27in", "twenty-seven inches"),
        ("6 ft", "six feet"),
        ("36°C", "thirty-six degrees Celsius"),
        ("36℃", "thirty-six degrees Celsius"),
        ("98.6 °F", "ninety-eight point six degrees Fahrenheit"),
        ("60 fps", "sixty frames per second"),
        ("30 mph", "thirty miles per hour"),
        ("120 km/h", "one hundred twenty kilometers per hour"),
        ("3000 rpm", "three thousand revolutions per minute"),
        ("3-5 kg", "three to five kilograms"),
    ],
)
def test_units(text: str, expected: str) -> None:
    _check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 in stock", "five in stock"),  # "in" counts as inches only glued on
        ("2 A grade", "two A grade"),
        ("10 in 1", "ten in one"),
    ],
)
def test_unit_lookalikes_are_words(text: str, expected: str) -> None:
    _check(text, expected)


# --------------------------------------------------------------------------------------------
# Pronunciations and markup
# --------------------------------------------------------------------------------------------

_TABLE = {"Xiaomi": "[[ ʃˈaʊmiː ]]", "Earbuds Pro": "Ear-buds Pro", "Huawei": "Wah-way"}


def test_pronunciations_whole_word_any_case() -> None:
    from studio.voice.text import apply_pronunciations

    assert apply_pronunciations("XIAOMI and xiaomi.", _TABLE) == (
        "[[ ʃˈaʊmiː ]] and [[ ʃˈaʊmiː ]].")
    assert apply_pronunciations("Huaweis and HuaweiX stay", _TABLE) == "Huaweis and HuaweiX stay"
    assert apply_pronunciations("our earbuds   pro, and Earbuds", _TABLE) == (
        "our Ear-buds Pro, and Earbuds")
    assert apply_pronunciations("Huawei", {}) == "Huawei"


def test_pronunciations_longest_key_wins_and_no_rewrites_of_results() -> None:
    from studio.voice.text import apply_pronunciations

    table = {"Pro": "Prow", "Earbuds Pro": "Ear-buds Pro"}
    assert apply_pronunciations("Earbuds Pro and Pro", table) == "Ear-buds Pro and Prow"


def test_inline_phonemes_survive_normalisation() -> None:
    from studio.voice.text import apply_pronunciations

    said = normalize_for_speech(apply_pronunciations("The Xiaomi 14, ¥39.9.", _TABLE))
    assert said == "The [[ ʃˈaʊmiː ]] fourteen, thirty-nine point nine yuan."


def test_markup_is_never_read_aloud() -> None:
    said = normalize_for_speech('Wait <break time="1s"/> for it, <emphasis>really</emphasis>!')
    assert said == "Wait for it, really!"
    assert "break" not in normalize_for_speech('<speak>Hi <break time="500ms"/> there</speak>')
    # A comparison is not a tag: its numbers are still said.
    assert normalize_for_speech("if 3 <5").split()[:2] == ["if", "three"]
