"""Settle one data file (all forms of one plain path) for a tree operation.

The tree operations hand every *group* of files sharing a plain path (``X.csv``,
``X.csv.zst``, ``X.csv.zst.lock``, ``X.csv.lock``) to :func:`settle` with a :class:`Spec` of
what they do. One file alone is converted; when the source is to go, it goes through
:func:`mano_files._replace.retire_source` (the deletion rule). Several forms together (the
originals ``compress`` keeps, or what an interrupted run left) are compared by content: equal
forms are settled as if the run had not been interrupted (the redundant copy is removed when
the operation deletes its sources), different forms are a :class:`Conflict` and nothing of the
group is touched. Forms the operation cannot read (locked forms for compress/decompress) block
the group: no new unencrypted form is ever made beside a locked one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mano_files._datafile import convert_file
from mano_files._errors import ManoFilesError, SourceChanged, TargetExists
from mano_files._oneshot import compress_whole, decompress_whole, sha1_b64
from mano_files._paths import FORM_SUFFIXES, Form
from mano_files._replace import Snapshot, content_hash, retire_source

if TYPE_CHECKING:  # encryption loads only for locked forms
    from mano_files._crypto import LockKey

__all__ = ["Conflict", "FormCopy", "Group", "Spec", "settle"]

#: The forms of one plain path found by the walk: ``{form: (path, lstat or None)}``.
Group = dict[Form, tuple[str, "os.stat_result | None"]]
_Result = tuple[Literal["done", "skipped", "failed", "conflict"], int, int, "str | None", Any]

_LOCKED: tuple[Form, ...] = ("zst.lock", "lock")


@dataclass(frozen=True, slots=True)
class FormCopy:
    """One stored form of a file in a conflict."""

    path: Path
    size: int
    sha1_b64: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """Forms of one file whose contents differ; nothing of it was changed.

    Attributes:
        path: The plain path (no ``.zst``/``.lock``).
        copies: Every form found, with its size on disk and the SHA-1 of its plain content.
    """

    path: Path
    copies: tuple[FormCopy, ...]

    def describe(self) -> str:
        """One line: the path, then each form's suffix, size and SHA-1."""
        base = len(self.path.name)
        parts = [
            f"{c.path.name[base:] or 'plain'} {c.size} bytes SHA-1 {c.sha1_b64}"
            for c in self.copies
        ]
        return f"{self.path}: forms differ: " + " vs ".join(parts)


@dataclass(frozen=True, slots=True)
class Spec:
    """What a tree operation does to a group.

    Attributes:
        sources: Forms it converts, in order of preference.
        target: The form it writes.
        done_forms: Forms that already count as the result (e.g. a legacy ``.lock`` for lock).
        blockers: Forms that make it leave the group alone (it cannot read them).
        delete: Remove the sources once the result is proven.
        overwrite: Replace an existing result from the (single) source.
        key: For reading and writing locked forms.
        level: zstd level for compressing plain sources.
        fsync: Make every write durable.
    """

    sources: tuple[Form, ...]
    target: Form
    done_forms: tuple[Form, ...]
    blockers: tuple[Form, ...] = ()
    delete: bool = False
    overwrite: bool = False
    key: LockKey | None = None
    level: int = 2
    fsync: bool = False


def _plain_path(path: str, form: Form) -> str:
    suffix = FORM_SUFFIXES[form]
    return path[: len(path) - len(suffix)] if suffix else path


def _snapshot(entry: tuple[str, os.stat_result | None]) -> Snapshot:
    path, st = entry
    return Snapshot.from_stat(st) if st is not None else Snapshot.of(path)


def _convert(
    src: str, form: Form, before: Snapshot, spec: Spec, *, overwrite: bool, want_hash: bool
) -> tuple[int, int, str, str, bytes | None]:
    """Write ``src`` in the target form; nothing is published if ``src`` changes meanwhile.

    Returns:
        ``(bytes_in, bytes_out, final path, SHA-1, plain)``: a small file converted in memory
        gives its plain content (``plain``; SHA-1 ""), a streamed one the SHA-1 of the plain
        bytes read when ``want_hash`` (``plain`` None): what the deletion rule compares the
        new file with.
    """
    plain = _plain_path(src, form)
    final = plain + FORM_SUFFIXES[spec.target]

    def check() -> None:
        before.check(src)

    try:
        whole = None
        if spec.target == "plain" and form == "zst":
            whole = decompress_whole(
                src, final, overwrite=overwrite, fsync=spec.fsync, check=check, size=before.size
            )
        elif spec.target == "zst" and form == "plain":
            whole = compress_whole(
                src, final, level=spec.level, overwrite=overwrite, fsync=spec.fsync,
                check=check, size=before.size,
            )  # fmt: skip
        if whole is not None:
            return whole[0], whole[1], final, "", whole[2]
        size_in, size_out, _final, sha1 = convert_file(
            src, plain, spec.target, key=spec.key, level=spec.level, overwrite=overwrite,
            fsync=spec.fsync, want_hash=want_hash, check=check,
        )  # fmt: skip
        return size_in, size_out, final, sha1 or "", None
    except (SourceChanged, TargetExists):
        raise
    except (ManoFilesError, OSError) as exc:
        # a file appended to while being compressed fails as "damaged zstd data (Src size is
        # incorrect)": say what really happened
        try:
            before.check(src)
        except SourceChanged as changed:
            raise changed from exc
        raise


