"""Photo avatar packages and the consent on record (issue 10, items 3 and 4).

The package is made from ``skimage.data.astronaut()`` (public domain) through the real photo
avatar, and everything is asserted on what a user gets: the files and their hashes, what
``studio avatar check`` / ``studio check`` / ``studio render`` print and exit with, the tags
in the MP4 (read back with PyAV) and the as-run log's records.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from studio.avatar.base import AvatarRefused
from studio.avatar.package import verify_package
from studio.cli import main

CONSENT_TEXT = ("I, Eileen Collins, agree that LiveHost Studio may make and use a digital "
                "likeness of me for live commerce streams of Example Shop until 2027-12-31.\n")
SHOW = """
[show]
title = "Likeness Test"
language = "en"

[host]
name = "Eileen"
voice = "en_US-joe-medium"
avatar = "{avatar}"

[[products]]
id = "mug"
name = "Coffee Mug"
price = 10
currency = "USD"
script = "This mug is ten dollars."
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One package, made through the command, shared (read-only) by the tests."""
    from skimage import data

    folder = tmp_path_factory.mktemp("made")
    portrait = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(portrait)
    consent = folder / "Eileen consent.txt"
    consent.write_text(CONSENT_TEXT, encoding="utf-8")
    package = folder / "eileen"
    status = main(["avatar", "create", str(portrait), "--owner", "Eileen Collins",
                   "--consent", str(consent), "--out", str(package),
                   "--created-by", "Studio Ops", "--registration-id", "VA-2026-0042"])
    assert status == 0
    return {"portrait": portrait, "consent": consent, "package": package}


def copy_of(made: dict[str, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "eileen"
    shutil.copytree(made["package"], copy)
    return copy


def test_the_package_holds_the_avatar_its_record_and_every_files_hash(
        made: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    package = made["package"]
    names = {p.name for p in package.iterdir()}
    assert {"texture.png", "background.png", "mesh.npz", "rig.json", "preview.png",
            "record.json", "avatar.json", "consent.txt"} <= names
    assert not [p for p in package.parent.iterdir() if p.name.endswith(".part")]
    manifest = json.loads((package / "avatar.json").read_text(encoding="utf-8"))
    assert (manifest["format"], manifest["version"], manifest["kind"]) == (
        "livehost-avatar", 1, "photo")
    # Every file but the manifest itself is listed with its SHA-256, the record included.
    assert set(manifest["files"]) == names - {"avatar.json"}
    for name, digest in manifest["files"].items():
        assert sha256(package / name) == digest, name
    record = json.loads((package / "record.json").read_text(encoding="utf-8"))
    assert record["likeness_of"] == "Eileen Collins"
    assert record["created_by"] == "Studio Ops"
    assert record["registration_id"] == "VA-2026-0042"
    assert uuid.UUID(record["record_id"]) and manifest["record_id"] == record["record_id"]
    made_at = datetime.fromisoformat(record["created_at"].replace("Z", "+00:00"))
    assert made_at.tzinfo is not None and made_at.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - made_at).total_seconds()) < 3600
    document = record["consent"]["document"]
    assert document == {"name": "Eileen consent.txt", "file": "consent.txt",
                        "sha256": sha256(made["consent"])}
    assert (package / "consent.txt").read_text(encoding="utf-8") == CONSENT_TEXT
    assert record["portrait_sha256"] == sha256(made["portrait"])
    assert Image.open(package / "preview.png").size[0] >= 64

    capsys.readouterr()
    assert main(["avatar", "check", str(package)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "Eileen Collins" in out and record["record_id"] in out
    assert "VA-2026-0042" in out and "Studio Ops" in out


def test_no_consent_no_package(made: dict[str, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nobody"
    capsys.readouterr()
    assert main(["avatar", "create", str(made["portrait"]), "--owner", "Eileen Collins",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no consent" in err and "--consent FILE" in err
    assert not out.exists() and not list(tmp_path.iterdir())
    assert main(["avatar", "create", str(made["portrait"]), "--owner", "Eileen Collins",
                 "--consent", str(tmp_path / "missing.pdf"), "--out", str(out)]) == 2
    assert "missing.pdf: no such file" in capsys.readouterr().err
    assert not out.exists()


def test_a_poor_photo_makes_no_package(made: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(tiny)
    out = tmp_path / "tiny-avatar"
    capsys.readouterr()
    assert main(["avatar", "create", str(tiny), "--owner", "Eileen Collins", "--consent",
                 str(made["consent"]), "--out", str(out)]) == 2
    assert "tiny.png" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.png"]  # nothing half-made


def test_a_broken_manifest_is_refused(made: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    package = copy_of(made, tmp_path)
    manifest_path = package / "avatar.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["files"]["texture.png"]  # a texture no longer covered by a hash
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    capsys.readouterr()
    assert main(["avatar", "check", str(package)]) == 2
    err = capsys.readouterr().err
    assert "avatar.json is not a valid avatar manifest" in err and "texture.png" in err


def test_a_changed_texture_is_refused_naming_the_file(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = copy_of(made, tmp_path)
    texture = np.array(Image.open(package / "texture.png"))
    texture[0, 0, 0] ^= 1  # one pixel, one bit
    Image.fromarray(texture).save(package / "texture.png")
    capsys.readouterr()
    assert main(["avatar", "check", str(package)]) == 2
    err = capsys.readouterr().err
    assert "texture.png was changed" in err and "rig.json" not in err
    with pytest.raises(AvatarRefused, match=r"texture\.png"):
        verify_package(package)


def test_a_modified_record_is_refused(made: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    package = copy_of(made, tmp_path)
    record_path = package / "record.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["likeness_of"] = "Someone Else"
    record_path.write_text(json.dumps(record), encoding="utf-8")
    capsys.readouterr()
    assert main(["avatar", "check", str(package)]) == 2
    assert "the consent record was modified" in capsys.readouterr().err
    # A record removed altogether: no consent on record.
    record_path.unlink()
    with pytest.raises(AvatarRefused, match="no consent on record"):
        verify_package(package)


def read_as_run(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(folder.glob("asrun-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_show_with_the_package_checks_renders_and_names_the_record(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = json.loads((made["package"] / "record.json").read_text(encoding="utf-8"))
    show = tmp_path / "show.toml"
    show.write_text(textwrap.dedent(SHOW.format(avatar=made["package"])), encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(show)]) == 0
    assert "OK" in capsys.readouterr().out
    out, as_run = tmp_path / "show.mp4", tmp_path / "as-run"
    assert main(["render", str(show), "--out", str(out), "--size", "320x180",
                 "--as-run", str(as_run)]) == 0
    with av.open(str(out)) as container:
        tags = dict(container.metadata)
    likeness = json.loads(tags["livehost_avatar"])
    assert likeness == {"record_id": record["record_id"], "likeness_of": "Eileen Collins",
                        "registration_id": "VA-2026-0042"}
    assert json.loads(tags["AIGC"])["Label"] == "1"
    records = read_as_run(as_run)
    start = next(r for r in records if r["type"] == "run_start")
    recording = next(r for r in records if r["type"] == "recording")
    assert start["avatar"] == likeness and recording["avatar"] == likeness


def test_a_likeness_without_record_is_refused_by_check_render_and_on_air(
        made: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        piper_voice: object) -> None:
    from studio.engine.events import Event, Problem, RunEnded
    from studio.engine.live import LiveEngine
    from studio.show.loader import load_show

    package = copy_of(made, tmp_path)
    (package / "record.json").unlink()
    show = tmp_path / "show.toml"
    show.write_text(textwrap.dedent(SHOW.format(avatar="eileen")), encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(show)]) == 2
    err = capsys.readouterr().err
    assert "show.toml:9: host.avatar:" in err and "no consent on record" in err
    assert "studio avatar create" in err
    out = tmp_path / "show.mp4"
    assert main(["render", str(show), "--out", str(out), "--size", "320x180",
                 "--no-as-run"]) == 2
    assert "no consent on record" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob("*.mp4*"))
    # On air: the engine refuses with a Problem the window shows, and sends no frame.
    events: list[Event] = []
    ended = threading.Event()

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, RunEnded):
            ended.set()

    engine = LiveEngine(load_show(show), width_px=320, height_px=180, realtime=False,
                        tts=piper_voice, show_path=show)  # type: ignore[arg-type]
    engine.subscribe(on_event)
    engine.start()
    assert ended.wait(30)
    engine.stop()
    problems = [e for e in events if isinstance(e, Problem)]
    assert [p.code for p in problems] == ["show.start_failed"]
    assert "no consent on record" in problems[0].message


def test_the_window_refuses_to_open_a_likeness_without_record(
        made: dict[str, Path], tmp_path: Path, qtbot: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.ui.main_window import StudioWindow

    monkeypatch.setenv("LIVEHOST_CONFIG_DIR", str(tmp_path / "config"))
    package = copy_of(made, tmp_path)
    (package / "record.json").unlink()
    show = tmp_path / "show.toml"
    show.write_text(textwrap.dedent(SHOW.format(avatar="eileen")), encoding="utf-8")
    window = StudioWindow()
    qtbot.addWidget(window)
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(window.files, "error_dialog",
                        lambda title, text: shown.append((title, text)))
    assert window.open_show(show) is False  # refused before going on air
    assert window.engine is None
    (title, text), = shown
    assert "show.toml" in title and "no consent on record" in text
    window.close()


def test_the_window_builds_a_preview_then_saves_the_package(
        made: dict[str, Path], tmp_path: Path, qtbot: Any) -> None:
    from studio.ui.avatar_dialog import AvatarDialog

    dialog = AvatarDialog(start_dir=tmp_path)
    qtbot.addWidget(dialog)
    dialog.portrait.setText(str(made["portrait"]))
    dialog.owner.setText("Eileen Collins")
    out = tmp_path / "from-window"
    dialog.out.setText(str(out))
    assert not dialog.save_button.isEnabled()  # nothing to save before the preview
    dialog.build_preview()
    qtbot.waitUntil(lambda: not dialog.building, timeout=60_000)
    assert dialog.preview_ready and dialog.save_button.isEnabled()
    shown = dialog.preview.pixmap()
    assert not shown.isNull() and shown.width() >= 64
    # No consent yet: told so, nothing written.
    dialog.save()
    assert "no consent" in dialog.message.text() and not out.exists()
    dialog.consent.setText(str(made["consent"]))
    dialog.save()
    assert dialog.result() == dialog.DialogCode.Accepted and dialog.package == out.resolve()
    record = verify_package(out)
    assert record.owner == "Eileen Collins" and record.consent_sha256 == sha256(made["consent"])


def test_a_live_recording_and_its_as_run_log_name_the_record(
        made: dict[str, Path], tmp_path: Path, piper_voice: object) -> None:
    from studio.engine import commands as cmd
    from studio.engine.asrun import AsRunLog
    from studio.engine.live import LiveEngine
    from studio.show.loader import load_show

    record = json.loads((made["package"] / "record.json").read_text(encoding="utf-8"))
    show = tmp_path / "show.toml"
    show.write_text(textwrap.dedent(SHOW.format(avatar=made["package"])), encoding="utf-8")
    engine = LiveEngine(load_show(show), width_px=320, height_px=180, realtime=False,
                        tts=piper_voice, show_path=show,  # type: ignore[arg-type]
                        stop_when_ended=True)
    log = AsRunLog(tmp_path / "as-run")
    log.attach(engine, source="run")
    recording = tmp_path / "live.mp4"
    engine.send(cmd.StartRecording(recording))
    engine.run_frames(30 * 30)
    assert engine.ended
    engine.close()
    log.close()
    with av.open(str(recording)) as container:
        likeness = json.loads(dict(container.metadata)["livehost_avatar"])
    assert likeness["record_id"] == record["record_id"]
    records = read_as_run(tmp_path / "as-run")
    assert next(r for r in records if r["type"] == "recording")["avatar"] == likeness


def test_the_file_menu_offers_a_new_avatar_from_photo(
        qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.ui.main_window import StudioWindow

    monkeypatch.setenv("LIVEHOST_CONFIG_DIR", str(tmp_path / "config"))
    window = StudioWindow()
    qtbot.addWidget(window)
    from PySide6.QtWidgets import QMenu

    file_menu = next(m for m in window.menuBar().findChildren(QMenu) if m.title() == "&File")
    titles = [a.text() for a in file_menu.actions()]
    assert "New avatar from photo…" in titles
