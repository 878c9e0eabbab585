"""`mano compress|decompress|lock|unlock|verify DIR`: work on a local data tree.

A study folder (one holding ``.mano-sync.sqlite``) is locked with the same lock as
``mano sync`` while a command runs, so overlapping runs exit with code 6, and the sync
manifest is told about files that changed form (so the next sync does not fetch them again).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mano_cli._context import (
    LOCK_PASS_VAR,
    Settings,
    check_streams,
    confirm,
    existing_folder,
    jsonable,
    load_credentials,
    settings,
)
from mano_cli._errors import (
    EXIT_DISK_FULL,
    EXIT_USAGE,
    CliError,
    Conflicts,
    PartialFailure,
    UsageProblem,
    is_disk_full,
)
from mano_cli._output import dumps, human_bytes, write_text
from mano_cli._progress import ProgressView

if TYPE_CHECKING:
    from mano_auth import Credentials
    from mano_files import TreeSummary

__all__ = ["compress", "decompress", "lock", "unlock", "verify"]

logger = logging.getLogger(__name__)

FOLDER_ARG = typer.Argument(
    ..., metavar="DIR", help="Study folder, a folder inside it, or one data file."
)
STREAM_OPT = typer.Option(
    None, "--stream", "-s", metavar="STREAM", help="Only these data streams (repeatable)."
)
JSON_OPT = typer.Option(False, "--json", help="Print the summary as JSON.")
STUDY_OPT = typer.Option(
    None,
    "--study",
    metavar="STUDY",
    help="Study whose passphrase to use from the keyring's SECRETS (default: the folder's study).",
)

_FORMS = (("plain", ""), ("zst", ".zst"), ("zst.lock", ".zst.lock"), ("lock", ".lock"))

#: ``mano_sync.MANIFEST_NAME`` and ``mano_sync.LOCK_NAME`` (a test keeps them equal): looking
#: for them must not load the sync engine, which a folder without them never needs.
MANIFEST_NAME = ".mano-sync.sqlite"
LOCK_NAME = ".mano-sync.lock"


def _is_study_folder(path: Path) -> bool:
    return path.is_dir() and ((path / MANIFEST_NAME).exists() or (path / LOCK_NAME).exists())


@contextmanager
def _guard(folder: Path) -> Iterator[None]:
    """Hold the study folder's sync lock (when it is a study folder), then refresh its manifest."""
    if not _is_study_folder(folder):
        yield
        return
    from mano_sync import FolderLock, merge_shards

    with FolderLock(folder):
        merge_shards(folder)  # what shard runs recorded: one manifest for the whole tree
        try:
            yield
        except BaseException:
            # files converted before the failure are recorded too (best effort: the next
            # command records them otherwise)
            with contextlib.suppress(Exception):
                _refresh_manifest(folder)
            raise
        try:
            _refresh_manifest(folder)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            raise CliError(
                f"disk full in {folder}: the sync manifest could not record the files' new "
                "forms; free some space and run the command again",
                exit_code=EXIT_DISK_FULL,
            ) from exc


def _refresh_manifest(folder: Path) -> None:
    """Record the new form and size of files a tree command converted."""
    from mano_sync import Manifest

    if not (folder / MANIFEST_NAME).exists():
        return
    changed = 0
    with Manifest(folder) as manifest:
        for row in list(manifest):
            current = folder / row.disk_path
            if current.exists():
                continue
            for form, suffix in _FORMS:
                candidate = folder / (row.path + suffix)
                if candidate.exists():
                    st = candidate.stat()
                    manifest.record(
                        dataclasses.replace(
                            row, form=form, size_on_disk=st.st_size, mtime_ns=st.st_mtime_ns
                        )
                    )
                    changed += 1
                    break
        manifest.commit()
    logger.debug("manifest: %d file(s) changed form", changed)


def _progress(view: ProgressView, label: str) -> Callable[[Any], None] | None:
    if not view.enabled:
        return None

    def on_event(ev: Any) -> None:
        view.update(label, files=ev.completed, files_total=ev.total, advance=ev.bytes_in)

    return on_event


