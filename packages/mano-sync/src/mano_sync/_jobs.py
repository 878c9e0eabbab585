"""Running jobs: many studies, on one or more servers, each into its own folder.

``run_jobs`` is what ``mano sync --config FILE`` (and ``--all``) runs; a lab tool gets the same
behaviour from Python::

    from mano_sync import load_config, run_jobs

    config = load_config("mano.toml")
    for result in run_jobs(config.select(), keyring_file=config.keyring_file,
                           parallel=config.parallel):
        print(result.job.name, result.status, result.message)

One job failing never stops the others: its exception is kept in its :class:`JobResult`.
Jobs of one server run one after another; with ``parallel=True`` different servers run at the
same time (one thread per server). Each job takes its study folder's own lock (a second run on
the same folder fails that job with :class:`SyncLocked`, nothing else). After each job that
reached the server, a hidden ``.mano-study.json`` in the study folder records which study it
holds (id, name, server, time of the last sync).
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mano_sync._config import Job
from mano_sync._errors import ConfigError, PassphraseRequired
from mano_sync._types import SyncProgress, SyncSummary

if TYPE_CHECKING:
    from mano_api import BeiweClient, Study
    from mano_auth import Credentials

__all__ = [
    "LOCK_PASSPHRASE_VAR",
    "STUDY_FILE_NAME",
    "JobResult",
    "lock_passphrase",
    "run_jobs",
    "write_study_file",
]

logger = logging.getLogger(__name__)

STUDY_FILE_NAME = ".mano-study.json"
LOCK_PASSPHRASE_VAR = "MANO_LOCK_PASSPHRASE"

Status = Literal["ok", "partial", "failed"]


@dataclass
class JobResult:
    """What one job did.

    Attributes:
        job: The job.
        status: ``"ok"``, ``"partial"`` (some files failed; the rest is saved) or ``"failed"``.
        summary: The sync's summary (``None`` when the job failed before syncing).
        error: The exception that stopped the job, if any.
        study_id: The resolved study id (``None`` before the study was found).
        study_name: The study's name.
        server: The server URL (no credentials).
        folder: The study folder (``None`` when the job stopped before it was known).
        started: When the job started (UTC).
        elapsed: Seconds the job took.
    """

    job: Job
    status: Status = "ok"
    summary: SyncSummary | None = None
    error: BaseException | None = None
    study_id: str | None = None
    study_name: str | None = None
    server: str | None = None
    folder: Path | None = None
    started: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.UTC))
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the job did everything it had to."""
        return self.status == "ok"

    @property
    def message(self) -> str:
        """One line about the outcome (the error's message, or the counts)."""
        if self.error is not None:
            return " ".join(str(self.error).split()) or type(self.error).__name__
        s = self.summary
        if s is None:
            return "nothing done"
        text = f"{s.new} new, {s.updated} updated, {s.unchanged} unchanged, {len(s.failed)} failed"
        if s.failed:
            text += f" (first: {s.failed[0]})"
        return text


CredentialsFor = Callable[[Job], "Credentials"]
ClientFor = Callable[["Credentials"], "BeiweClient"]
PassphraseFor = Callable[[Job, "Credentials", "Study"], "str | None"]
ProgressFor = Callable[[Job, SyncProgress], None]


