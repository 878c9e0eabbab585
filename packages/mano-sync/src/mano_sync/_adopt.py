"""Adoption of trees written by mano 0.6.0 (or by hand) into the manifest.

mano 0.6.0 wrote members at their zip names, plain (``.csv``) or encrypted (``.csv.lock``),
plus ``<pid>/.registry`` (JSON: full ``CHUNKED_DATA/`` storage path -> base64 MD5, ``""`` for
unchunked files) and ``<pid>/.backfill``. Adoption records every data file found in the tree
so the next sync asks the server only for what is missing or changed:

* plain and ``.zst`` files are hashed (SHA-1, and MD5 to check against ``.registry``);
* ``.lock`` files are decrypted and hashed when a passphrase is given. Without one we cannot
  read them, so we trust mano 0.6.0's ``.registry``: its MD5 was computed by the server for the
  very bytes mano wrote, and the server's registry rule 2 accepts an MD5 as well as a SHA-1
  when comparing. Sending ``storage path minus CHUNKED_DATA/ -> MD5`` therefore skips exactly
  the files that did not change. Locked unchunked files (survey answers, audio) have no hash in
  ``.registry``; they are sent under their raw storage path, which the server skips by presence
  (uploads never change). A locked file with no usable registry entry is recorded without a
  hash, so the server sends it again and it is replaced by a current copy.

The ``.registry`` and ``.backfill`` files are left in place (mano 0.6.0 can still use the tree).

The newest mano writes the same layout, with ``.zst`` files (get-data v2 members kept
compressed), ``.zst.lock`` (cryptease over the zstd bytes) and ``.lock`` (cryptease over the
plain bytes, when it decompressed before locking): all are adopted as above. Its README passes
the participant's own folder to ``backfill``, which it treats as the study folder, so its trees
can hold ``<pid>/<pid>/<stream>/...``. Adoption moves such files up to ``<pid>/<stream>/...``
(a rename: the file is untouched) unless a copy of that file is already there in any form, in
which case the nested one is left alone and reported.
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import datetime as _dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mano_sync._errors import UnsafeMember
from mano_sync._manifest import Manifest, ManifestFile
from mano_sync._names import (
    ALL_STREAMS,
    UNCHUNKED_STREAMS,
    MemberName,
    parse_member,
    parse_storage_key,
    storage_key_from_member,
)

logger = logging.getLogger(__name__)

__all__ = ["AdoptionReport", "adopt_tree", "needs_adoption"]

_ADOPTED = "adopted"
_CHUNK = 1 << 20
_SUFFIXES = ((".zst.lock", "zst.lock"), (".lock", "lock"), (".zst", "zst"))


@dataclass(frozen=True)
class AdoptionReport:
    """What adoption found.

    Attributes:
        adopted: Files recorded in the manifest.
        hashed: Of those, files whose content was hashed.
        trusted: Locked files recorded with the MD5 of mano 0.6.0's ``.registry``.
        ignored: Files that do not look like Beiwe data (left alone).
        lifted: Files moved up from a nested ``<pid>/<pid>/`` folder (newest mano).
    """

    adopted: int = 0
    hashed: int = 0
    trusted: int = 0
    ignored: int = 0
    lifted: int = 0


def needs_adoption(out: Path, manifest: Manifest) -> bool:
    """Whether the folder may hold files the manifest does not know (scanned once)."""
    if manifest.get_meta(_ADOPTED) is not None:
        return False
    has_folders = (
        any(e.is_dir() and not e.name.startswith(".") for e in os.scandir(out))
        if out.is_dir()
        else False
    )
    if not has_folders:
        manifest.set_meta(_ADOPTED, "empty")
        return False
    return True


def _is_nested_copy(pdir: Path, pid: str) -> bool:
    """Whether ``<pid>/<pid>/`` holds stream folders (the newest mano's participant-folder tree)."""
    nested = pdir / pid
    try:
        return nested.is_dir() and any(
            e.is_dir() and e.name in ALL_STREAMS for e in os.scandir(nested)
        )
    except OSError:
        return False


def _lift_nested(pdir: Path, pid: str) -> tuple[int, int]:
    """Move ``<pid>/<pid>/<stream>/...`` files up to ``<pid>/<stream>/...``.

    Returns:
        (files moved, files left where they are because the participant folder already has
        that file in some form).
    """
    nested = pdir / pid
    moved = left = 0
    for folder, _dirs, files in os.walk(nested, topdown=False):
        for fname in files:
            if fname.startswith("."):
                continue
            source = Path(folder) / fname
            target = pdir / source.relative_to(nested)
            plain, _ = _form_of(target.name)
            taken = [
                target.with_name(plain + suffix)
                for suffix in ("", ".zst", ".lock", ".zst.lock")
                if target.with_name(plain + suffix).exists()
            ]
            if taken:
                logger.warning(
                    "left %s in place: %s already exists", source, taken[0].relative_to(pdir)
                )
                left += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, target)  # same file system, same file: nothing is rewritten
            moved += 1
        try:
            os.rmdir(folder)  # only succeeds once empty
        except OSError:
            pass
    if moved:
        logger.info("moved %d files of %s up from %s/%s/", moved, pid, pid, pid)
    return moved, left