def _run(s: Settings, label: str, folder: Path, op: Callable[[Any], TreeSummary]) -> TreeSummary:
    with _guard(folder), ProgressView(s) as view:
        return op(_progress(view, label))


@dataclasses.dataclass(frozen=True)
class _F:
    path: str
    reason: str


def _where(failure: Any) -> str:
    """``path: reason``, the path once (most reasons already start with it)."""
    path, reason = str(failure.path), str(failure.reason)
    return reason if path in reason else f"{path}: {reason}"


def _report(s: Settings, what: str, summary: TreeSummary, json_output: bool) -> None:
    links = summary.links
    if json_output or s.json:
        data = jsonable(summary)
        data["failed"] = [{"path": str(f.path), "reason": f.reason} for f in summary.failed]
        data["skipped_paths"] = [
            {"path": str(f.path), "reason": f.reason} for f in summary.skipped_paths
        ]
        data["conflicts"] = [
            {
                "path": str(c.path),
                "copies": [
                    {"path": str(k.path), "size": k.size, "sha1": k.sha1_b64} for k in c.copies
                ],
            }
            for c in summary.conflicts
        ]
        data["links"] = [str(f.path) for f in links]
        data.pop("hashes", None)
        data["ok"] = summary.ok
        write_text(dumps(data), None)
    else:
        extra = ""
        if summary.conflicts:
            extra += f", {len(summary.conflicts)} conflict(s)"
        if links:
            extra += f", {len(links)} symbolic link(s) not followed"
        write_text(
            f"{what}: {summary.done} done, {summary.skipped} skipped, {len(summary.failed)} failed"
            f"{extra} ({human_bytes(summary.bytes_in)} read, {human_bytes(summary.bytes_out)} "
            "written)\n",
            None,
        )
        if s.verbosity >= 1:
            for c in summary.conflicts:
                s.err.print(f"conflict: {c.describe()}", markup=False, highlight=False)
            for f in links:
                s.err.print(f"not followed: {f.path}: {f.reason}", markup=False, highlight=False)
            for f in summary.skipped_paths:
                if f.reason != "symbolic link: left alone":
                    s.err.print(f"left alone: {f.path}: {f.reason}", markup=False, highlight=False)
            for f in summary.failed:
                s.err.print(f"failed: {_where(f)}", markup=False, highlight=False)
    if summary.failed:
        first = summary.failed[0]
        more = f"; {len(summary.conflicts)} conflict(s)" if summary.conflicts else ""
        raise PartialFailure(
            f"{len(summary.failed)} file(s) failed{more} (first: {_where(first)}); -v lists all"
        )
    if summary.conflicts:
        first_conflict = summary.conflicts[0]
        raise Conflicts(
            f"{len(summary.conflicts)} file(s) stored in forms with different content, none "
            f"changed (first: {first_conflict.describe()}); keep the right form, delete the "
            "other and run again; -v lists all"
        )
    if what == "lock" and links:
        raise PartialFailure(
            f"{len(links)} symbolic link(s) were not followed, so what they point to is not "
            f"locked (first: {links[0].path}): lock the folders they point to; -v lists all"
        )


def _workers(s: Settings) -> int | None:
    return s.threads if s.threads > 0 else None


