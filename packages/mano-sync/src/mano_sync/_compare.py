"""What does the server have that the local tree lacks? (`mano report --compare`)

Two questions, answered honestly:

1. **Which files exactly** does the server have that the folder does not (or has in another
   version)? We ask the server itself: one get-data v2 request with a registry built from the
   local files, so the server sends only what it cannot match. The registry holds

   * for hourly chunks: key = storage path without ``CHUNKED_DATA/`` (rebuilt from the file
     name), value = base64 SHA-1 of the local plain content -> the server compares hashes
     (docs/beiwe-server.md#registry, rule 2), so a chunk that grew on the server comes back;
   * for unchunked files (survey answers, voice recordings, ambient audio): the exact storage
     path recorded in the sync manifest when there is one (rule 1), and every voice recording's
     hash (rule 3). Unchunked files we cannot name are re-sent by the server; we then match them
     to local files by participant, stream, survey and second, and compare the SHA-1 the
     archive's own registry reports for them.

   Members are only listed, never saved; the temporary archive is deleted at once. The cost is
   the transfer of whatever is missing (plus the unchunked files we could not name).

   Local hashes come from the manifest (when the file's size and mtime still match) or are
   computed by reading the file (``.zst`` decompressed on the fly; ``.lock`` files need the key).
   A locked file without a key cannot be hashed: it is not put in the registry, and when the
   server re-sends it the file is reported as *unverified* rather than missing.

2. **How much** data per participant and stream: the server's data quantities (docs/beiwe-server.md#data-quantities) next
   to the local bytes. These are NOT expected to match: the server sums the sizes of the raw
   uploads (before it merges them into hourly chunks and adds the ``UTC time`` column), while
   local files are the chunks, often compressed or encrypted. ``local_plain_bytes`` (known for
   plain files and for files the manifest describes) is the closest local figure. Use the ratio
   to spot a stream that is missing entirely or by an order of magnitude; use question 1 for
   exact answers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mano_files import ManoFilesError, form_of, sha1_b64_file
from mano_sync._errors import ManifestError, UnsafeMember
from mano_sync._manifest import MANIFEST_NAME, Manifest, ManifestFile
from mano_sync._names import (
    UNCHUNKED_STREAMS,
    MemberName,
    parse_member,
    parse_storage_key,
    registry_key_to_send,
    storage_key_from_member,
)

if TYPE_CHECKING:
    from mano_api import BeiweClient, Study
    from mano_files import LockKey

logger = logging.getLogger(__name__)

__all__ = ["ServerComparison", "StreamQuantity", "compare_with_server"]

_SUFFIXES = (".zst.lock", ".lock", ".zst")


@dataclass(frozen=True, slots=True)
class StreamQuantity:
    """Server bytes next to local bytes for one participant and stream.

    Attributes:
        participant: Patient id.
        stream: Data stream.
        server_bytes: The server's data quantity (sum of raw upload sizes; docs/beiwe-server.md#data-quantities).
        local_files: Data files in the folder.
        local_bytes: Their size on disk (compressed/encrypted when they are).
        local_plain_bytes: Their plain size when known for every file, else ``None``.
    """

    participant: str
    stream: str
    server_bytes: int
    local_files: int
    local_bytes: int
    local_plain_bytes: int | None


@dataclass(frozen=True)
class ServerComparison:
    """The result of :func:`compare_with_server`.

    Attributes:
        study_id: The study compared.
        study_name: Its name.
        missing: Relative plain paths (``<pid>/<stream>/[<survey>/]<name>``) the server has and
            the folder lacks, sorted.
        changed: Paths present locally whose content differs from the server's, sorted.
        unverified: Paths the server sent that exist locally but could not be hashed (locked
            without a key) or that the server reported without a SHA-1, sorted.
        server_only_participants: Participants the server has files of and the folder has no
            sub-folder for.
        local_only_participants: Participant folders the server does not list.
        quantities: Server vs local bytes per participant and stream.
        registry_size: Entries in the registry sent.
        transferred_bytes: Size of the archive the server sent.
    """

    study_id: str
    study_name: str
    missing: tuple[str, ...]
    changed: tuple[str, ...]
    unverified: tuple[str, ...]
    server_only_participants: tuple[str, ...]
    local_only_participants: tuple[str, ...]
    quantities: tuple[StreamQuantity, ...] = field(default=())
    registry_size: int = 0
    transferred_bytes: int = 0

    @property
    def complete(self) -> bool:
        """True when the folder has every file the server has, in the server's version."""
        return not (self.missing or self.changed)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "study_id": self.study_id,
            "study_name": self.study_name,
            "complete": self.complete,
            "missing": list(self.missing),
            "changed": list(self.changed),
            "unverified": list(self.unverified),
            "server_only_participants": list(self.server_only_participants),
            "local_only_participants": list(self.local_only_participants),
            "registry_size": self.registry_size,
            "transferred_bytes": self.transferred_bytes,
            "quantities": [
                {
                    "participant": q.participant,
                    "stream": q.stream,
                    "server_bytes": q.server_bytes,
                    "local_files": q.local_files,
                    "local_bytes": q.local_bytes,
                    "local_plain_bytes": q.local_plain_bytes,
                }
                for q in self.quantities
            ],
        }


