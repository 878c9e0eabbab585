"""A one-off extraction (``mano download -o DIR``): no manifest, no lock, nothing hidden left.

Into an existing tree the rules are those of every tool that replaces a file:

* a file already holding the member's content (in any unlocked form, under its name or,
  for files the server names ``_2``, ``_3`` ... in one second, under any name of that group)
  is "unchanged" and not touched;
* a file holding other content is not replaced unless ``overwrite`` is given (then the new
  file is written and verified before the old one, in another form, is removed);
* where the tree holds a locked form (``.lock``, ``.zst.lock``) no plaintext is ever written:
  the member is reported instead.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from mano_sync._errors import UnsafeMember
from mano_sync._names import MemberName, parse_member
from mano_sync._safety import SafeFolders
from mano_sync._save import _member_hashes
from mano_sync._types import SaveResult, SyncFailure

if TYPE_CHECKING:
    from mano_api import Archive

logger = logging.getLogger(__name__)

__all__ = ["extract"]

_UNLOCKED = ("", ".zst")
_LOCKED = (".lock", ".zst.lock")


def _group_files(folder: Path, name: MemberName) -> dict[str, str]:
    """Existing files of a collision group: on-disk name -> form suffix."""
    pattern = re.compile(
        re.escape(name.stem) + r"(?:_[1-9]\d{0,5})?\." + re.escape(name.ext)
        + r"(\.zst|\.lock|\.zst\.lock)?"
    )  # fmt: skip
    found: dict[str, str] = {}
    try:
        entries = os.listdir(folder)
    except OSError:
        return found
    for entry in entries:
        m = pattern.fullmatch(entry)
        if m:
            found[entry] = m.group(1) or ""
    return found


def extract(
    archive: Archive,
    output_folder: str | os.PathLike[str],
    *,
    participants: Iterable[str] | None = None,
    data_streams: Iterable[str] | None = None,
    keep_compressed: bool = False,
    overwrite: bool = False,
) -> SaveResult:
    """Write an archive's members into ``<out>/<pid>/<stream>/[<survey>/]<name>``, once.

    Unlike :func:`mano_sync.save` nothing is recorded: no manifest or lock is created in the
    folder. Member names are checked as in a sync (unsafe or unexpected names are refused),
    and no file is written through a folder that is a symbolic link leaving ``output_folder``.

    Args:
        archive: A ``mano_api.Archive``.
        output_folder: The folder (created if needed).
        participants: Accept only these participants' members (default: any).
        data_streams: Accept only these streams (default: all).
        keep_compressed: Store ``.zst`` files (v2 archives) instead of plain ones.
        overwrite: Replace files whose content differs from the server's copy.

    Returns:
        New, updated (only with ``overwrite``), unchanged and failed members.
    """
    from mano_files import ManoFilesError, sha1_b64_file, write_data_file

    out = Path(output_folder)
    out.mkdir(parents=True, exist_ok=True)
    zst = archive.version == 2
    pids = frozenset(participants) if participants is not None else None
    streams = frozenset(data_streams) if data_streams is not None else None
    safe = SafeFolders(out)
    form = "zst" if keep_compressed and zst else "plain"
    suffix = ".zst" if form == "zst" else ""
    new = updated = unchanged = written_bytes = 0
    failed: list[SyncFailure] = []
    paths: list[str] = []
    groups: dict[str, list[tuple[str, MemberName]]] = {}
    for member in archive.members():
        try:
            name = parse_member(member.name, participants=pids, streams=streams, zst=zst)
        except UnsafeMember as exc:
            first = member.name.split("/", 1)[0]
            failed.append(
                SyncFailure(first if pids and first in pids else None, member.name,
                            f"refused zip member: {exc.reason}; nothing was written for it")
            )  # fmt: skip
            continue
        groups.setdefault(name.base_name, []).append((member.name, name))
    for _base, members in sorted(groups.items()):
        name0 = members[0][1]
        problem = safe.problem(name0.folder)
        if problem is not None:
            failed.extend(SyncFailure(n.participant, raw, problem) for raw, n in members)
            continue
        folder = out / name0.folder
        existing = _group_files(folder, name0)
        # content of every unlocked file of the group, read once
        hashes: dict[str, str] = {}
        for entry, form_suffix in existing.items():
            if form_suffix in _UNLOCKED:
                try:
                    hashes[entry] = sha1_b64_file(folder / entry)
                except (ManoFilesError, OSError) as exc:
                    logger.info("cannot read %s: %s", folder / entry, exc)
        pending: list[tuple[str, MemberName, str]] = []
        claimed: set[str] = set()  # files holding another member's content
        for raw, name in sorted(members):
            try:
                sha1, _md5 = _member_hashes(archive, raw, zst)
            except Exception as exc:  # a corrupt member: report it, keep the others
                failed.append(SyncFailure(name.participant, raw, f"not written: {exc}"))
                continue
            match = next((e for e, h in hashes.items() if h == sha1), None)
            if match is not None:
                del hashes[match]  # one file stands for one member
                claimed.add(match)
                unchanged += 1
                continue
            pending.append((raw, name, sha1))
        for raw, name, sha1 in pending:
            n = name.collision
            target = out / name.with_collision(n)
            if any(target.name + s in claimed for s in (*_UNLOCKED, *_LOCKED)):
                # the served name holds another of the server's files (members of one second
                # come in any order): take the group's first free name
                n = next(
                    k for k in (0, *range(2, 10**6))
                    if not any(Path(name.with_collision(k)).name + s in existing
                               for s in (*_UNLOCKED, *_LOCKED))
                )  # fmt: skip
                target = out / name.with_collision(n)
            plain = name.with_collision(n)
            here = {s: target.name + s in existing for s in (*_UNLOCKED, *_LOCKED)}
            locked = [s for s in _LOCKED if here[s]]
            if locked:
                failed.append(SyncFailure(name.participant, raw,
                    f"{plain}{locked[0]} is locked here; not replaced by the server's plain copy "
                    "(unlock it first)"))  # fmt: skip
                continue
            others = [s for s in _UNLOCKED if here[s]]
            if others and not overwrite:
                failed.append(SyncFailure(name.participant, raw,
                    f"{plain}{others[0]} differs from the server's copy; not overwritten "
                    "(pass --overwrite to replace it)"))  # fmt: skip
                continue
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with archive.open(raw) as src:
                    stored = write_data_file(
                        src, target, source_form="zst" if zst else "plain", form=form,
                        remove_other_forms=False,
                    )  # fmt: skip
                if stored.sha1_b64 != sha1:
                    raise ManoFilesError(f"{plain}: content changed while it was written")
                for s in others:  # replaced: only now remove the old copy in another form
                    if s != suffix:
                        (folder / (target.name + s)).unlink(missing_ok=True)
            except (ManoFilesError, OSError) as exc:
                failed.append(SyncFailure(name.participant, raw, f"not written: {exc}"))
                continue
            if others:
                updated += 1
            else:
                new += 1
            written_bytes += stored.size_on_disk
            paths.append(plain + suffix)
            existing[target.name + suffix] = suffix
    return SaveResult(
        new=new,
        updated=updated,
        unchanged=unchanged,
        failed=tuple(failed),
        bytes_written=written_bytes,
        paths=tuple(sorted(paths)),
    )
