"""Show files: valid ones load; each kind of mistake gets a message naming file, line, field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from studio.cli import main
from studio.show.loader import ShowFileError, load_show
from tests.conftest import MINIMAL_SHOW


def test_demo_show_is_valid() -> None:
    from studio.paths import demo_show_path

    show = load_show(demo_show_path())
    assert len(show.products) >= 3
    assert show.show.language == "en"
    for product in show.products:
        image = show.product_image_path(product)
        assert image is None or image.is_file()


def test_minimal_show_gets_defaults(write_show: Callable[[str], Path]) -> None:
    show = load_show(write_show(MINIMAL_SHOW))
    assert show.host.avatar == "default"
    assert show.products[0].currency == "CNY"
    assert show.stage.background == "studio-blue"


BAD_SHOWS = {
    "toml syntax": (MINIMAL_SHOW.replace('price = 39.9', 'price = 39.9.9'), 12, "not valid TOML"),
    "unknown key": (MINIMAL_SHOW.replace('voice = "en_US-joe-medium"',
                                         'voice = "en_US-joe-medium"\nvoise = "x"'), 8,
                    "host.voise: unknown key"),
    "wrong type": (MINIMAL_SHOW.replace("price = 39.9", 'price = "cheap"'), 12,
                   "products[1] (id 'mug').price"),
    "missing field": (MINIMAL_SHOW.replace('name = "Coffee Mug"\n', ""), 9,
                      "products[1] (id 'mug').name: required but missing"),
    "bad currency": (MINIMAL_SHOW.replace('currency = "CNY"', 'currency = "YUAN"'), 13,
                     "ISO 4217"),
    "missing image": (MINIMAL_SHOW.replace('currency = "CNY"',
                                           'currency = "CNY"\nimage = "nope.png"'), 14,
                      "image file not found"),
    "no products": ('[show]\ntitle = "x"\n', None, "products: required but missing"),
    "duplicate id": (MINIMAL_SHOW + MINIMAL_SHOW[MINIMAL_SHOW.index("[[products]]"):], None,
                     "used twice"),
    "old price below price": (MINIMAL_SHOW.replace("price = 39.9",
                                                   "price = 39.9\noriginal_price = 20"), None,
                              "must be higher"),
    "bad colour": ('[show]\ntitle = "x"\n[host.look]\nhair_color = "brown"\n'
                   + MINIMAL_SHOW[MINIMAL_SHOW.index("[[products]]"):], 4,
                   "host.look.hair_color"),
}


@pytest.mark.parametrize("kind", sorted(BAD_SHOWS))
def test_bad_show_is_refused_with_a_clear_message(
        kind: str, write_show: Callable[[str], Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    text, line, expected = BAD_SHOWS[kind]
    path = write_show(text)
    with pytest.raises(ShowFileError) as info:
        load_show(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message
    if line is not None:
        assert f"{path}:{line}:" in message

    out = tmp_path / "out.mp4"
    status = main(["render", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert expected in err
    assert "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part"))


def test_several_problems_are_all_listed(write_show: Callable[[str], Path]) -> None:
    text = MINIMAL_SHOW.replace("price = 39.9", 'price = -1').replace(
        'currency = "CNY"', 'currency = "ZZZ"\ncolour = "red"')
    with pytest.raises(ShowFileError) as info:
        load_show(write_show(text))
    assert len(info.value.problems) == 3
    fields = " ".join(str(p) for p in info.value.problems)
    assert ".price" in fields and ".currency" in fields and ".colour" in fields


def test_missing_show_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["render", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o.mp4")])
    assert status == 2
    assert "file not found" in capsys.readouterr().err


def test_check_command_reports_ok(write_show: Callable[[str], Path],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(write_show(MINIMAL_SHOW))]) == 0
    assert "OK" in capsys.readouterr().out


_PRONUNCIATIONS = MINIMAL_SHOW + '''
[pronunciations]
Xiaomi = "[[ ʃˈaʊmiː ]]"
"Earbuds  Pro" = " Ear-buds Pro "
'''


def test_pronunciations_table_loads_and_writes_back(write_show: Callable[[str], Path],
                                                    tmp_path: Path) -> None:
    from studio.show.writer import show_to_toml
    from studio.show.writer import write_show as save

    path = write_show(_PRONUNCIATIONS)
    show = load_show(path)
    assert show.pronunciations == {"Xiaomi": "[[ ʃˈaʊmiː ]]", "Earbuds Pro": "Ear-buds Pro"}
    save(show, path)
    assert load_show(path).pronunciations == show.pronunciations
    # A show without the table has none, and writing it adds no empty table.
    (tmp_path / "plain.toml").write_text(MINIMAL_SHOW, encoding="utf-8")
    plain = load_show(tmp_path / "plain.toml")
    assert plain.pronunciations == {}
    assert "pronunciations" not in show_to_toml(plain)


def test_bad_pronunciations_are_all_listed_with_lines(write_show: Callable[[str], Path]) -> None:
    text = MINIMAL_SHOW + '''
[pronunciations]
Xiaomi = "[[ ʃˈaʊmiː ]]"
XIAOMI = "Shao-mee"
"Earbuds Pro" = ""
"" = "nothing"
Huawei = "[[ ]]"
Oppo = "Op [[ po ]]"
'''
    with pytest.raises(ShowFileError) as info:
        load_show(write_show(text))
    problems = {p.field: p for p in info.value.problems}
    lines = text.splitlines()

    def line_of(prefix: str) -> int:
        return next(n for n, line in enumerate(lines, 1) if line.startswith(prefix))

    assert problems["pronunciations.XIAOMI"].line == line_of("XIAOMI")
    assert "same word as 'Xiaomi'" in problems["pronunciations.XIAOMI"].message
    assert problems['pronunciations."Earbuds Pro"'].line == line_of('"Earbuds Pro"')
    assert "empty" in problems['pronunciations."Earbuds Pro"'].message
    assert problems['pronunciations.""'].line == line_of('""')
    assert "empty" in problems["pronunciations.Huawei"].message
    assert "[[" in problems["pronunciations.Oppo"].message
    assert len(info.value.problems) == 5


def _with_script(script: str, intro: str = "") -> str:
    return MINIMAL_SHOW.replace('script = "This mug costs ¥39.9 today."',
                                f'script = """\n{script}\n"""').replace(
        'language = "en"', f'language = "en"\nintro = "{intro}"')


def test_markup_is_refused_naming_the_line(write_show: Callable[[str], Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    text = _with_script('This mug is great.\nWait <break time="1s"/> for it.\n'
                        "It is <emphasis>really</emphasis> cheap.")
    path = write_show(text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    lines = text.splitlines()
    break_line = next(n for n, line in enumerate(lines, 1) if "<break" in line)
    assert f"{path}:{break_line}:" in err
    assert f"{path}:{break_line + 1}:" in err
    assert '<break time="1s"/>' in err and "<emphasis>" in err
    assert "markup is not supported" in err
    assert "2 problems" in err


def test_nothing_speakable_is_an_error(write_show: Callable[[str], Path]) -> None:
    text = _with_script("🎉🎉 ✨ !!! ...", intro="👋")
    with pytest.raises(ShowFileError) as info:
        load_show(write_show(text))
    fields = sorted(p.field for p in info.value.problems)
    assert fields == ["products[1] (id 'mug').script", "show.intro"]
    assert all("nothing to say" in p.message for p in info.value.problems)
    assert all(p.line is not None for p in info.value.problems)


def test_script_problems_are_listed_with_other_problems(
        write_show: Callable[[str], Path]) -> None:
    text = _with_script("<emphasis>Buy</emphasis> it.").replace("price = 39.9", "price = -1")
    with pytest.raises(ShowFileError) as info:
        load_show(write_show(text))
    messages = " | ".join(p.message for p in info.value.problems)
    assert "markup is not supported" in messages
    assert "greater than 0" in messages