@dataclass(slots=True)
class _Local:
    disk: str
    form: str
    size: int
    mtime_ns: int
    member: MemberName
    sha1: str | None = None


def compare_with_server(
    client: BeiweClient,
    study: Study | str,
    tree: str | os.PathLike[str],
    *,
    participants: Iterable[str] | None = None,
    streams: Iterable[str] | None = None,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    key: LockKey | str | None = None,
    quantities: bool = True,
    tmp_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ServerComparison:
    """Compare a local study folder with the server (see the module docs for the method).

    Args:
        client: An open :class:`mano_api.BeiweClient`.
        study: The study (object, id, unique id prefix or name).
        tree: The local study folder.
        participants: Only these participants (default: every participant of the study).
        streams: Only these streams (default: all).
        start: Only files whose time bin is at or after this (UTC; a date = its midnight).
        end: Only files whose time bin is at or before this (a date = the whole day).
        key: Lock key or passphrase to hash ``.lock`` files; without one they are unverified.
        quantities: Also fetch the server's data quantities (one extra small request).
        tmp_dir: Where the temporary archive goes (system temp by default).
        progress: Called with bytes received while the archive downloads.

    Returns:
        The :class:`ServerComparison`.

    Raises:
        mano_api.ManoAPIError: the server refused or failed (after the client's retries).
        ManifestError: the folder's manifest belongs to another study.
    """
    root = Path(tree)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder; pass the study folder you synced into")
    found = client.resolve_study(study)
    wanted = None if participants is None else sorted(set(participants))
    stream_set = None if streams is None else frozenset(str(s) for s in streams)
    lo = None if start is None else _seconds(start, last=False)
    hi = None if end is None else _seconds(end, last=True)

    local, local_pids = _inventory(root, wanted, stream_set, lo, hi)
    manifest = _manifest_rows(root, found.id)
    _hash_local(root, local, manifest, key)
    registry = _registry(found.id, local, manifest)
    logger.info(
        "comparing %s with %s: %d local files, registry of %d",
        root,
        found.id,
        len(local),
        len(registry),
    )

    missing: list[str] = []
    changed: list[str] = []
    unverified: list[str] = []
    by_base: dict[str, list[_Local]] = {}
    for item in local.values():
        by_base.setdefault(item.member.base_name, []).append(item)
    with client.download(
        found,
        participants=wanted,
        streams=sorted(stream_set) if stream_set else None,
        start=start,
        end=end,
        registry=registry,
        version=2,
        tmp_dir=tmp_dir,
        progress=progress,
    ) as archive:
        transferred = archive.size
        server_hashes = _server_hashes(archive.registry)
        for entry in archive.members():
            try:
                member = parse_member(entry.plain_name)
            except UnsafeMember as exc:
                logger.warning("ignoring a member with an unusable name: %s", exc)
                continue
            server_sha1 = _server_sha1(member, found.id, archive.registry, server_hashes)
            here = local.get(member.name)
            candidates = [here] if here is not None else by_base.get(member.base_name, [])
            if not candidates:
                missing.append(member.name)
                continue
            if any(c.sha1 is not None and c.sha1 in server_sha1 for c in candidates):
                continue  # the same content: re-sent only because the server could not match it
            if here is None:
                missing.append(member.name)  # other files share the base name, none matches
            elif here.sha1 is None or not any(len(h) == 28 for h in server_sha1):
                unverified.append(member.name)
            else:
                changed.append(member.name)

    server_q: dict[str, dict[str, int]] = {}
    if quantities:
        for pid, per in client.data_quantities(found).items():
            server_q[pid] = {str(getattr(s, "value", s)): n for s, n in per.items()}
        server_pids = set(server_q)
    else:
        server_pids = set(client.participant_ids(found))
    with_files = {name.split("/", 1)[0] for name in missing}
    return ServerComparison(
        study_id=found.id,
        study_name=found.name,
        missing=tuple(sorted(set(missing))),
        changed=tuple(sorted(set(changed))),
        unverified=tuple(sorted(set(unverified))),
        server_only_participants=tuple(sorted(with_files - local_pids)),
        local_only_participants=tuple(sorted(local_pids - server_pids)),
        quantities=_quantities(server_q, local, manifest, wanted, stream_set),
        registry_size=len(registry),
        transferred_bytes=transferred,
    )


def _seconds(value: date | datetime, *, last: bool) -> int:
    from datetime import UTC, time, timedelta

    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        if last:  # the server includes the whole hour holding ``end``
            return (int(moment.timestamp()) // 3600) * 3600 + 3599
        return int(moment.timestamp()) // 3600 * 3600
    moment = datetime.combine(value, time(0), tzinfo=UTC)
    if last:
        moment += timedelta(days=1, seconds=-1)
    return int(moment.timestamp())


def _inventory(
    root: Path,
    participants: list[str] | None,
    streams: frozenset[str] | None,
    lo: int | None,
    hi: int | None,
) -> tuple[dict[str, _Local], set[str]]:
    """Every data file in the tree: relative plain path -> what we know (names + scandir stat)."""
    found: dict[str, _Local] = {}
    pids: set[str] = set()
    wanted = None if participants is None else set(participants)

    def walk(folder: str, prefix: str, depth: int) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                rel = f"{prefix}{entry.name}"
                if entry.is_dir():
                    if depth < 3:
                        walk(entry.path, rel + "/", depth + 1)
                    continue
                if depth < 2:
                    continue
                form = form_of(entry.name)
                plain = rel
                for suffix in _SUFFIXES:
                    if plain.endswith(suffix):
                        plain = plain[: -len(suffix)]
                        break
                try:
                    member = parse_member(plain)
                except UnsafeMember:
                    continue
                if streams is not None and member.stream not in streams:
                    continue
                if (lo is not None and member.time_bin < lo) or (
                    hi is not None and member.time_bin > hi
                ):
                    continue
                st = entry.stat()
                found[plain] = _Local(rel, form, st.st_size, st.st_mtime_ns, member)

    with os.scandir(root) as top:
        for entry in top:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            if wanted is not None and entry.name not in wanted:
                continue
            pids.add(entry.name)
            walk(entry.path, entry.name + "/", 1)
    return found, pids


def _manifest_rows(root: Path, study_id: str) -> dict[str, ManifestFile]:
    if not (root / MANIFEST_NAME).is_file():
        return {}
    try:
        with Manifest(root, study_id=study_id, readonly=True) as manifest:
            return {row.path: row for row in manifest.files()}
    except ManifestError:
        raise
    except Exception as exc:  # an unreadable manifest only costs speed: hash the files instead
        logger.warning("cannot read the manifest in %s (%s); hashing files instead", root, exc)
        return {}


def _hash_local(
    root: Path,
    local: dict[str, _Local],
    manifest: Mapping[str, ManifestFile],
    key: LockKey | str | None,
) -> None:
    for plain, item in local.items():
        row = manifest.get(plain)
        if (
            row is not None
            and row.sha1_b64
            and row.form == item.form
            and row.size_on_disk == item.size
            and row.mtime_ns == item.mtime_ns
        ):
            item.sha1 = row.sha1_b64
            continue
        if item.form in ("lock", "zst.lock") and key is None:
            continue
        try:
            item.sha1 = sha1_b64_file(root / item.disk, key=key)
        except ManoFilesError as exc:
            logger.warning("cannot hash %s: %s", item.disk, exc)


def _registry(
    study_id: str, local: Mapping[str, _Local], manifest: Mapping[str, ManifestFile]
) -> dict[str, str]:
    registry: dict[str, str] = {}
    for plain, item in local.items():
        if item.sha1 is None:
            continue
        member = item.member
        if member.stream in UNCHUNKED_STREAMS:
            row = manifest.get(plain)
            if row is not None and row.storage_key and row.sha1_b64 == item.sha1:
                registry[row.storage_key] = item.sha1
            elif member.stream == "audio_recordings":
                registry[f"local/{plain}"] = item.sha1  # rule 3: matched by hash, key irrelevant
            continue
        full = storage_key_from_member(member, study_id)
        if full is None:  # legacy survey timings without a survey folder
            row = manifest.get(plain)
            if row is not None and row.storage_key:
                registry[registry_key_to_send(row.storage_key)] = item.sha1
            continue
        registry[registry_key_to_send(full)] = item.sha1
    return registry


def _server_hashes(registry: Mapping[str, str]) -> dict[tuple[str, str, int], set[str]]:
    """(participant, stream, second) -> hashes the archive's registry reports there."""
    slots: dict[tuple[str, str, int], set[str]] = {}
    for key, value in registry.items():
        slot = parse_storage_key(key)
        if slot is None or not isinstance(value, str) or not value:
            continue
        slots.setdefault((slot.participant, slot.stream, slot.second), set()).add(value)
    return slots


def _server_sha1(
    member: MemberName,
    study_id: str,
    registry: Mapping[str, str],
    slots: Mapping[tuple[str, str, int], set[str]],
) -> set[str]:
    full = storage_key_from_member(member, study_id)
    if full is not None and registry.get(full):
        return {registry[full]}
    return set(slots.get((member.participant, member.stream, int(member.time_bin)), set()))


def _quantities(
    server: Mapping[str, Mapping[str, int]],
    local: Mapping[str, _Local],
    manifest: Mapping[str, ManifestFile],
    participants: list[str] | None,
    streams: frozenset[str] | None,
) -> tuple[StreamQuantity, ...]:
    files: dict[tuple[str, str], int] = {}
    disk: dict[tuple[str, str], int] = {}
    plain: dict[tuple[str, str], int | None] = {}
    for path, item in local.items():
        k = (item.member.participant, item.member.stream)
        files[k] = files.get(k, 0) + 1
        disk[k] = disk.get(k, 0) + item.size
        row = manifest.get(path)
        size: int | None
        if item.form == "plain":
            size = item.size
        elif row is not None and row.size_on_disk == item.size and row.form == item.form:
            size = row.size
        else:
            size = None
        before = plain.get(k, 0)
        plain[k] = None if before is None or size is None else before + size
    keys = set(files)
    for pid, per in server.items():
        keys |= {(pid, s) for s, n in per.items() if n}
    out = []
    for pid, stream in sorted(keys):
        if participants is not None and pid not in participants:
            continue
        if streams is not None and stream not in streams:
            continue
        out.append(
            StreamQuantity(
                participant=pid,
                stream=stream,
                server_bytes=int(server.get(pid, {}).get(stream, 0)),
                local_files=files.get((pid, stream), 0),
                local_bytes=disk.get((pid, stream), 0),
                local_plain_bytes=plain.get((pid, stream), 0),
            )
        )
    return tuple(out)
