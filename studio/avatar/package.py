"""Photo avatar packages: a real person's likeness, with its consent on record.

A package is a folder made by ``studio avatar create``: the photo avatar (texture, background,
mesh, rig, preview), the registration record (``record.json``: whose likeness it is, the
consent statement and/or document, who made the avatar and when, the platform's
virtual-anchor registration ID) and a manifest (``avatar.json``) holding the SHA-256 of every
file, the record included. A likeness without a record, or a package changed after it was
made (a retouched texture, an edited record), is refused: on air, in a render, in
``studio check``.

The consent document is copied into the package (``consent.<ext>``) as well as hashed, so the
proof travels with the likeness it allows; the record keeps its original file name. The
manifest detects changes made after creation; it is not a signature (someone who rewrites
the hashes too is not stopped), so keep the original document where your records are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio import __version__
from studio.avatar.base import AvatarKind, AvatarRefused, register_avatar_kind, resolve_avatar
from studio.core.errors import UserInputError

if TYPE_CHECKING:
    from studio.avatar.base import Avatar
    from studio.avatar.photo import PhotoAvatarData
    from studio.show.model import Host

__all__ = ["Record", "create_package", "likeness_identifiers", "package_problems",
           "verify_package"]

FORMAT_NAME = "livehost-avatar"
FORMAT_VERSION = 1
KIND_PHOTO = "photo"
MANIFEST = "avatar.json"
RECORD = "record.json"
# What a photo avatar cannot be drawn without: each must be in the manifest, hashed.
PHOTO_FILES = ("texture.png", "mesh.npz", "rig.json")
CONSENT_STEM = "consent"
MAX_CONSENT_BYTES = 64 * 1024 * 1024
NO_CONSENT_FIX = ("create the avatar with studio avatar create PORTRAIT --owner NAME "
                  "--consent FILE --out DIR")


@dataclass(frozen=True, slots=True)
class Record:
    """The registration record of a likeness avatar (``record.json``)."""

    record_id: str
    owner: str  # whose likeness it is
    created_by: str
    created_at: str  # UTC, ISO 8601
    portrait_sha256: str
    registration_id: str | None = None  # the platform's virtual-anchor registration ID
    consent_statement: str | None = None
    consent_document: str | None = None  # the document's original file name
    consent_file: str | None = None  # its copy in the package
    consent_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        document = None
        if self.consent_sha256 is not None:
            document = {"name": self.consent_document, "file": self.consent_file,
                        "sha256": self.consent_sha256}
        return {
            "record_id": self.record_id,
            "likeness_of": self.owner,
            "consent": {"statement": self.consent_statement, "document": document},
            "created_by": self.created_by,
            "created_at": self.created_at,
            "registration_id": self.registration_id,
            "portrait_sha256": self.portrait_sha256,
            "studio_version": __version__,
        }

    @classmethod
    def from_json(cls, data: Any) -> Record:
        """Raises ValueError naming what is missing or malformed."""
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")

        def text(value: Any, name: str, required: bool = True) -> str | None:
            if value is None and not required:
                return None
            if not isinstance(value, str) or (required and not value.strip()):
                raise ValueError(f"{name} is missing or not text")
            return value

        consent = data.get("consent")
        if not isinstance(consent, dict):
            raise ValueError("consent is missing")
        document = consent.get("document")
        if document is not None and not isinstance(document, dict):
            raise ValueError("consent.document is not an object")
        statement = text(consent.get("statement"), "consent.statement", required=False)
        if document is None and not (statement and statement.strip()):
            raise ValueError("it holds neither a consent statement nor a consent document")
        sha = None if document is None else text(document.get("sha256"), "consent sha256")
        if sha is not None and not _is_sha256(sha):
            raise ValueError("the consent document's sha256 is not a SHA-256")
        portrait = text(data.get("portrait_sha256"), "portrait_sha256")
        return cls(
            record_id=str(text(data.get("record_id"), "record_id")),
            owner=str(text(data.get("likeness_of"), "likeness_of (the owner)")),
            created_by=str(text(data.get("created_by"), "created_by")),
            created_at=str(text(data.get("created_at"), "created_at")),
            portrait_sha256=str(portrait),
            registration_id=text(data.get("registration_id"), "registration_id",
                                 required=False),
            consent_statement=statement,
            consent_document=None if document is None else text(
                document.get("name"), "consent document name"),
            consent_file=None if document is None else text(
                document.get("file"), "consent document file"),
            consent_sha256=sha,
        )

    def identifiers(self) -> dict[str, str]:
        """What recordings and the as-run log carry to name the likeness on air."""
        ids = {"record_id": self.record_id, "likeness_of": self.owner}
        if self.registration_id:
            ids["registration_id"] = self.registration_id
        return ids

    def summary(self) -> str:
        consent = (f"document {self.consent_document} (SHA-256 {self.consent_sha256})"
                   if self.consent_sha256 else "statement")
        if self.consent_sha256 and self.consent_statement:
            consent += " and statement"
        lines = [f"likeness of {self.owner}", f"consent: {consent}",
                 f"created by {self.created_by} at {self.created_at}",
                 f"record ID {self.record_id}"]
        if self.registration_id:
            lines.append(f"virtual-anchor registration ID {self.registration_id}")
        return "\n".join(lines)


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- create ---------------------------------------------------------------------------------
def create_package(portrait: Path, *, owner: str, consent: Path | None, out: Path,
                   created_by: str, registration_id: str | None = None,
                   statement: str | None = None,
                   built: PhotoAvatarData | None = None) -> Record:
    """Build the photo avatar of ``portrait`` into the package folder ``out`` with its
    registration record (``built``: the avatar already built from it, as the window's
    preview did). Written to a temporary folder beside ``out`` and renamed at the end: a
    refused photo or a failure leaves no half package."""
    owner = owner.strip()
    if not owner:
        raise UserInputError("--owner: name the person whose likeness this is")
    if not created_by.strip():
        raise UserInputError("--created-by: name who is creating the avatar")
    statement = statement.strip() if statement and statement.strip() else None
    if consent is None and statement is None:
        raise UserInputError(f"this likeness has no consent: {NO_CONSENT_FIX} (the signed "
                             "consent of the person in the photo)")
    if consent is not None:
        if not consent.is_file():
            raise UserInputError(f"--consent {consent}: no such file; give the consent "
                                 "document (PDF, image or text) signed by the person")
        size = consent.stat().st_size
        if size == 0:
            raise UserInputError(f"--consent {consent}: the file is empty")
        if size > MAX_CONSENT_BYTES:
            raise UserInputError(f"--consent {consent}: {size // 2**20} MiB is too large; "
                                 "give a document under 64 MiB (a scan as PDF or JPEG)")
    if not portrait.is_file():
        raise UserInputError(f"{portrait}: no such photo; give a front-facing portrait "
                             "(JPG or PNG)")
    out = out.expanduser().resolve()
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise UserInputError(f"--out {out}: it exists already; choose a new folder (a "
                             "package is never overwritten)")
    if not out.parent.is_dir():
        raise UserInputError(f"--out {out}: the folder {out.parent} does not exist")

    if built is None:
        from studio.avatar.photo import build_photo_avatar

        built = build_photo_avatar(portrait)  # refuses poor photos, with what to do instead
    data = built
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        files = [name for name in data.save(tmp) if name not in (MANIFEST, RECORD)]
        consent_file = consent_sha = None
        if consent is not None:
            consent_file = CONSENT_STEM + consent.suffix.lower()
            shutil.copyfile(consent, tmp / consent_file)
            consent_sha = file_sha256(tmp / consent_file)
            files.append(consent_file)
        record = Record(
            record_id=str(uuid.uuid4()), owner=owner, created_by=created_by.strip(),
            created_at=_utc_now(), portrait_sha256=file_sha256(portrait),
            registration_id=(registration_id or "").strip() or None,
            consent_statement=statement,
            consent_document=consent.name if consent is not None else None,
            consent_file=consent_file, consent_sha256=consent_sha)
        (tmp / RECORD).write_text(json.dumps(record.to_json(), ensure_ascii=False, indent=1),
                                  encoding="utf-8")
        files.append(RECORD)
        manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": KIND_PHOTO,
                    "record_id": record.record_id,
                    "files": {name: file_sha256(tmp / name) for name in sorted(set(files))}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if out.is_dir():
            out.rmdir()  # empty, checked above
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return record


# --- verify ---------------------------------------------------------------------------------
def package_problems(folder: Path) -> tuple[Record | None, list[str]]:
    """The record (when it can be trusted) and everything wrong with the package."""
    where = f"avatar {folder}"
    manifest_path = folder / MANIFEST
    if not (folder / RECORD).is_file():
        return None, [f"{where}: this likeness has no consent on record (no {RECORD}): "
                      f"{NO_CONSENT_FIX}"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [f"{where}: {MANIFEST} is missing, so a change to the likeness or its "
                      f"record cannot be detected; {NO_CONSENT_FIX}"]
    except (OSError, ValueError) as exc:
        return None, [f"{where}: {MANIFEST} cannot be read ({exc}); make the package again "
                      "with studio avatar create"]
    files = manifest.get("files") if isinstance(manifest, dict) else None
    bad = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        bad = f"it is not a {FORMAT_NAME} manifest"
    elif not isinstance(manifest.get("version"), int) or manifest["version"] > FORMAT_VERSION:
        bad = (f"format version {manifest.get('version')!r} is not one this studio reads "
               f"(up to {FORMAT_VERSION}); update the studio")
    elif manifest.get("kind") != KIND_PHOTO:
        bad = f"kind {manifest.get('kind')!r} is not {KIND_PHOTO!r}"
    elif not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _is_sha256(v) and
            "/" not in k and "\\" not in k and k not in ("", ".", "..")
            for k, v in files.items()):
        bad = "its file list is not names with SHA-256 hashes"
    else:
        unlisted = [n for n in (*PHOTO_FILES, RECORD) if n not in files]
        if unlisted:
            bad = f"it does not list {', '.join(unlisted)}"
    if bad is not None or not isinstance(files, dict):
        return None, [f"{where}: {MANIFEST} is not a valid avatar manifest ({bad}); make the "
                      "package again with studio avatar create"]
    problems: list[str] = []
    for name, sha in files.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{where}: {name} is missing from the package")
        elif file_sha256(path) != sha:
            what = ("the consent record was modified" if name == RECORD
                    else f"{name} was changed")
            problems.append(f"{where}: {what} after the avatar was made (its SHA-256 does "
                            f"not match {MANIFEST}); a modified likeness cannot go on air: "
                            "use the original package or create it again")
    record: Record | None = None
    try:
        record = Record.from_json(json.loads((folder / RECORD).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        problems.append(f"{where}: the consent record {RECORD} is not valid ({exc}); "
                        f"{NO_CONSENT_FIX}")
    if record is not None:
        if manifest.get("record_id") != record.record_id:
            problems.append(f"{where}: {RECORD} is not the record this package was made "
                            f"with (its record ID differs from {MANIFEST})")
        if record.consent_sha256 is not None:
            listed = files.get(record.consent_file or "")
            if listed != record.consent_sha256:
                problems.append(f"{where}: the consent document {record.consent_file} is "
                                "not the one on record (its SHA-256 differs)")
    return (record if not problems else None), problems


def verify_package(folder: Path) -> Record:
    """The package's record; AvatarRefused, with every reason, when it cannot go on air."""
    record, problems = package_problems(folder)
    if problems or record is None:
        raise AvatarRefused("; ".join(problems))
    return record


