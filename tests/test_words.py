"""Word timings: the script's written words on the real voice's phonemes, increasing and never
overlapping, each inside the sentence's speech, a token read as several words spanning them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from studio.voice.types import PhonemeSpan, SpeechClip, WordSpan
from studio.voice.words import phoneme_groups, word_spans


def _demo_sentences() -> list[str]:
    from studio.paths import demo_show_path
    from studio.show.loader import load_show
    from studio.voice.text import split_paragraphs, split_sentences

    show = load_show(demo_show_path())
    texts = [show.show.intro, *(p.script for p in show.products), show.show.outro]
    return [s for text in texts for p in split_paragraphs(text) for s in split_sentences(p)]


@pytest.fixture(scope="module")
def demo_clips(piper_voice: Any) -> list[SpeechClip]:
    """The demo show's sentences as the shipped Piper voice says them (about 20 s on 2 cores)."""
    return [piper_voice.synthesize(sentence) for sentence in _demo_sentences()]


def _assert_well_formed(sentence: str, spans: list[WordSpan], phonemes: tuple[PhonemeSpan, ...]
                        ) -> None:
    groups = phoneme_groups(phonemes)
    speech_start, speech_end = groups[0][0], groups[-1][1]
    assert [w.text for w in spans] == sentence.split()
    for word in spans:
        assert speech_start <= word.start_samples < word.end_samples <= speech_end, word
    for a, b in itertools.pairwise(spans):
        assert a.start_samples < b.start_samples, (a, b)
        assert a.end_samples <= b.start_samples, (a, b)


def test_demo_word_spans_increase_and_never_overlap(demo_clips: list[SpeechClip]) -> None:
    pairs = 0
    for clip in demo_clips:
        spans = word_spans(clip.text, clip.phonemes)
        _assert_well_formed(clip.text, spans, clip.phonemes)
        pairs += len(spans) - 1
    assert pairs >= 140  # the whole demo, not a handful of sentences


def _clip(clips: list[SpeechClip], needle: str) -> SpeechClip:
    return next(c for c in clips if needle in c.text)


def _span(spans: list[WordSpan], text: str) -> WordSpan:
    return next(w for w in spans if w.text == text)


def _groups_inside(clip: SpeechClip, word: WordSpan) -> int:
    return sum(1 for start, end, _ in phoneme_groups(clip.phonemes)
               if word.start_samples <= start and end <= word.end_samples)


def test_tokens_read_as_several_words_span_all_of_them(demo_clips: list[SpeechClip]) -> None:
    # "¥39.9" is "thirty-nine point nine yuan": four spoken words, four phoneme groups.
    price_clip = _clip(demo_clips, "¥39.9")
    price = _span(word_spans(price_clip.text, price_clip.phonemes), "¥39.9,")
    assert _groups_inside(price_clip, price) == 4
    # "250 ml": "two hundred fifty" then "milliliters".
    ml_clip = _clip(demo_clips, "250 ml")
    ml_spans = word_spans(ml_clip.text, ml_clip.phonemes)
    assert _groups_inside(ml_clip, _span(ml_spans, "250")) == 3
    assert _groups_inside(ml_clip, _span(ml_spans, "ml,")) >= 1
    # "3-5" is "three to five".
    range_clip = _clip(demo_clips, "3-5")
    assert _groups_inside(range_clip, _span(word_spans(range_clip.text, range_clip.phonemes),
                                            "3-5")) == 3
    # A word after the price starts after all of the price is said.
    down = _span(word_spans(price_clip.text, price_clip.phonemes), "down")
    assert down.start_samples >= price.end_samples


def test_the_voice_reports_these_spans(demo_clips: list[SpeechClip]) -> None:
    """What the timeline gets from the voice (clip.words) is as well formed."""
    for clip in demo_clips:
        _assert_well_formed(clip.text, list(clip.words), clip.phonemes)


def test_pronunciations_and_inline_phonemes(piper_voice: Any) -> None:
    from studio.voice.text import apply_pronunciations

    table = {"Xiaomi": "[[ ʃˈaʊmiː ]]", "Earbuds Pro": "Ear-buds Pro"}
    sentence = "Meet the Xiaomi phone and our Earbuds Pro, at ¥39.9 today."
    said = piper_voice.synthesize(apply_pronunciations(sentence, table))
    spans = word_spans(sentence, said.phonemes, "en", pronunciations=table)
    _assert_well_formed(sentence, spans, said.phonemes)
    # The inline phonemes reached the voice as written.
    symbols = "".join(p.phoneme for p in said.phonemes)
    assert "ʃˈaʊmiː" in symbols


def _spans(*groups: tuple[str, int]) -> tuple[PhonemeSpan, ...]:
    """Phonemes from (symbols, samples per symbol) groups, a word gap between groups."""
    out: list[PhonemeSpan] = [PhonemeSpan("^", 0, 100)]
    t = 100
    for symbols, each in groups:
        for symbol in symbols:
            out.append(PhonemeSpan(symbol, t, t + each))
            t += each
        out.append(PhonemeSpan(" ", t, t + 50))
        t += 50
    out.append(PhonemeSpan("$", t, t + 100))
    return tuple(out)


def test_merged_groups_are_shared_without_overlap() -> None:
    # espeak says "with the" as one group: three words, two groups.
    phonemes = _spans(("wɪððə", 100), ("kˈeɪs", 100))
    spans = word_spans("with the case", phonemes)
    _assert_well_formed("with the case", spans, phonemes)
    assert spans[2].start_samples == phonemes[7].start_samples  # "case" is the second group


def test_silent_tokens_still_get_a_span() -> None:
    sentence = "Hello — world 🎉"
    phonemes = _spans(("həlˈoʊ", 100), ("wˈɜːld", 100))
    spans = word_spans(sentence, phonemes)
    _assert_well_formed(sentence, spans, phonemes)


def test_nothing_said_gives_no_spans() -> None:
    assert word_spans("Hello.", (PhonemeSpan("^", 0, 10), PhonemeSpan("$", 10, 20))) == []
    assert word_spans("", _spans(("ab", 10))) == []


def test_mandarin_words_are_the_written_words_in_order() -> None:
    sentence = "今天只要¥39.9，3-5天发货！"
    phonemes = _spans(("tɕintʰjɛn", 100), ("tʂɯjɑʊ", 100), ("sanʂɻtɕjoʊkʰwaɪtɕjoʊ", 100),
                      ("santaʊwutʰjɛnfaxwo", 100))
    spans = word_spans(sentence, phonemes, "zh")
    words = [w.text for w in spans]
    assert "¥39.9" in words and "".join(words) == "今天只要¥39.93-5天发货"
    for a, b in itertools.pairwise(spans):
        assert a.start_samples < b.start_samples and a.end_samples <= b.start_samples


@pytest.mark.parametrize(
    ("sentence", "heard", "not_heard"),
    [
        ("A 1.5 HP motor.", "hˈɔːɹspaʊɚ", "ˈeɪtʃ"),  # "horsepower", not "H P"
        ("It has 5000 mAh.", "mˈɪlɪʲˌæmp", "ˈeɪtʃ"),
        ("Take 2 kg.", "kˈɪləɡɹˌæmz", "kˈeɪdʒˈiː"),
    ],
)
def test_the_voice_says_units_as_words(piper_voice: Any, sentence: str, heard: str,
                                       not_heard: str) -> None:
    """What the real voice pronounces (its phonemes), not only what the text front-end wrote."""
    symbols = "".join(p.phoneme for p in piper_voice.synthesize(sentence).phonemes)
    assert heard in symbols
    assert not_heard not in symbols
