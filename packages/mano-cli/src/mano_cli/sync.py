"""`mano sync` (one study, every study of a section, every section) and `mano demo`."""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mano_cli._api import open_client
from mano_cli._context import (
    LOCK_PASS_VAR,
    Settings,
    ask_secret,
    check_output_folder,
    check_streams,
    check_window,
    ensure_output_folder,
    jsonable,
    load_credentials,
    output_folder,
    parse_when,
    settings,
    split_values,
)
from mano_cli._errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    CredentialsProblem,
    PartialFailure,
    UsageProblem,
    classify,
)
from mano_cli._output import dumps, human_bytes, table, write_text
from mano_cli._progress import ProgressView

if TYPE_CHECKING:
    from mano_api import BeiweClient, Study
    from mano_auth import Credentials
    from mano_sync import SyncProgress, SyncSummary

__all__ = ["demo", "human_bytes", "lock_passphrase", "sync", "tree_summary"]

logger = logging.getLogger(__name__)

_ALL = "all"


def lock_passphrase(
    s: Settings, credentials: Credentials | None, study: Any, *, confirm_new: bool = True
) -> str:
    """A study's data passphrase: keyring SECRETS, else MANO_LOCK_PASSPHRASE, else a TTY prompt."""
    if credentials is not None and credentials.secrets:
        from mano_auth import StudyPassphraseNotFound

        try:
            return credentials.study_passphrase(study)
        except StudyPassphraseNotFound:
            logger.debug("no SECRETS entry for %s; trying %s", study, LOCK_PASS_VAR)
    value = os.environ.get(LOCK_PASS_VAR)
    if value:
        return value
    label = getattr(study, "name", None) or str(study)
    return ask_secret(
        f"Data passphrase for {label}", variable=LOCK_PASS_VAR, confirm_it=confirm_new
    )


def _lock_streams(values: list[str] | None) -> list[str]:
    items = split_values(values) or []
    if _ALL in items:
        from mano_files import STREAMS

        return sorted(STREAMS)
    return check_streams(items) or []


def folder_name(study: Study, taken: set[str]) -> str:
    """A safe, unique folder name for a study: its name, else its id."""
    name = re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", study.name).strip().strip(".")
    if not name or name.lower() in taken:
        name = study.id
    taken.add(name.lower())
    return name


@dataclass
class _Outcome:
    label: str
    folder: Path
    summary: SyncSummary | None = None
    exit_code: int = EXIT_OK
    message: str = ""


def _progress_callback(view: ProgressView) -> Any:
    def on_event(ev: SyncProgress) -> None:
        if ev.event == "plan":
            view.update(
                "total",
                description=f"all ({ev.participants_total} participants)",
                total=ev.expected_bytes,
            )
            return
        view.update(
            "total",
            description=f"all ({ev.participants_done}/{ev.participants_total} participants)",
            files=ev.files,
            completed=ev.bytes,
            total=ev.expected_bytes,
        )
        if ev.participant:
            view.update(
                ev.participant,
                description=f"  {ev.participant}",
                files=ev.participant_files,
                completed=ev.participant_bytes,
            )
            if ev.event == "participant":
                view.finish(ev.participant)
        if ev.event == "done":
            view.finish("total")

    return on_event


def _sync_one(
    s: Settings,
    client: BeiweClient,
    credentials: Credentials,
    study: Study,
    out: Path,
    options: dict[str, Any],
    lock: list[str],
) -> SyncSummary:
    from mano_sync import sync_study

    passphrase = lock_passphrase(s, credentials, study) if lock else None
    if s.chatty:
        s.err.print(f"syncing {study.name} ({study.id}) into {out}", markup=False, highlight=False)
    with output_folder(out), ProgressView(s) as view:
        return sync_study(
            credentials,
            study.id,
            out,
            lock=lock,
            passphrase=passphrase,
            workers=s.threads if s.threads > 0 else None,
            progress=_progress_callback(view) if view.enabled else None,
            client=client,
            **options,
        )


def _summary_rows(summary: SyncSummary) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for pid, p in summary.participants.items():
        rows.append(
            (pid, p.new, p.updated, p.unchanged, len(p.failed), human_bytes(p.bytes_downloaded))
        )
    rows.append(
        (
            "total",
            summary.new,
            summary.updated,
            summary.unchanged,
            len(summary.failed),
            human_bytes(summary.bytes_downloaded),
        )
    )
    return rows