def likeness_identifiers(host: Host, base_dir: Path | None) -> dict[str, str]:
    """The identifiers of the likeness on air ({} for the stylised host and plug-ins), for
    the AIGC metadata of recordings and the as-run log. AvatarRefused when refused."""
    kind, folder = resolve_avatar(host, base_dir)
    if kind is None or folder is None or kind.name != KIND_PHOTO:
        return {}
    return verify_package(folder).identifiers()


# --- the kind -------------------------------------------------------------------------------
def _probe(folder: Path) -> bool:
    """Ours: a manifest saying photo, or (to refuse it with the reason) a bare photo avatar
    saved without a package around it."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return all((folder / name).is_file() for name in PHOTO_FILES)
    except (OSError, ValueError):
        return (folder / RECORD).is_file()  # a package with a broken manifest: say so
    return isinstance(manifest, dict) and manifest.get("kind") == KIND_PHOTO


def _check(folder: Path) -> list[str]:
    return package_problems(folder)[1]


def _load(folder: Path, host: Host) -> Avatar:
    from studio.avatar.photo import PhotoAvatar

    verify_package(folder)  # again, as it is loaded: nothing swapped since the check
    avatar: Avatar = PhotoAvatar.load(folder)
    return avatar


register_avatar_kind(AvatarKind(KIND_PHOTO, probe=_probe, check=_check, load=_load))