def compress(
    ctx: typer.Context,
    folder: Path = FOLDER_ARG,
    level: int | None = typer.Option(
        None,
        "--level",
        "-l",
        min=1,
        max=22,
        metavar="LEVEL",
        help="zstd level (default 2, like the server).",
    ),
    delete_original: bool = typer.Option(
        False, "--delete-original", help="Delete each plain file once its .zst is written."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing .zst files."),
    stream: list[str] | None = STREAM_OPT,
    json_output: bool = JSON_OPT,
) -> None:
    """Compress data files to .zst (-0 … -22 or --level N; plain files kept unless --delete-original)."""
    s = settings(ctx)
    existing_folder(folder, file_ok=True)
    streams = check_streams(stream)
    if delete_original or overwrite:
        confirm(
            s,
            f"{'Delete original files' if delete_original else 'Overwrite existing .zst files'} under {folder}?",
        )
    from mano_files import DEFAULT_LEVEL, compress_tree

    summary = _run(
        s,
        "compress",
        folder,
        lambda p: compress_tree(
            folder,
            level=level or DEFAULT_LEVEL,
            delete_original=delete_original,
            overwrite=overwrite,
            streams=streams,
            workers=_workers(s),
            progress=p,
        ),
    )
    _report(s, "compress", summary, json_output)


def decompress(
    ctx: typer.Context,
    folder: Path = FOLDER_ARG,
    delete_zst: bool = typer.Option(
        False, "--delete-zst", help="Delete each .zst once its plain file is written."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing plain files."),
    stream: list[str] | None = STREAM_OPT,
    json_output: bool = JSON_OPT,
) -> None:
    """Decompress .zst data files to plain files."""
    s = settings(ctx)
    existing_folder(folder, file_ok=True)
    streams = check_streams(stream)
    if delete_zst or overwrite:
        confirm(
            s,
            f"{'Delete .zst files' if delete_zst else 'Overwrite existing plain files'} under {folder}?",
        )
    from mano_files import decompress_tree

    summary = _run(
        s,
        "decompress",
        folder,
        lambda p: decompress_tree(
            folder,
            delete_zst=delete_zst,
            overwrite=overwrite,
            streams=streams,
            workers=_workers(s),
            progress=p,
        ),
    )
    _report(s, "decompress", summary, json_output)


def _folder_study(folder: Path) -> str | None:
    """The study id recorded in the folder's sync manifest, if any."""
    root = (folder if folder.is_dir() else folder.parent).resolve()
    for candidate in (root, *root.parents):
        if (candidate / MANIFEST_NAME).exists():
            from mano_sync import Manifest

            try:
                with Manifest(candidate.resolve(), readonly=True) as m:
                    return m.study_id
            except Exception as exc:
                logger.debug("cannot read manifest of %s: %s", candidate, exc)
                return None
    return None


def _credentials_if_any(s: Settings) -> Credentials | None:
    if s.keyring is None:
        return None
    return load_credentials(s)


def _passphrase(s: Settings, folder: Path, study: str | None, *, new: bool) -> str:
    """The data passphrase for FOLDER's study (see :func:`mano_cli.sync.lock_passphrase`).

    The study is ``--study``, else the one in the folder's sync manifest, else the folder's
    name. With a keyring section whose SECRETS are keyed by study name (mano 0.6.0) and a
    manifest that only knows the id, the name is looked up on the server.
    """
    from mano_cli.sync import lock_passphrase

    creds = _credentials_if_any(s)
    target: Any = study or _folder_study(folder) or folder.resolve().name
    if creds is not None and creds.secrets:
        from mano_auth import StudyPassphraseNotFound

        try:
            creds.study_passphrase(target)
        except StudyPassphraseNotFound:
            target = _study_by_id(s, creds, target) or folder.resolve().name
            if not _has_secret(creds, target):
                target = study or _folder_study(folder) or folder.resolve().name
    return lock_passphrase(s, creds, target, confirm_new=new)


def _has_secret(creds: Credentials, study: Any) -> bool:
    from mano_auth import StudyPassphraseNotFound

    try:
        creds.study_passphrase(study)
    except StudyPassphraseNotFound:
        return False
    return True


def _study_by_id(s: Settings, creds: Credentials, study_id: str) -> Any:
    """The server's Study for an id (so SECRETS keyed by name work), or None if unknown."""
    from mano_cli._api import open_client

    try:
        with open_client(s, creds) as client:
            return next((st for st in client.studies() if st.id == study_id), None)
    except Exception as exc:  # offline is fine: fall back to the environment or a prompt
        logger.debug("cannot look up study %s: %s", study_id, exc)
        return None


def lock(
    ctx: typer.Context,
    stream: Annotated[
        list[str],
        typer.Option(
            "--stream",
            "-s",
            metavar="STREAM",
            help="Streams to lock (repeatable; 'all' for every stream).",
        ),
    ],
    folder: Path = FOLDER_ARG,
    study: str | None = STUDY_OPT,
    keep_original: bool = typer.Option(
        False, "--keep-original", help="Keep the unlocked files (default: delete them once locked)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing .zst.lock files."),
    force: bool = typer.Option(
        False, "--force", help="Lock even if the folder was locked with another passphrase."
    ),
    json_output: bool = JSON_OPT,
) -> None:
    """Encrypt data files at rest (.zst.lock). Passphrase: keyring SECRETS, $MANO_LOCK_PASSPHRASE or a prompt."""
    from mano_cli.sync import _lock_streams

    s = settings(ctx)
    existing_folder(folder, file_ok=True)
    streams = _lock_streams(stream)
    if not streams:
        raise UsageProblem("--stream is required: name the streams to lock, or 'all'")
    if overwrite:
        confirm(s, f"Overwrite existing locked files under {folder}?")
    passphrase = _passphrase(s, folder, study, new=True)
    from mano_files import derive_key, lock_tree

    key = derive_key(passphrase)
    summary = _run(
        s,
        "lock",
        folder,
        lambda p: lock_tree(
            folder,
            key,
            streams=streams,
            delete_original=not keep_original,
            overwrite=overwrite,
            force=force,
            workers=_workers(s),
            progress=p,
        ),
    )
    _report(s, "lock", summary, json_output)


def unlock(
    ctx: typer.Context,
    folder: Path = FOLDER_ARG,
    stream: list[str] | None = STREAM_OPT,
    study: str | None = STUDY_OPT,
    keep_compressed: bool = typer.Option(
        False, "--keep-compressed", help="Write .zst files instead of plain ones."
    ),
    keep_locked: bool = typer.Option(
        False, "--keep-locked", help="Keep the locked files (default: delete them once unlocked)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing unlocked files."),
    json_output: bool = JSON_OPT,
) -> None:
    """Decrypt locked data files (.lock, .zst.lock). A wrong passphrase fails with exit code 3."""
    s = settings(ctx)
    existing_folder(folder, file_ok=True)
    streams = check_streams(stream)
    if overwrite:
        confirm(s, f"Overwrite existing unlocked files under {folder}?")
    passphrase = _passphrase(s, folder, study, new=False)
    from mano_files import unlock_tree

    summary = _run(
        s,
        "unlock",
        folder,
        lambda p: unlock_tree(
            folder,
            passphrase,
            keep_compressed=keep_compressed,
            streams=streams,
            delete_locked=not keep_locked,
            overwrite=overwrite,
            workers=_workers(s),
            progress=p,
        ),
    )
    _raise_if_all_wrong_passphrase(summary)
    _report(s, "unlock", summary, json_output)


def _raise_if_all_wrong_passphrase(summary: TreeSummary) -> None:
    """Every file failing with a wrong passphrase is a credentials problem, not a partial one."""
    if (
        summary.failed
        and summary.done == 0
        and all("passphrase" in f.reason.lower() for f in summary.failed)
    ):
        from mano_cli._errors import CredentialsProblem

        raise CredentialsProblem(
            f"wrong passphrase: none of the {len(summary.failed)} locked file(s) opened; nothing "
            f"was changed (check the keyring SECRETS or {LOCK_PASS_VAR})"
        )


def _has_locked_files(folder: Path) -> bool:
    if folder.is_file():
        return folder.name.endswith(".lock")
    for _root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(n.endswith(".lock") and not n.startswith(".") for n in names):
            return True
    return False


def verify(
    ctx: typer.Context,
    folder: Path = FOLDER_ARG,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            metavar="FILE",
            help="JSON {relpath: sha1} to compare with (default: the folder's sync manifest).",
        ),
    ] = None,
    stream: list[str] | None = STREAM_OPT,
    study: str | None = STUDY_OPT,
    fast: bool = typer.Option(
        False,
        "--fast",
        help="Trust the hash cache for files whose size and mtime did not change (default: read every file).",
    ),
    json_output: bool = JSON_OPT,
) -> None:
    """Check every data file: it opens, decompresses/decrypts, and matches the recorded SHA-1."""
    from mano_files import hash_tree, verify_tree

    s = settings(ctx)
    existing_folder(folder, file_ok=True)
    streams = check_streams(stream)
    passphrase = _passphrase(s, folder, study, new=False) if _has_locked_files(folder) else None
    expected: Any = None
    if manifest is not None:
        if not manifest.is_file():
            raise CliError(f"manifest {manifest} does not exist", exit_code=EXIT_USAGE)
        expected = manifest
    elif folder.is_dir() and (folder / MANIFEST_NAME).exists():
        from mano_sync import Manifest

        with Manifest(folder.resolve(), readonly=True) as m:
            expected = {row.path: row.sha1_b64 for row in m}
    with _guard(folder), ProgressView(s) as view:
        progress = _progress(view, "verify")
        if expected is None:
            summary = hash_tree(
                folder,
                passphrase=passphrase,
                streams=streams,
                trust_cache=fast,
                workers=_workers(s),
                progress=progress,
            )
            conflicts = summary.conflicts
            report: dict[str, Any] = {
                "checked": summary.done,
                "matched": None,
                "mismatched": [],
                "missing": [],
                "extra": [],
                "failed": [{"path": str(f.path), "reason": f.reason} for f in summary.failed],
                "manifest": None,
            }
        else:
            result = verify_tree(
                folder,
                expected,
                passphrase=passphrase,
                streams=streams,
                fast=fast,
                workers=_workers(s),
                progress=progress,
            )
            conflicts = result.conflicts
            report = {
                "checked": result.matched + len(result.mismatched),
                "matched": result.matched,
                "mismatched": result.mismatched,
                "missing": result.missing,
                "extra": result.extra,
                "failed": [{"path": str(f.path), "reason": f.reason} for f in result.failed],
                "unchecked": result.unchecked,
                "manifest": str(manifest) if manifest is not None else MANIFEST_NAME,
            }
    report["conflicts"] = [
        {
            "path": str(c.path),
            "copies": [{"path": str(k.path), "size": k.size, "sha1": k.sha1_b64} for k in c.copies],
        }
        for c in conflicts
    ]
    report["fast"] = fast
    differ = {str(c.path) for c in conflicts}
    problems = len(report["mismatched"]) + len(report["missing"]) + len(report["failed"])
    if report["matched"] is None:  # with a manifest, differing forms are among "mismatched"
        problems += len(conflicts)
    report["ok"] = problems == 0
    if json_output or s.json:
        write_text(dumps(report), None)
    else:
        note = " (--fast: files unchanged since last hashed were not read)" if fast else ""
        if report["matched"] is None:
            forms = f", {len(conflicts)} with differing forms" if conflicts else ""
            write_text(
                f"verify: {report['checked']} files readable, {len(report['failed'])} unreadable"
                f"{forms} (no manifest: contents checked, hashes not compared){note}\n",
                None,
            )
        else:
            write_text(
                f"verify: {report['matched']} match, {len(report['mismatched'])} differ, "
                f"{len(report['missing'])} missing, {len(report['failed'])} unreadable, "
                f"{len(report['extra'])} not in the manifest{note}\n",
                None,
            )
        if s.verbosity >= 1:
            for c in conflicts:
                s.err.print(f"conflict: {c.describe()}", markup=False, highlight=False)
        if s.verbosity >= 1:
            for key in ("mismatched", "missing", "extra"):
                for rel in report[key]:
                    s.err.print(f"{key}: {rel}", markup=False, highlight=False)
            for f in report["failed"]:
                s.err.print(f"unreadable: {_where(_F(**f))}", markup=False, highlight=False)
    if problems:
        firsts = [*report["mismatched"], *report["missing"]]
        firsts += [f"unreadable: {_where(_F(**f))}" for f in report["failed"][:1]]
        firsts += sorted(differ)
        first = firsts[0]
        raise PartialFailure(f"verify found {problems} problem(s) (first: {first}); -v lists all")
