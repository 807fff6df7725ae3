"""Safe extraction of uploaded zip archives: no path traversal, no symlinks, bounded size and count."""

from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from annotator.env import knob
from annotator.errors import ImportFailed, PayloadTooLarge


def limits() -> tuple[int, int, int]:
    return int(knob("MAX_UPLOAD_BYTES")), int(knob("MAX_UNZIPPED_BYTES")), int(knob("MAX_ZIP_MEMBERS"))


def check_upload_size(size: int, name: str) -> None:
    max_upload, _, _ = limits()
    if size > max_upload:
        raise PayloadTooLarge(
            f"{name} is {size} bytes; uploads are limited to {max_upload} bytes", file=name, limit=max_upload
        )


def _safe_member_path(info: zipfile.ZipInfo, archive: str) -> PurePosixPath:
    raw = info.filename.replace("\\", "/")
    path = PurePosixPath(raw)
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or ".." in path.parts:
        raise ImportFailed(
            f"{archive}: member {info.filename!r} points outside the archive (path traversal)",
            file=info.filename,
        )
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ImportFailed(
            f"{archive}: member {info.filename!r} is a symbolic link; links are refused", file=info.filename
        )
    return path


def extract_zip(zip_path: Path, dest: Path, archive_name: str) -> None:
    """Check every member first (nothing is written for a refused archive), then extract into `dest`.

    Raises ImportFailed (not a zip, traversal, symlink) or PayloadTooLarge (members, total size)."""
    _, max_unzipped, max_members = limits()
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed(f"{archive_name}: not a readable zip archive ({exc})", file=archive_name) from exc
    with archive:
        members = archive.infolist()
        if len(members) > max_members:
            raise PayloadTooLarge(
                f"{archive_name} has {len(members)} members; at most {max_members} are allowed",
                file=archive_name,
                limit=max_members,
            )
        total = sum(m.file_size for m in members)
        if total > max_unzipped:
            raise PayloadTooLarge(
                f"{archive_name} unpacks to {total} bytes; at most {max_unzipped} are allowed",
                file=archive_name,
                limit=max_unzipped,
            )
        planned = [(m, _safe_member_path(m, archive_name)) for m in members]
        written = 0
        for info, relative in planned:
            if info.is_dir() or relative.name.startswith("__MACOSX") or "__MACOSX" in relative.parts:
                continue
            target = dest.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as source, open(target, "wb") as sink:
                    # Count real bytes too: the header sizes of a crafted zip can lie.
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > max_unzipped:
                            raise PayloadTooLarge(
                                f"{archive_name} unpacks to more than {max_unzipped} bytes",
                                file=archive_name,
                                limit=max_unzipped,
                            )
                        sink.write(chunk)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as exc:
                raise ImportFailed(
                    f"{archive_name}: member {info.filename} cannot be extracted ({exc})", file=info.filename
                ) from exc