def lock_passphrase(
    credentials: Credentials | None,
    study: Study | str,
    *,
    environ: Mapping[str, str] | None = None,
) -> tuple[str | None, str]:
    """A study's lock passphrase and where it came from, by the one documented precedence.

    1. the keyring section's ``SECRETS`` entry for the study (by name or id);
    2. ``MANO_LOCK_PASSPHRASE``.

    When both are set and differ, the keyring's wins and a warning (naming both sources, never
    the values) is logged: data locked with one cannot be opened with the other.

    Returns:
        ``(passphrase, source)``; ``(None, "")`` when neither has one.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(LOCK_PASSPHRASE_VAR) or None
    from_ring = None
    if credentials is not None and credentials.secrets:
        from mano_auth import StudyPassphraseNotFound

        try:
            from_ring = credentials.study_passphrase(study)
        except StudyPassphraseNotFound:
            from_ring = None
    label = getattr(study, "name", None) or str(study)
    if from_ring is not None:
        if from_env is not None and from_env != from_ring:
            logger.warning(
                "%s and the keyring's SECRETS entry for %s differ; using the keyring's "
                "(unset %s, or fix the keyring with `mano keyring secret`)",
                LOCK_PASSPHRASE_VAR,
                label,
                LOCK_PASSPHRASE_VAR,
            )
        return from_ring, "keyring SECRETS"
    if from_env is not None:
        return from_env, LOCK_PASSPHRASE_VAR
    return None, ""


def write_study_file(
    folder: str | os.PathLike[str],
    *,
    study_id: str,
    study_name: str,
    server: str,
    job: str | None = None,
) -> Path:
    """Write ``<folder>/.mano-study.json`` (which study the folder holds, last sync time).

    Written atomically (temp file, then rename) with the umask's permissions: it holds no
    secret (the server URL only).
    """
    target = Path(folder) / STUDY_FILE_NAME
    record: dict[str, Any] = {
        "id": study_id,
        "name": study_name,
        "server": server,
        "last_sync": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
    }
    if job is not None:
        record["job"] = job
    data = (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    tmp = target.with_name(f".{STUDY_FILE_NAME}.{os.getpid()}.{threading.get_ident()}.mano-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def run_jobs(
    jobs: Iterable[Job],
    *,
    keyring_file: str | os.PathLike[str] | None = None,
    parallel: bool = False,
    credentials: CredentialsFor | None = None,
    client: ClientFor | None = None,
    passphrase: PassphraseFor | None = None,
    progress: ProgressFor | None = None,
    on_result: Callable[[JobResult], None] | None = None,
    sync_options: Mapping[str, Any] | None = None,
) -> list[JobResult]:
    """Run ``jobs``; returns one :class:`JobResult` per job, in the jobs' order.

    Args:
        jobs: What to run (e.g. ``load_config(path).select()``).
        keyring_file: The keyring file of the jobs' ``keyring`` sections (default: the
            library's; passphrase from ``NRG_KEYRING_PASS``). Read once for all jobs.
        parallel: Run jobs of different servers at the same time (jobs of one server always
            run one after another).
        credentials: ``job -> Credentials`` (default: the job's keyring section, or the
            ``BEIWE_*`` variables when it has none).
        client: ``credentials -> BeiweClient`` (default: a client with the library's
            timeouts and retries); the jobs close it.
        passphrase: ``(job, credentials, study) -> passphrase`` for jobs that lock streams
            (default: :func:`lock_passphrase`).
        progress: Receives ``(job, event)`` for every sync progress event (from worker
            threads).
        on_result: Called with each result as soon as its job ends (from the job's thread).
        sync_options: Extra keywords for :func:`mano_sync.sync_study` (``workers``,
            ``recheck_days``, ``start``, ``end``, ``verify_files``, ``version``...).

    Returns:
        One result per job. Errors of single jobs never raise; ``KeyboardInterrupt`` does.
    """
    todo = list(jobs)
    folders = _Folders()
    find_credentials = credentials or _KeyringCache(keyring_file).credentials
    options = dict(sync_options or {})
    results: dict[int, JobResult] = {}
    groups: dict[str, list[tuple[int, Job, Any]]] = {}
    for index, job in enumerate(todo):
        try:
            creds = find_credentials(job)
        except Exception as exc:
            result = JobResult(job, status="failed", error=exc)
            logger.debug("job %s: no credentials: %s", job.name, exc)
            results[index] = result
            if on_result is not None:
                on_result(result)
            continue
        groups.setdefault(creds.base_url, []).append((index, job, creds))

    def run_group(items: list[tuple[int, Job, Any]]) -> None:
        for index, job, creds in items:
            result = _run_one(job, creds, client, passphrase, progress, options, folders)
            results[index] = result
            if on_result is not None:
                on_result(result)

    if parallel and len(groups) > 1:
        with cf.ThreadPoolExecutor(len(groups), thread_name_prefix="mano-job") as pool:
            futures = [pool.submit(run_group, items) for items in groups.values()]
            for future in futures:
                future.result()
    else:
        for items in groups.values():
            run_group(items)
    return [results[i] for i in range(len(todo))]


class _Folders:
    """Study folders claimed by this run's jobs (a folder named after a study is only known
    once the server has named the study)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken: dict[Path, Job] = {}

    def claim(self, job: Job, folder: Path) -> None:
        with self._lock:
            other = self._taken.get(folder)
            if other is not None and other is not job and not _shards_of_one(job, other):
                raise ConfigError(
                    f"its study folder {folder} is also the folder of job "
                    f"{other.name} (the same study twice?); give one of them an output",
                    key="output",
                )
            self._taken[folder] = job