def _summary_json(outcome: _Outcome) -> dict[str, Any]:
    data: dict[str, Any] = {
        "study": outcome.label,
        "folder": str(outcome.folder),
        "exit_code": outcome.exit_code,
    }
    if outcome.summary is not None:
        summ = jsonable(outcome.summary)
        summ["failed"] = [str(f) for f in outcome.summary.failed]
        summ["ok"] = outcome.summary.ok
        data["summary"] = summ
    if outcome.message:
        data["error"] = outcome.message
    return data


def _report(s: Settings, outcomes: list[_Outcome], json_output: bool, *, as_list: bool) -> None:
    if json_output:
        payload: Any = [_summary_json(o) for o in outcomes]
        write_text(dumps(payload if as_list else payload[0]), None)
    else:
        for o in outcomes:
            if o.summary is None:
                continue
            title = None if len(outcomes) == 1 else f"{o.label} -> {o.folder}"
            table(
                s,
                ["participant", "new", "updated", "unchanged", "failed", "downloaded"],
                _summary_rows(o.summary),
                title=title,
            )
            if s.verbosity >= 1:
                for failure in o.summary.failed:
                    s.err.print(f"failed: {failure}", markup=False, highlight=False)
            if s.chatty:
                s.err.print(
                    f"{o.label}: {o.summary.new} new, {o.summary.updated} updated, "
                    f"{o.summary.unchanged} unchanged, {len(o.summary.failed)} failed, "
                    f"{human_bytes(o.summary.bytes_downloaded)} in {o.summary.elapsed:.1f} s",
                    markup=False,
                    highlight=False,
                )


def _finish(outcomes: list[_Outcome]) -> None:
    """Raise the error that gives the run's exit code (nothing when all went well)."""
    for o in outcomes:
        if o.summary is not None and not o.summary.ok:
            o.exit_code = EXIT_PARTIAL
            first = o.summary.failed[0]
            o.message = (
                f"{o.label}: {len(o.summary.failed)} file(s) failed (first: {first}); "
                "rerun to retry them, -v lists all"
            )
    failed = [o for o in outcomes if o.exit_code != EXIT_OK]
    if not failed:
        return
    if len(outcomes) == 1:
        raise CliError(failed[0].message, exit_code=failed[0].exit_code)
    codes = {o.exit_code for o in failed}
    code = codes.pop() if len(codes) == 1 and len(failed) == len(outcomes) else EXIT_PARTIAL
    raise CliError(
        f"{len(failed)} of {len(outcomes)} studies failed (first: {failed[0].message})",
        exit_code=code,
    )


