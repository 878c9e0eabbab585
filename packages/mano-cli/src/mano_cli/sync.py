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
    EXIT_SERVER,
    CliError,
    CredentialsProblem,
    PartialFailure,
    UsageProblem,
)
from mano_cli._jobview import ProgressNote, log_result, show_jobs
from mano_cli._output import dumps, human_bytes, table, write_text
from mano_cli._progress import ProgressView

if TYPE_CHECKING:
    from mano_api import BeiweClient, Study
    from mano_auth import Credentials
    from mano_sync import Job, JobResult, Shard, SyncProgress, SyncSummary

__all__ = ["demo", "human_bytes", "lock_passphrase", "sync", "tree_summary"]

logger = logging.getLogger(__name__)

_ALL = "all"


def lock_passphrase(
    s: Settings, credentials: Credentials | None, study: Any, *, confirm_new: bool = True
) -> str:
    """A study's data passphrase, by the one documented precedence.

    1. the keyring section's ``SECRETS`` entry for the study; 2. ``MANO_LOCK_PASSPHRASE``;
    3. a prompt (only on a terminal). When 1 and 2 are both set and differ, 1 is used and a
    warning says so (same rule as :func:`mano_sync.lock_passphrase`, without importing the
    sync engine into the tree commands).
    """
    label = getattr(study, "name", None) or str(study)
    from_env = os.environ.get(LOCK_PASS_VAR) or None
    if credentials is not None and credentials.secrets:
        from mano_auth import StudyPassphraseNotFound

        try:
            from_ring = credentials.study_passphrase(study)
        except StudyPassphraseNotFound:
            logger.debug("no SECRETS entry for %s; trying %s", study, LOCK_PASS_VAR)
        else:
            if from_env is not None and from_env != from_ring:
                logger.warning(
                    "%s and the keyring's SECRETS entry for %s differ; using the keyring's "
                    "(unset %s, or fix the keyring with `mano keyring secret`)",
                    LOCK_PASS_VAR,
                    label,
                    LOCK_PASS_VAR,
                )
            return from_ring
    if from_env is not None:
        return from_env
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
    shard: str | None = None


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
    note = ProgressNote(s)
    with output_folder(out), ProgressView(s) as view:
        on_event: Any = None
        if view.enabled:
            on_event = _progress_callback(view)
        elif note.enabled:

            def on_event(ev: SyncProgress) -> None:
                note(study.name, ev)

        return sync_study(
            credentials,
            study.id,
            out,
            lock=lock,
            passphrase=passphrase,
            workers=s.threads if s.threads > 0 else None,
            progress=on_event,
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
    if outcome.shard is not None:
        data["shard"] = outcome.shard
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
    elif not s.quiet:  # -q: cron mails nothing when all is well
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


def _server_failed_all(summary: SyncSummary) -> bool:
    """Every request failed at the server (5xx, timeouts...) and nothing was saved."""
    return (
        summary.new + summary.updated == 0
        and bool(summary.failed)
        and all(f.name is None and f.reason.startswith("download failed") for f in summary.failed)
    )


def _finish(outcomes: list[_Outcome]) -> None:
    """Raise the error that gives the run's exit code (nothing when all went well)."""
    for o in outcomes:
        if o.summary is not None and not o.summary.ok:
            o.exit_code = EXIT_SERVER if _server_failed_all(o.summary) else EXIT_PARTIAL
            first = o.summary.failed[0]
            o.message = (
                f"{o.label}: {len(o.summary.failed)} file(s) failed (first: {first}); "
                "rerun to retry them, -v lists all"
            )
    failed = [o for o in outcomes if o.exit_code != EXIT_OK]
    if failed:  # one study; many studies are jobs (show_jobs)
        raise CliError(failed[0].message, exit_code=failed[0].exit_code)


def sync(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Study folder (with --all: the parent of one folder per study).",
        ),
    ] = None,
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
    force_lock: bool = typer.Option(
        False,
        "--force",
        help="With --lock: lock with this passphrase even if the folder was locked with another.",
    ),
    keep_compressed: bool = typer.Option(
        False, "--keep-compressed", help="Store .zst files as the server sends them."
    ),
    decompress: bool = typer.Option(False, "--decompress", help="Store plain files (the default)."),
    all_studies: bool = typer.Option(
        False,
        "--all",
        help="Every study of the keyring section, into DIR/<study id> (see --folder-name).",
    ),
    all_sections: bool = typer.Option(
        False,
        "--all-sections",
        help="Every study of every keyring section, into DIR/<section>/<study id>.",
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
    recheck: str | None = typer.Option(
        None,
        "--recheck",
        metavar="all|DAYS",
        help="'all': re-check the whole history of every stream with content hashes, still "
        "transferring only what changed (run it weekly beside the nightly sync); DAYS: as "
        "--recheck-days.",
    ),
    verify_files: bool = typer.Option(
        False,
        "--verify-files",
        help="Stat every recorded file, also in folders unchanged since the last run "
        "(finds files edited in place; `mano verify` compares content).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Run the jobs of a TOML file (studies, servers, folders; see --config-example).",
        ),
    ] = None,
    config_example: bool = typer.Option(
        False, "--config-example", help="Print a commented example of a --config file and exit."
    ),
    job: Annotated[
        list[str] | None,
        typer.Option(
            "--job",
            metavar="NAME",
            help="With --config: only these jobs, even those with ready = false (repeatable).",
        ),
    ] = None,
    folder_naming: Annotated[
        str | None,
        typer.Option(
            "--folder-name",
            metavar="id|name",
            help="Name the study folders of --all/--all-sections (and of --config jobs without "
            "an output) by study id (the default) or by study name.",
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="K/N",
            help="Sync only the K-th of N deterministic slices of the participants "
            "(one per node of a job array; shards may run at once on one folder).",
        ),
    ] = None,
) -> None:
    """Bring a local study folder up to date with the server (incremental, resumable, locked).

    Overlapping runs on the same folder exit with code 6. Use from cron with
    NRG_KEYRING_PASS (or BEIWE_* variables), -q and --log-file; many studies at once with
    --config FILE.
    """
    s = settings(ctx)
    if config_example:
        from mano_sync import CONFIG_EXAMPLE

        write_text(CONFIG_EXAMPLE, None)
        return
    if folder_naming not in (None, "id", "name"):
        raise UsageProblem(f"--folder-name must be id or name, not {folder_naming!r}")
    if config is not None:
        _check_config_args(study, output, participant, all_studies or all_sections, lock, stream)
        common = _sync_options(
            start, end, v1, v2, keep_compressed, decompress, recheck_days, verify_files, s
        )
        _run_config(s, config, job, json_output or s.json, common, _shard(shard), folder_naming)
        return
    if job:
        raise UsageProblem("--job needs --config FILE")
    if output is None:
        raise UsageProblem("missing -o/--output DIR (or --config FILE for a jobs file)")
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
    if recheck is not None:
        if recheck_days is not None:
            raise UsageProblem("give --recheck or --recheck-days, not both")
        options["recheck_days"] = _recheck_value(recheck)
    elif recheck_days is not None:
        options["recheck_days"] = recheck_days
    if force_lock:
        options["force_lock"] = True
    json_out = json_output or s.json
    check_output_folder(output)
    shard_spec = _shard(shard)
    if not many:
        assert study is not None
        credentials = load_credentials(s)
        with open_client(s, credentials) as client:
            found = client.resolve_study(study)
            _check_participants(client, found, options["participants"])
            if shard_spec is not None:
                options["shard"] = shard_spec
            summary = _sync_one(s, client, credentials, found, output, options, lock_streams)
        outcome = _Outcome(found.name, output, summary)
        outcome.shard = None if shard_spec is None else str(shard_spec)
        _report(s, [outcome], json_out, as_list=False)
        _finish([outcome])
        return
    from mano_sync import FolderLock, Job

    if shard_spec is not None:
        raise UsageProblem("--shard works with one STUDY (or inside --config jobs), not --all")
    sections: list[str | None]
    if all_sections:
        from mano_auth import read_keyring

        sections = list(read_keyring(s.keyring_file).names)
    else:
        sections = [s.keyring]
    ensure_output_folder(output)
    jobs: list[Job] = []
    early: list[JobResult] = []
    creds: dict[str | None, Credentials] = {}
    with FolderLock(output):
        for section in sections:
            base = output / section if all_sections and section else output
            label = section or "environment"
            try:
                creds[section] = (
                    load_credentials(s, section) if section is not None else load_credentials(s)
                )
                with open_client(s, creds[section]) as client:
                    studies = client.studies()
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                early.append(
                    JobResult(Job(label, "*", base, keyring=section), status="failed", error=exc)
                )
                continue
            if not studies and not s.quiet:
                s.err.print(f"{label}: these credentials can access no study", markup=False)
            taken: set[str] = set()
            for st in studies:
                folder = folder_name(st, taken) if folder_naming == "name" else st.id
                name = st.name if section is None or not all_sections else f"{section}/{st.name}"
                jobs.append(
                    Job(
                        name,
                        st.id,
                        base / folder,
                        keyring=section,
                        streams=tuple(streams) if streams else None,
                        lock=tuple(lock_streams),
                        compress=keep_compressed,
                    )
                )
        results = early + _run_jobs(
            s, jobs, lambda j: creds[j.keyring], parallel=False, options=options
        )
    code = show_jobs(s, results, json_output=json_out)
    if code != EXIT_OK:
        raise typer.Exit(code)


