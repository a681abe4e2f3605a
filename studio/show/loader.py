"""Load and validate a show file, turning every problem into a message a merchant can act on."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from studio.core.errors import UserInputError
from studio.show.model import Show, pronunciation_problems

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}


@dataclass(frozen=True, slots=True)
class ShowProblem:
    """One problem in a show file: where, which field, what is expected."""

    path: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class ShowFileError(UserInputError):
    """A show file that cannot be used; ``problems`` lists every problem, not only the first."""

    def __init__(self, path: Path, problems: Sequence[ShowProblem]) -> None:
        self.path = path
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{path}: {count} problem{'s' if count != 1 else ''} in the show file"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


def _field_name(loc: Sequence[str | int], data: Any) -> str:
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = ""
            if isinstance(node, list) and 0 <= item < len(node) and isinstance(node[item], dict):
                pid = node[item].get("id")
                label = f" (id {pid!r})" if isinstance(pid, str) else ""
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item + 1}]{label}"]
        else:
            parts.append(str(item))
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts)


def _line_of(text: str, loc: Sequence[str | int]) -> int | None:
    """Best-effort line number for a pydantic location, found by walking the TOML's headers."""
    lines = text.splitlines()
    table_re = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]\s*(#.*)?$")
    array_re = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]\s*(#.*)?$")
    # Split the location into the table path and the key inside it.
    table: list[str] = []
    index: int | None = None
    rest = list(loc)
    while rest:
        head = rest[0]
        if isinstance(head, int):
            index = head
            rest.pop(0)
            break
        if len(rest) == 1:
            break
        table.append(str(rest.pop(0)))
    key = str(rest[0]) if rest and not isinstance(rest[0], int) else None
    name = ".".join(table)
    start, end = 0, len(lines)
    if name:
        found = None
        count = -1
        for number, line in enumerate(lines):
            m = array_re.match(line) if index is not None else table_re.match(line)
            if m and m.group(1) == name:
                count += 1
                if index is None or count == index:
                    found = number
                    break
        if found is None:
            return None
        start = found
        end = next((n for n in range(found + 1, len(lines))
                    if table_re.match(lines[n]) or array_re.match(lines[n])), len(lines))
    if key is None:
        return start + 1
    key_re = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for number in range(start, end):
        if key_re.match(lines[number]):
            return number + 1
    return start + 1 if name else None


def load_show(path: str | Path, *,
              checks: Callable[[Show], list[ShowProblem]] | None = None) -> Show:
    """Parse and validate a show file; raises ``ShowFileError`` listing every problem.

    ``checks`` adds problems this layer cannot see (``studio check`` passes the voice's, from
    studio.engine.preflight); they are listed with the file's own."""
    show_path = Path(path)
    if not show_path.exists():
        raise ShowFileError(show_path, [ShowProblem(
            show_path, None, "", "file not found; check the path (show files end in .toml)")])
    try:
        raw = show_path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ShowFileError(show_path, [ShowProblem(
            show_path, None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save the file as UTF-8")]) from None
    except OSError as exc:
        raise ShowFileError(show_path, [ShowProblem(
            show_path, None, "", f"cannot be read: {exc.strerror}")]) from None
    return parse_show(text, show_path, checks=checks)


def parse_show(text: str, show_path: Path, *,
               checks: Callable[[Show], list[ShowProblem]] | None = None) -> Show:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        message = str(getattr(exc, "msg", exc))
        if line is None:
            m = re.search(r"line (\d+)", str(exc))
            line = int(m.group(1)) if m else None
            message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise ShowFileError(show_path, [ShowProblem(
            show_path, line, "", f"not valid TOML: {message}")]) from None

    problems: list[ShowProblem] = []
    table = data.get("pronunciations")
    if isinstance(table, dict):
        table_problems = pronunciation_problems(table)
        for key, message in table_problems:
            problems.append(ShowProblem(show_path, _line_of(text, ("pronunciations", key)),
                                        f"pronunciations.{_quoted_key(key)}", message))
        if table_problems:  # reported above, by key; the rest of the file is still checked
            data = {k: v for k, v in data.items() if k != "pronunciations"}
    show: Show | None = None
    try:
        show = Show.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = _describe(err)
            problems.append(ShowProblem(show_path, _line_of(text, loc), _field_name(loc, data),
                                        message))
    problems += _script_problems(text, data, show_path)
    if show is not None:
        show.with_source(show_path)
        for number, product in enumerate(show.products):
            image = show.product_image_path(product)
            problem = None if image is None else image_problem(image)
            if problem is not None:
                loc = ("products", number, "image")
                problems.append(ShowProblem(show_path, _line_of(text, loc),
                                            _field_name(loc, data), problem))
        if checks is not None:
            problems += checks(show)
    if problems:
        raise ShowFileError(show_path, problems)
    assert show is not None
    return show


IMAGE_FIX = ("replace it with a PNG, JPEG, WebP, BMP or GIF that opens in an image viewer, "
             "or remove the product's image line")


def image_problem(image: Path) -> str | None:
    """Why a product image cannot be shown (missing, not an image type, empty, corrupt), or
    None. Decoded for real (Pillow's verify, then a load), as the card will: a file that only
    looks like an image is refused here, by ``studio check`` and every command that loads."""
    if not image.is_file():
        return f"image file not found: {image}; the path is relative to the show file"
    if image.suffix.lower() not in IMAGE_SUFFIXES:
        return f"expected a PNG, JPEG, WebP, BMP or GIF image, got {image.name}"
    try:
        if image.stat().st_size == 0:
            return f"the image {image} is empty (0 bytes); {IMAGE_FIX}"
    except OSError as exc:
        return f"the image {image} cannot be read ({exc.strerror or exc}); {IMAGE_FIX}"
    from PIL import Image

    try:
        with Image.open(image) as source:
            source.verify()  # the file's structure and checksums, without decoding
        with Image.open(image) as source:  # verify leaves the image unusable: open again
            source.draft("RGB", (1024, 1024))  # JPEG: decode at reduced size, much faster
            source.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error…
        return f"the image {image} cannot be decoded ({exc}); {IMAGE_FIX}"
    return None


def field_problem(show: Show, loc: Sequence[str | int], message: str) -> ShowProblem:
    """A problem found after loading, at the line of ``loc`` (("host", "voice")) in the show's
    file; ``path`` is "show" for a show built in code."""
    path = show.source_path
    if path is None:
        return ShowProblem(Path("show"), None, ".".join(str(p) for p in loc), message)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    return ShowProblem(path, _line_of(text, loc) if text else None,
                       ".".join(str(p) for p in loc), message)


# SSML-like markup ("<break time="1s"/>", "<emphasis>", "</speak>", "<!-- -->"): the voice
# would read it aloud or drop it, so a show with markup is refused rather than half-honoured.
# Kept in step with studio.voice.text.MARKUP (the show layer does not import the voice).
MARKUP = re.compile(r"<!--.*?-->|<[/!?]?[A-Za-z][^<>]*>", re.S)
MARKUP_FIX = ("markup is not supported (the voice reads plain text); remove it: for a pause "
              "end the sentence or start a new paragraph ([show] pause_between_sentences_s "
              "sets how long), and for emphasis choose the words")


def _quoted_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def speakable(text: str) -> bool:
    """Whether a script has anything to say: a letter or a digit outside markup (not only
    emoji, punctuation or symbols)."""
    return any(unicodedata.category(c)[0] in "LN" for c in MARKUP.sub(" ", text))


def _script_problems(text: str, data: Any, show_path: Path) -> list[ShowProblem]:
    """Markup and scripts with nothing to say, in the intro, the outro and every script; read
    from the file's data, so they are listed even when other fields are wrong."""
    spoken: list[tuple[tuple[str | int, ...], object]] = []
    meta = data.get("show")
    if isinstance(meta, dict):
        spoken += [(("show", key), meta.get(key)) for key in ("intro", "outro")]
    products = data.get("products")
    if isinstance(products, list):
        spoken += [(("products", n, "script"), p.get("script"))
                   for n, p in enumerate(products) if isinstance(p, dict)]
    problems: list[ShowProblem] = []
    lines = text.splitlines()
    for loc, script in spoken:
        if not isinstance(script, str) or not script.strip():
            continue  # missing or empty: the schema says whether that is allowed
        field = _field_name(loc, data)
        key_line = _line_of(text, loc)
        by_line: dict[int | None, list[str]] = {}
        line = key_line
        for m in MARKUP.finditer(script):
            tag = " ".join(m.group().split())
            # The tag's start as the file writes it (quotes inside may be escaped there).
            head = re.split(r"[\s\"'\\]", m.group(), maxsplit=1)[0]
            line = _line_containing(lines, line, head)
            by_line.setdefault(line, []).append(tag)
        for line, tags in by_line.items():
            shown = ", ".join(dict.fromkeys(tags))
            problems.append(ShowProblem(show_path, line, field, f"{shown}: {MARKUP_FIX}"))
        if not speakable(script):
            problems.append(ShowProblem(
                show_path, key_line, field,
                "nothing to say: no letters or digits, only emoji, punctuation or symbols; "
                "write the words the host should say"))
    return problems


def _line_containing(lines: list[str], start_line: int | None, snippet: str) -> int | None:
    """The first line at or after ``start_line`` (1-based) that contains ``snippet``."""
    if start_line is None:
        return None
    for number in range(start_line - 1, len(lines)):
        if snippet in lines[number]:
            return number + 1
    return start_line


def _describe(err: Any) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", ""))
    if kind == "extra_forbidden":
        return "unknown key (a typo?); remove it or check the spelling against the README"
    if kind == "missing":
        return "required but missing"
    msg = msg.removeprefix("Value error, ")
    value = err.get("input")
    if kind in {"float_parsing", "float_type", "int_type", "string_type", "list_type",
                "bool_type", "model_type", "dict_type"}:
        return f"{msg[0].lower()}{msg[1:]}, got {value!r}"
    return msg