def _convert_one(src: str, form: Form, entry_stat: os.stat_result | None, spec: Spec) -> _Result:
    before = _snapshot((src, entry_stat))
    try:
        size_in, size_out, final, sha1, plain = _convert(
            src, form, before, spec, overwrite=spec.overwrite, want_hash=spec.delete
        )
    except TargetExists:
        name = os.path.basename(_plain_path(src, form) + FORM_SUFFIXES[spec.target])
        return ("skipped", 0, 0, f"{name} already exists (use overwrite to replace it)", None)
    if spec.delete:
        retire_source(src, before, sha1, final, key=spec.key, source_plain=plain)
    return ("done", size_in, size_out, None, None)


def settle(group: Group, spec: Spec) -> _Result:
    """Apply ``spec`` to one group of forms; see the module docstring.

    Returns:
        ``(outcome, bytes_in, bytes_out, reason, extra)`` with outcome ``done``, ``skipped``,
        ``conflict`` (extra: the :class:`Conflict`) or ``failed``; errors raise.
    """
    sources = [f for f in spec.sources if f in group]
    if not sources:
        return ("skipped", 0, 0, None, None)
    blocker = next((f for f in spec.blockers if f in group), None)
    if blocker is not None:
        name = os.path.basename(group[blocker][0])
        return (
            "skipped",
            0,
            0,
            f"a locked copy ({name}) is beside it: `mano lock` or `mano unlock` settles the pair",
            None,
        )
    if len(group) == 1:
        form = sources[0]
        path, st = group[form]
        return _convert_one(path, form, st, spec)
    done_form = next((f for f in spec.done_forms if f in group), None)
    if (
        spec.overwrite
        and len(sources) == 1
        and done_form is not None
        and all(f in sources or f in spec.done_forms for f in group)
    ):
        path, st = group[sources[0]]
        return _convert_one(path, sources[0], st, spec)
    return _compare_and_settle(group, sources, done_form, spec)


def _compare_and_settle(
    group: Group, sources: list[Form], done_form: Form | None, spec: Spec
) -> _Result:
    snaps = {form: _snapshot(entry) for form, entry in group.items()}
    hashes = {form: content_hash(path, spec.key)[0] for form, (path, _st) in group.items()}
    if len(set(hashes.values())) > 1:
        plain = _plain_path(*next((p, f) for f, (p, _s) in group.items()))
        copies = tuple(
            FormCopy(Path(path), snaps[form].size, hashes[form])
            for form, (path, _st) in sorted(group.items(), key=lambda item: item[1][0])
        )
        conflict = Conflict(Path(plain), copies)
        return ("conflict", 0, 0, conflict.describe(), conflict)
    common = next(iter(hashes.values()))
    size_in = size_out = 0
    if done_form is None:
        # prefer a compressed source: it is copied without recompression
        form = next((f for f in sources if f in ("zst", "zst.lock")), sources[0])
        src = group[form][0]
        size_in, size_out, final, sha1, read = _convert(
            src, form, snaps[form], spec, overwrite=False, want_hash=True
        )
        if read is not None:
            sha1 = sha1_b64(read)
        if sha1 != common:
            raise SourceChanged(f"{src}: file changed while being read; both copies were kept")
        replacement, replacement_sha1 = final, content_hash(final, spec.key)[0]
    else:
        replacement, replacement_sha1 = group[done_form][0], hashes[done_form]
    if not spec.delete:
        if done_form is None:
            return ("done", size_in, size_out, None, None)
        return ("skipped", 0, 0, None, None)
    for form in sources:
        path = group[form][0]
        retire_source(
            path, snaps[form], hashes[form], replacement, key=spec.key,
            replacement_sha1=replacement_sha1,
        )  # fmt: skip
        size_in += snaps[form].size
    return ("done", size_in, size_out, None, None)