def _shard(value: str | None) -> Shard | None:
    if value is None:
        return None
    from mano_sync import parse_shard

    try:
        return parse_shard(value)
    except ValueError as exc:
        raise UsageProblem(f"--shard: {exc}") from None


def _check_config_args(
    study: str | None,
    output: Path | None,
    participant: list[str] | None,
    many: bool,
    lock: list[str] | None,
    stream: list[str] | None,
) -> None:
    """Refuse options a jobs file sets per job."""
    clashes = [
        name
        for name, given in (
            (f"STUDY ({study!r})", study is not None),
            ("-o/--output", output is not None),
            ("-p/--participant", bool(participant)),
            ("--all/--all-sections", many),
            ("--lock", bool(lock)),
            ("-s/--stream", bool(stream)),
        )
        if given
    ]
    if clashes:
        raise UsageProblem(
            f"--config sets studies, folders, participants, streams and locks per job; "
            f"drop {', '.join(clashes)} (or write them into the job)"
        )


def _sync_options(
    start: str | None,
    end: str | None,
    v1: bool,
    v2: bool,
    keep_compressed: bool,
    decompress: bool,
    recheck_days: float | None,
    verify_files: bool,
    s: Settings,
) -> dict[str, Any]:
    """Command-line options that apply to every job of a --config run."""
    if keep_compressed or decompress:
        raise UsageProblem(
            "--config sets --keep-compressed per job (compress = true); drop the option"
        )
    if v1 and v2:
        raise UsageProblem("--v1 and --v2 cannot be used together")
    start_at = parse_when(start, "--start")
    end_at = parse_when(end, "--end", end=True)
    check_window(start_at, end_at)
    options: dict[str, Any] = {
        "start": start_at,
        "end": end_at,
        "version": 1 if v1 else 2,
        "verify_files": verify_files,
    }
    if recheck_days is not None:
        options["recheck_days"] = recheck_days
    return options