def _shards_of_one(a: Job, b: Job) -> bool:
    return (
        a.shard is not None
        and b.shard is not None
        and a.shard.count == b.shard.count
        and a.shard.index != b.shard.index
    )


class _KeyringCache:
    """Decrypts the keyring file once, on the first job that names a section."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ring: Any = None
        self._error: Exception | None = None

    def credentials(self, job: Job) -> Credentials:
        from mano_auth import load_keyring, read_keyring

        if job.keyring is None:
            return load_keyring(None)
        with self._lock:
            if self._ring is None and self._error is None:
                try:
                    self._ring = read_keyring(self.path)
                except Exception as exc:
                    self._error = exc
            if self._error is not None:
                raise self._error
        creds: Credentials = self._ring[job.keyring]
        return creds


def _run_one(
    job: Job,
    creds: Credentials,
    client_for: ClientFor | None,
    passphrase_for: PassphraseFor | None,
    progress: ProgressFor | None,
    options: dict[str, Any],
    folders: _Folders,
) -> JobResult:
    from mano_api import BeiweClient
    from mano_sync._sync import sync_study

    result = JobResult(job, server=creds.base_url)
    t0 = time.monotonic()
    try:
        with client_for(creds) if client_for is not None else BeiweClient(creds) as c:
            study = c.resolve_study(job.study)
            result.study_id, result.study_name = study.id, study.name
            folder = job.folder(study.id, study.name)
            folders.claim(job, folder)
            result.folder = folder
            participants: list[str] | None = list(job.participants) if job.participants else None
            if participants is not None:
                known = set(c.participant_ids(study))
                unknown = [p for p in participants if p not in known]
                if unknown:
                    from mano_api import ParticipantNotFound

                    raise ParticipantNotFound(
                        f"job {job.name}: study {study.name} has no participant "
                        f"{', '.join(unknown)}; fix the job's participants",
                        status=None,
                        participant_ids=unknown,
                    )
            secret = None
            if job.lock:
                find = passphrase_for or (lambda _j, cr, st: lock_passphrase(cr, st)[0])
                secret = find(job, creds, study)
                if not secret:
                    raise PassphraseRequired(
                        f"job {job.name} locks {', '.join(job.lock)} but no passphrase is set "
                        f"for {study.name}: add it to the keyring (mano keyring secret) or set "
                        f"{LOCK_PASSPHRASE_VAR}"
                    )
            on_event = None
            if progress is not None:

                def on_event(event: SyncProgress, _job: Job = job) -> None:
                    progress(_job, event)

            kwargs = dict(options)
            if job.shard is not None:
                kwargs["shard"] = job.shard
            result.summary = sync_study(
                creds,
                study.id,
                folder,
                participants=participants,
                data_streams=list(job.streams) if job.streams else None,
                lock=list(job.lock),
                passphrase=secret,
                keep_compressed=job.compress,
                progress=on_event,
                client=c,
                **kwargs,
            )
            result.status = "ok" if result.summary.ok else "partial"
            write_study_file(
                folder,
                study_id=study.id,
                study_name=study.name,
                server=creds.base_url,
                job=job.name,
            )
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        result.status = "failed"
        result.error = exc
        logger.debug("job %s failed", job.name, exc_info=True)
    result.elapsed = time.monotonic() - t0
    return result