def _form_of(name: str) -> tuple[str, str]:
    for suffix, form in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], form
    return name, "plain"


def _hash_stream(fh: Any) -> tuple[str, str, int]:
    sha1 = hashlib.sha1()
    md5 = hashlib.md5()
    size = 0
    while chunk := fh.read(_CHUNK):
        sha1.update(chunk)
        md5.update(chunk)
        size += len(chunk)
    b64 = base64.b64encode
    return b64(sha1.digest()).decode(), b64(md5.digest()).decode(), size


def _load_registry(path: Path) -> dict[str, str]:
    try:
        obj = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    if not isinstance(obj, dict):
        return {}
    return {str(k): str(v or "").strip() for k, v in obj.items()}


def adopt_tree(
    out: Path,
    manifest: Manifest,
    *,
    study_id: str,
    passphrase: str | None = None,
    workers: int = 4,
) -> AdoptionReport:
    """Record every data file below ``out`` that the manifest does not know yet.

    Args:
        out: The study folder.
        manifest: Its manifest.
        study_id: The study (to rebuild storage paths).
        passphrase: Opens ``.lock`` files for hashing; without it ``.registry`` MD5s are trusted.
        workers: Hashing threads.

    Returns:
        Counts of what was adopted.
    """
    from mano_files import read_data_file

    lock_key: Any = None
    if passphrase:
        from mano_files import derive_key

        lock_key = derive_key(passphrase)
    jobs: list[tuple[Path, str, str, MemberName, str | None, str | None]] = []
    ignored = lifted = 0
    for entry in sorted(os.scandir(out), key=lambda e: e.name):
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        pid = entry.name
        pdir = Path(entry.path)
        if _is_nested_copy(pdir, pid):
            lifted += _lift_nested(pdir, pid)[0]
        registry = _load_registry(pdir / ".registry") if (pdir / ".registry").exists() else {}
        slots: dict[tuple[str, int], list[tuple[str, str, str | None]]] = {}
        for key, value in registry.items():
            slot = parse_storage_key(key)
            if slot is not None and slot.participant == pid:
                slots.setdefault((slot.stream, slot.second), []).append((key, value, slot.survey))
        for folder, dirs, files in os.walk(pdir):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for fname in sorted(files):
                if fname.startswith("."):
                    continue
                full = Path(folder) / fname
                rel = full.relative_to(out).as_posix()
                plain, form = _form_of(rel)
                try:
                    member = parse_member(plain, participants={pid})
                except UnsafeMember:
                    ignored += 1
                    continue
                if manifest.get(plain) is not None:
                    continue
                skey = storage_key_from_member(member, study_id)
                md5: str | None = None
                if skey is not None:
                    md5 = registry.get(skey) or None
                if member.stream in UNCHUNKED_STREAMS:
                    cands = [
                        c
                        for c in slots.get((member.stream, int(member.time_bin)), [])
                        if c[2] is None or member.survey is None or c[2] == member.survey
                    ]
                    if len(cands) == 1:
                        skey = cands[0][0]
                jobs.append((full, plain, form, member, skey, md5))

    def work(job: tuple[Path, str, str, MemberName, str | None, str | None]) -> ManifestFile:
        full, plain, form, member, key, md5 = job
        st = full.stat()
        sha1: str | None = None
        size = -1
        if form in ("plain", "zst") or lock_key is not None:
            try:
                with read_data_file(full, key=lock_key) as fh:
                    sha1, local_md5, size = _hash_stream(fh)
            except Exception as exc:  # wrong passphrase, damaged file: let the server decide
                logger.warning(
                    "cannot read %s (%s); it will be fetched again if it changed", plain, exc
                )
            else:
                if md5 and md5 != local_md5:
                    logger.warning(
                        "%s differs from what mano 0.6.0 downloaded; it will be fetched again",
                        plain,
                    )
                md5 = None
        return ManifestFile(
            path=plain,
            participant=member.participant,
            stream=member.stream,
            time_bin=int(member.time_bin),
            zip_name=member.name,
            storage_key=key,
            size=size,
            size_on_disk=st.st_size,
            sha1_b64=sha1,
            md5_b64=md5,
            form=form,
            mtime_ns=st.st_mtime_ns,
            fetched_at=_dt.datetime.fromtimestamp(st.st_mtime, _dt.UTC)
            .replace(microsecond=0)
            .isoformat(),
        )

    hashed = trusted = adopted = 0
    with cf.ThreadPoolExecutor(max(1, workers), thread_name_prefix="mano-adopt") as pool:
        for row in pool.map(work, jobs):
            manifest.record(row)
            adopted += 1
            if row.sha1_b64 is not None:
                hashed += 1
            else:
                trusted += 1
    manifest.commit()
    for pid in sorted({j[3].participant for j in jobs}):
        manifest.update_participant(pid)
    manifest.set_meta(_ADOPTED, _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat())
    if adopted:
        logger.info(
            "adopted %d existing files (%d hashed, %d trusted from .registry)",
            adopted,
            hashed,
            trusted,
        )
    return AdoptionReport(
        adopted=adopted, hashed=hashed, trusted=trusted, ignored=ignored, lifted=lifted
    )