def _run_config(
    s: Settings,
    path: Path,
    names: list[str] | None,
    json_out: bool,
    options: dict[str, Any],
    shard: Shard | None = None,
    folder_naming: str | None = None,
) -> None:
    """Validate a jobs file completely, then run its jobs; exit with the worst job's code."""
    from mano_sync import ConfigError, load_config

    try:
        config = load_config(path)
        jobs = config.select(split_values(names))
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    import dataclasses

    if shard is not None:  # this node's slice of every job (e.g. one task of a job array)
        jobs = [dataclasses.replace(j, shard=shard) for j in jobs]
    if folder_naming is not None:
        jobs = [dataclasses.replace(j, folder_name=folder_naming) for j in jobs]
    if not jobs:
        if not s.quiet:
            s.err.print(
                f"{path}: no job is ready (ready = false); name one with --job", markup=False
            )
        return
    keyring_file = s.keyring_file or config.keyring_file
    ring: Any = None
    if any(j.keyring is not None for j in jobs):
        # One keyring problem is one line (and exit 3) before any job, not one per job.
        from mano_auth import read_keyring

        ring = read_keyring(keyring_file)
        for j in jobs:
            if j.keyring is not None and j.keyring not in ring:
                where = f"{path}, line {j.line}: " if j.line else ""
                raise UsageProblem(
                    f"{where}job {j.name!r}: no keyring section {j.keyring!r} in {ring.path}; "
                    f"sections: {', '.join(ring.names) or 'none'}"
                )

    def credentials(j: Job) -> Credentials:
        if j.keyring is None:
            return _env_credentials()
        found: Credentials = ring[j.keyring]
        return found

    results = _run_jobs(s, jobs, credentials, parallel=config.parallel, options=options)
    code = show_jobs(s, results, json_output=json_out)
    if code != EXIT_OK:
        raise typer.Exit(code)