def sync(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Study folder (with --all: the parent of one folder per study).",
        ),
    ],
    study: str | None = typer.Argument(
        None, metavar="STUDY", help="Study id, unique id prefix or exact name."
    ),
    participant: Annotated[
        list[str] | None,
        typer.Option(
            "--participant", "-p", metavar="PID", help="Only these participants (repeatable)."
        ),
    ] = None,
    stream: Annotated[
        list[str] | None,
        typer.Option(
            "--stream", "-s", metavar="STREAM", help="Only these data streams (repeatable)."
        ),
    ] = None,
    start: str | None = typer.Option(
        None,
        "--start",
        metavar="DATE",
        help="Ignore data before this (YYYY-MM-DD[THH:MM:SS], UTC).",
    ),
    end: str | None = typer.Option(
        None,
        "--end",
        metavar="DATE",
        help="Ignore data after this (inclusive; a date means the whole day).",
    ),
    lock: Annotated[
        list[str] | None,
        typer.Option(
            "--lock",
            metavar="STREAM",
            help="Store these streams encrypted (.zst.lock; 'all' for every stream). Passphrase: "
            "keyring SECRETS, $MANO_LOCK_PASSPHRASE or a prompt.",
        ),
    ] = None,
    keep_compressed: bool = typer.Option(
        False, "--keep-compressed", help="Store .zst files as the server sends them."
    ),
    decompress: bool = typer.Option(False, "--decompress", help="Store plain files (the default)."),
    all_studies: bool = typer.Option(
        False, "--all", help="Every study of the keyring section, into DIR/<study>."
    ),
    all_sections: bool = typer.Option(
        False,
        "--all-sections",
        help="Every study of every keyring section, into DIR/<section>/<study>.",
    ),
    v1: bool = typer.Option(False, "--v1", help="Use get-data v1 (plain members)."),
    v2: bool = typer.Option(False, "--v2", help="Use get-data v2 (zstd members; the default)."),
    recheck_days: float | None = typer.Option(
        None,
        "--recheck-days",
        min=0,
        metavar="DAYS",
        help="Days of recent data re-checked for late uploads (default: the library's).",
    ),
    verify_files: bool = typer.Option(
        False,
        "--verify-files",
        help="Stat every recorded file, also in folders unchanged since the last run "
        "(finds files edited in place; `mano verify` compares content).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Bring a local study folder up to date with the server (incremental, resumable, locked).

    Overlapping runs on the same folder exit with code 6. Use from cron with
    NRG_KEYRING_PASS (or BEIWE_* variables), -q and --log-file.
    """
    s = settings(ctx)
    if keep_compressed and decompress:
        raise UsageProblem("--keep-compressed and --decompress cannot be used together")
    if v1 and v2:
        raise UsageProblem("--v1 and --v2 cannot be used together")
    many = all_studies or all_sections
    if many and study is not None:
        raise UsageProblem(f"give either STUDY ({study!r}) or --all/--all-sections, not both")
    if not many and study is None:
        raise UsageProblem("missing STUDY (or pass --all for every study of the keyring section)")
    if many and participant:
        raise UsageProblem(
            "-p/--participant cannot be used with --all/--all-sections (participant ids belong to one study)"
        )
    if all_sections and s.keyring_file is None and not _keyring_exists(s):
        raise CredentialsProblem(
            "--all-sections needs a keyring file (--keyring-file or ~/.nrg-keyring.enc)"
        )
    start_at = parse_when(start, "--start")
    end_at = parse_when(end, "--end", end=True)
    check_window(start_at, end_at)
    streams = check_streams(stream)
    lock_streams = _lock_streams(lock)
    options: dict[str, Any] = {
        "participants": split_values(participant),
        "data_streams": streams,
        "start": start_at,
        "end": end_at,
        "keep_compressed": keep_compressed,
        "version": 1 if v1 else 2,
        "verify_files": verify_files,
    }
    if recheck_days is not None:
        options["recheck_days"] = recheck_days
    json_out = json_output or s.json
    check_output_folder(output)
    outcomes: list[_Outcome] = []
    if not many:
        assert study is not None
        credentials = load_credentials(s)
        with open_client(s, credentials) as client:
            found = client.resolve_study(study)
            _check_participants(client, found, options["participants"])
            summary = _sync_one(s, client, credentials, found, output, options, lock_streams)
        outcomes.append(_Outcome(f"{found.name}", output, summary))
    else:
        from mano_sync import FolderLock

        sections: list[str | None]
        if all_sections:
            from mano_auth import read_keyring

            sections = list(read_keyring(s.keyring_file).names)
        else:
            sections = [s.keyring]
        ensure_output_folder(output)
        with FolderLock(output):
            for section in sections:
                base = output / section if all_sections and section else output
                outcomes.extend(_sync_many(s, section, base, options, lock_streams))
    _report(s, outcomes, json_out, as_list=many)
    _finish(outcomes)


def _check_participants(client: BeiweClient, study: Study, wanted: list[str] | None) -> None:
    """Refuse participant ids the study does not have (before anything is written)."""
    if not wanted:
        return
    known = set(client.participant_ids(study))
    unknown = [p for p in wanted if p not in known]
    if unknown:
        raise UsageProblem(
            f"unknown participant(s) {', '.join(unknown)} in study {study.name}; "
            f"`mano participants {study.id}` lists them"
        )


def _keyring_exists(s: Settings) -> bool:
    from mano_cli._context import keyring_path

    return keyring_path(s).exists()


def _sync_many(
    s: Settings, section: str | None, base: Path, options: dict[str, Any], lock: list[str]
) -> list[_Outcome]:
    label = section or "environment"
    outcomes: list[_Outcome] = []
    try:
        credentials = load_credentials(s, section) if section is not None else load_credentials(s)
        with open_client(s, credentials) as client:
            studies = client.studies()
            if not studies and not s.quiet:
                s.err.print(f"{label}: these credentials can access no study", markup=False)
            taken: set[str] = set()
            for st in studies:
                out = base / folder_name(st, taken)
                outcome = _Outcome(f"{st.name}" if section is None else f"{section}/{st.name}", out)
                try:
                    outcome.summary = _sync_one(s, client, credentials, st, out, options, lock)
                except KeyboardInterrupt:
                    raise
                except Exception as exc:
                    failure = classify(exc)
                    outcome.exit_code, outcome.message = (
                        failure.exit_code,
                        f"{outcome.label}: {failure.message}",
                    )
                    s.err.print(f"mano: error: {outcome.message}", markup=False, highlight=False)
                outcomes.append(outcome)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        failure = classify(exc)
        outcome = _Outcome(
            label, base, exit_code=failure.exit_code, message=f"{label}: {failure.message}"
        )
        s.err.print(f"mano: error: {outcome.message}", markup=False, highlight=False)
        outcomes.append(outcome)
    return outcomes


# -- demo ----------------------------------------------------------------------------------


def tree_summary(folder: Path) -> dict[str, dict[str, tuple[int, int]]]:
    """``{participant: {stream: (files, bytes)}}`` of a study folder (hidden entries skipped)."""
    result: dict[str, dict[str, tuple[int, int]]] = {}
    for pdir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        streams: dict[str, tuple[int, int]] = {}
        for sdir in sorted(x for x in pdir.iterdir() if x.is_dir() and not x.name.startswith(".")):
            files = n = 0
            for root, dirs, names in os.walk(sdir):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in names:
                    if not name.startswith("."):
                        files += 1
                        n += os.path.getsize(os.path.join(root, name))
            streams[sdir.name] = (files, n)
        result[pdir.name] = streams
    return result


def demo(
    ctx: typer.Context,
    folder: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="Where to put the demo study (default: ./mano-demo)."),
    ] = Path("mano-demo"),
    participants: int = typer.Option(
        3, "--participants", min=1, max=50, help="Synthetic participants."
    ),
    days: int = typer.Option(3, "--days", min=1, max=60, help="Days of synthetic data."),
    seed: int = typer.Option(1, "--seed", help="Seed of the synthetic study."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Sync a synthetic study from the built-in Beiwe emulator into FOLDER (no credentials, no network)."""
    from mano_sync import MANIFEST_NAME, sync_study
    from mano_testing import Emulator

    s = settings(ctx)
    if folder.exists() and not folder.is_dir():
        raise UsageProblem(f"{folder} exists and is not a folder; choose another DIR")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MANIFEST_NAME).exists():
        raise UsageProblem(f"{folder} is not empty and is not a mano folder; choose another DIR")
    ensure_output_folder(folder)
    t0 = time.monotonic()
    if s.chatty:
        s.err.print("starting the built-in Beiwe emulator (127.0.0.1, synthetic data)…")
    with Emulator(participants=participants, days=days, seed=seed) as emu:
        with ProgressView(s) as view:
            summary = sync_study(
                emu.credentials,
                emu.study_id,
                folder,
                workers=s.threads if s.threads > 0 else None,
                progress=_progress_callback(view) if view.enabled else None,
            )
        study_name, study_id = emu.study_name, emu.study_id
    elapsed = time.monotonic() - t0
    tree = tree_summary(folder)
    total_files = sum(f for st in tree.values() for f, _ in st.values())
    total_bytes = sum(b for st in tree.values() for _, b in st.values())
    if json_output or s.json:
        write_text(
            dumps(
                {
                    "folder": str(folder.resolve()),
                    "study": {"id": study_id, "name": study_name},
                    "files": total_files,
                    "bytes": total_bytes,
                    "elapsed": round(elapsed, 2),
                    "summary": jsonable(summary),
                    "tree": {
                        p: {st: {"files": f, "bytes": b} for st, (f, b) in v.items()}
                        for p, v in tree.items()
                    },
                }
            ),
            None,
        )
    else:
        out = s.out
        out.print(
            f"Synced the synthetic study {study_name!r} ({study_id}) into {folder.resolve()}",
            markup=False,
            highlight=False,
        )
        out.print(
            f"{total_files} files, {human_bytes(total_bytes)}, {len(tree)} participants, "
            f"{elapsed:.1f} s",
            markup=False,
            highlight=False,
        )
        table(
            s,
            ["participant", "files", "size", "streams"],
            [
                (
                    p,
                    sum(f for f, _ in v.values()),
                    human_bytes(sum(b for _, b in v.values())),
                    len(v),
                )
                for p, v in tree.items()
            ],
        )
        out.print(
            "\nNext:\n"
            f"  mano verify {folder}    # check every file against its recorded SHA-1\n"
            f"  mano compress {folder}  # store the files as .zst\n"
            "Against a real server:\n"
            "  mano keyring add myserver --url https://studies.example.org  # asks for the keys\n"
            "  mano --keyring myserver studies\n"
            "  mano --keyring myserver sync 'My Study' -o ./my-study",
            markup=False,
            highlight=False,
        )
    if not summary.ok:
        raise PartialFailure(
            f"{len(summary.failed)} demo file(s) failed (first: {summary.failed[0]})"
        )