def _env_credentials() -> Credentials:
    from mano_auth import load_keyring

    return load_keyring(None)


def _run_jobs(
    s: Settings,
    jobs: list[Job],
    credentials: Any,
    *,
    parallel: bool,
    options: dict[str, Any],
) -> list[JobResult]:
    from mano_api import BeiweClient
    from mano_sync import run_jobs

    sync_options = {
        k: v
        for k, v in options.items()
        if k not in ("participants", "data_streams", "keep_compressed")
    }
    sync_options["workers"] = s.threads if s.threads > 0 else None
    client_options: dict[str, Any] = {"retries": s.retries}
    if s.timeout is not None:
        client_options["timeout"] = (min(10.0, s.timeout), s.timeout)
    note = ProgressNote(s)

    def client(creds: Credentials) -> BeiweClient:
        return BeiweClient(creds, **client_options)

    def passphrase(j: Job, creds: Credentials, study: Study) -> str:
        return lock_passphrase(s, creds, study)

    def started(result: JobResult) -> None:
        log_result(result)

    if s.chatty:
        s.err.print(f"running {len(jobs)} job(s)", markup=False, highlight=False)
    return run_jobs(
        jobs,
        parallel=parallel,
        credentials=credentials,
        client=client,
        passphrase=passphrase,
        progress=note.for_job if note.enabled else None,
        on_result=started,
        sync_options=sync_options,
    )


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


def _recheck_value(text: str) -> str | float:
    """``--recheck all`` or a number of days."""
    if text.strip().lower() == "all":
        return "all"
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not 0 <= days < 1e6:
        raise UsageProblem(f"--recheck takes 'all' or a number of days, not {text!r}")
    return days


def _keyring_exists(s: Settings) -> bool:
    from mano_cli._context import keyring_path

    return keyring_path(s).exists()


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
        3, "--participants", min=1, max=50, metavar="N", help="Synthetic participants."
    ),
    days: int = typer.Option(
        3, "--days", min=1, max=60, metavar="N", help="Days of synthetic data."
    ),
    seed: int = typer.Option(1, "--seed", metavar="N", help="Seed of the synthetic study."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Sync a synthetic study from the built-in Beiwe emulator into FOLDER (no credentials, no network)."""
    from mano_sync import MANIFEST_NAME, sync_study

    try:
        from mano_testing import Emulator
    except ImportError:  # the emulator is the optional `demo` extra of mano-cli
        raise UsageProblem(
            "mano demo needs the built-in Beiwe emulator, which is not installed: "
            "pip install 'mano-cli[demo]' (from a clone: pip install ./packages/mano-testing)"
        ) from None

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
