"""Reading and validating a jobs file (TOML): many studies, servers and folders in one place.

The file::

    keyring_file = "~/.nrg-keyring.enc"   # optional; passphrase from NRG_KEYRING_PASS
    parallel = true                        # optional; jobs of different servers at once

    [[job]]
    name = "lab-main"                      # unique; names the job in every line about it
    keyring = "lab"                        # keyring section; omitted: BEIWE_* variables
    study = "My Study"                     # id, unique id prefix or exact name
    output = "/data/beiwe/my-study"        # the study folder (relative: to this file's folder);
                                           # omitted: <output_root>/<study id> (folder_name)
    streams = ["gps", "accelerometer"]     # optional; default every stream
    lock = ["audio_recordings"]            # optional; streams stored encrypted ("all": every one)
    compress = false                       # optional; keep the server's .zst files
    participants = ["abcd1234"]            # optional; default every participant
    ready = true                           # optional; false: only when named on the command line
    shard = "1/4"                          # optional; this node's slice of the participants

The whole file is checked before any job runs; every mistake is reported with its line.
Secrets never live in the file: keys come from the keyring or ``BEIWE_*`` variables, lock
passphrases from the keyring's ``SECRETS`` or ``MANO_LOCK_PASSPHRASE``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mano_sync._errors import ConfigError
from mano_sync._shard import Shard, parse_shard

__all__ = ["CONFIG_EXAMPLE", "Job", "JobsConfig", "load_config", "parse_config", "safe_folder"]

_TOP_KEYS = {
    "keyring_file": "a path (string)",
    "parallel": "true or false",
    "output_root": "a folder path (string)",
    "folder_name": '"id" or "name"',
    "job": "[[job]] tables",
}
_JOB_KEYS = {
    "name": "a string",
    "keyring": "a keyring section name (string)",
    "study": "a study id, id prefix or name (string)",
    "output": "a folder path (string)",
    "streams": "a list of stream names",
    "lock": 'a list of stream names (or "all")',
    "compress": "true or false",
    "participants": "a list of participant ids",
    "ready": "true or false",
    "shard": 'a string "K/N"',
}
_REQUIRED = ("name", "study")
_SECRET_WORDS = ("secret", "passphrase", "password", "access_key", "token")
_STUDY_ID = re.compile(r"^[A-Za-z0-9]{24}$")
_JOB_HEADER = re.compile(r"^\s*\[\[\s*job\s*\]\]")
_ANY_HEADER = re.compile(r"^\s*\[")
_LINE_IN_TOML_ERROR = re.compile(r"\(at line (\d+), column \d+\)")


@dataclass(frozen=True)
class Job:
    """One study to sync into one folder.

    Attributes:
        name: Unique name of the job (used in every message about it).
        study: Study id, unique id prefix or exact name.
        output: The study folder, or ``None``: ``output_root`` / the study's id (or name).
        keyring: Keyring section, or ``None`` for the ``BEIWE_*`` variables.
        streams: Streams to sync (``None``: all).
        lock: Streams to store encrypted.
        compress: Keep the server's ``.zst`` files.
        participants: Participants to sync (``None``: all).
        ready: ``False``: skipped unless asked for by name.
        shard: This run's slice of the participants, or ``None``.
        line: Line of the job's table in the config file (0 when not from a file).
        output_root: Parent of the study folder when ``output`` is ``None``.
        folder_name: ``"id"`` or ``"name"``: how a folder under ``output_root`` is named.
    """

    name: str
    study: str
    output: Path | None
    keyring: str | None = None
    streams: tuple[str, ...] | None = None
    lock: tuple[str, ...] = ()
    compress: bool = False
    participants: tuple[str, ...] | None = None
    ready: bool = True
    shard: Shard | None = None
    line: int = 0
    output_root: Path | None = None
    folder_name: str = "id"

    def folder(self, study_id: str, study_name: str) -> Path:
        """The study folder, once the study is known."""
        if self.output is not None:
            return self.output
        if self.output_root is None:
            raise ValueError(f"job {self.name!r} has neither output nor output_root")
        if self.folder_name == "id":
            return self.output_root / study_id
        return self.output_root / safe_folder(study_name, study_id)

    @property
    def known_folder(self) -> Path | None:
        """The study folder when it is known without asking the server."""
        if self.output is not None or self.output_root is None:
            return self.output
        if self.folder_name == "id" and _STUDY_ID.match(self.study):
            return self.output_root / self.study
        return None


@dataclass(frozen=True)
class JobsConfig:
    """A validated jobs file.

    Attributes:
        jobs: The jobs, in file order.
        keyring_file: The keyring file of the ``keyring`` sections (``None``: the default).
        parallel: Run jobs of different servers at the same time.
        path: The file read, if any.
    """

    jobs: tuple[Job, ...]
    keyring_file: Path | None = None
    parallel: bool = False
    path: Path | None = None

    def select(self, names: list[str] | None = None) -> list[Job]:
        """The jobs to run: ``names`` (even if not ready), else every ready job.

        Raises:
            ConfigError: A name is not a job of the file.
        """
        if not names:
            return [j for j in self.jobs if j.ready]
        by_name = {j.name: j for j in self.jobs}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ConfigError(
                f"no job named {', '.join(map(repr, unknown))}; jobs: "
                + ", ".join(j.name for j in self.jobs),
                path=self.path,
            )
        return [by_name[n] for n in dict.fromkeys(names)]


class _Lines:
    """Finds the line of a table or key in the TOML text (tomllib gives none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.jobs: list[int] = []  # 0-based index of each [[job]] header
        self.headers: list[int] = []
        for i, line in enumerate(self.lines):
            if _ANY_HEADER.match(line):
                self.headers.append(i)
                if _JOB_HEADER.match(line):
                    self.jobs.append(i)

    def _span(self, job: int | None) -> tuple[int, int]:
        if job is None:
            return 0, self.headers[0] if self.headers else len(self.lines)
        if job >= len(self.jobs):
            return 0, len(self.lines)
        begin = self.jobs[job]
        later = [h for h in self.headers if h > begin]
        return begin + 1, later[0] if later else len(self.lines)

    def table(self, job: int) -> int:
        return self.jobs[job] + 1 if job < len(self.jobs) else 1

    def key(self, key: str, job: int | None = None) -> int:
        """1-based line of ``key = …`` at top level or in the ``job``-th table."""
        begin, end = self._span(job)
        pattern = re.compile(
            rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*[=.]"""
        )
        for i in range(begin, end):
            if pattern.match(self.lines[i]):
                return i + 1
        if job is None:
            for i in self.headers:  # a [table] or [[array]] named like the key
                if re.match(rf"^\s*\[+\s*{re.escape(key)}\s*[\].]", self.lines[i]):
                    return i + 1
            return 1
        return self.table(job)


def load_config(path: str | os.PathLike[str]) -> JobsConfig:
    """Read and validate a jobs file.

    Raises:
        ConfigError: Unreadable file, bad TOML or any invalid entry (message names the line).
    """
    where = Path(path).expanduser()
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config file: {exc.strerror or exc}", path=where
        ) from exc
    except UnicodeDecodeError:
        raise ConfigError("the config file is not UTF-8 text", path=where) from None
    return parse_config(text, path=where)


def parse_config(text: str, *, path: str | os.PathLike[str] | None = None) -> JobsConfig:
    """Validate the TOML ``text`` of a jobs file (relative paths: to ``path``'s folder).

    Raises:
        ConfigError: The first mistake, with its line number.
    """
    where = Path(path) if path is not None else None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _LINE_IN_TOML_ERROR.search(message)
        line = int(found.group(1)) if found else None
        message = _LINE_IN_TOML_ERROR.sub("", message).strip()
        raise ConfigError(f"not valid TOML: {message}", path=where, line=line) from None
    lines = _Lines(text)
    base = where.parent.absolute() if where is not None else Path.cwd()

    def fail(message: str, key: str | None, job: int | None = None) -> ConfigError:
        line = lines.key(key, job) if key is not None else lines.table(job or 0)
        return ConfigError(message, path=where, line=line, key=key)

    for key in data:
        if key not in _TOP_KEYS:
            if key.lower() in {"jobs", "study", "studies"}:
                hint = "; write one [[job]] table per study"
            else:
                hint = f"; known: {', '.join(_TOP_KEYS)}"
            raise fail(f"unknown top-level key {key!r}{hint}", key)
    keyring_file = None
    if "keyring_file" in data:
        value = data["keyring_file"]
        if not isinstance(value, str) or not value:
            raise fail("keyring_file must be a path (string)", "keyring_file")
        keyring_file = _path(value, base)
    parallel = data.get("parallel", False)
    if not isinstance(parallel, bool):
        raise fail("parallel must be true or false", "parallel")
    output_root = None
    if "output_root" in data:
        value = data["output_root"]
        if not isinstance(value, str) or not value.strip():
            raise fail("output_root must be a folder path (string)", "output_root")
        output_root = _path(value.strip(), base)
    folder_name = data.get("folder_name", "id")
    if folder_name not in ("id", "name"):
        raise fail(f'folder_name must be "id" or "name", not {folder_name!r}', "folder_name")
    tables = data.get("job", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise fail("job must be written as [[job]] tables", "job")
    if not tables:
        raise ConfigError("no [[job]] table: nothing to run", path=where, line=1)
    jobs: list[Job] = []
    names: dict[str, int] = {}
    outputs: dict[Path, str] = {}
    for index, table in enumerate(tables):
        job = _job(table, index, base, fail, lines.table(index))
        if job.output is None:
            if output_root is None:
                raise fail(
                    f"job {job.name!r}: missing key 'output' (the study folder; or set "
                    "output_root at the top for <output_root>/<study id>)",
                    None,
                    index,
                )
            job = dataclasses.replace(job, output_root=output_root, folder_name=folder_name)
        if output_root is not None and job.output is not None and job.output == output_root:
            raise fail(
                f"job {job.name!r}: output is output_root itself; a study folder holds only "
                "participant folders",
                "output",
                index,
            )
        if job.name in names:
            raise fail(
                f"duplicate job name {job.name!r} (also the job at line {names[job.name]})",
                "name",
                index,
            )
        names[job.name] = job.line
        mine = job.known_folder
        for other_out, other in outputs.items():
            if mine is None:  # known once the server names the study (checked then)
                break
            if other_out == mine and _slices_of_one_study(job, jobs, other):
                continue
            if other_out == mine:
                raise fail(
                    f"job {job.name!r}: output {str(mine)!r} is also the output of job "
                    f"{other!r}; give each study its own folder",
                    "output",
                    index,
                )
            if other_out in mine.parents or mine in other_out.parents:
                raise fail(
                    f"job {job.name!r}: output {str(mine)!r} and the output of job "
                    f"{other!r} are inside each other; a study folder holds only participant "
                    "folders",
                    "output",
                    index,
                )
        if mine is not None:
            outputs[mine] = job.name
        jobs.append(job)
    return JobsConfig(tuple(jobs), keyring_file=keyring_file, parallel=parallel, path=where)


def _slices_of_one_study(job: Job, jobs: list[Job], other_name: str) -> bool:
    """Whether ``job`` and the job named ``other_name`` are different shards of one study."""
    other = next(j for j in jobs if j.name == other_name)
    return (
        job.shard is not None
        and other.shard is not None
        and job.shard.count == other.shard.count
        and job.shard.index != other.shard.index
        and (job.study, job.keyring) == (other.study, other.keyring)
    )


def safe_folder(name: str, fallback: str) -> str:
    """A study name as a folder name (path separators and control characters replaced)."""
    text = re.sub(r"[\\/:*?\"<>|\x00-\x1f]", "_", name).strip().strip(".")
    return text or fallback


def _path(value: str, base: Path) -> Path:
    p = Path(os.path.expandvars(value)).expanduser()
    return p if p.is_absolute() else base / p


def _job(table: dict[str, Any], index: int, base: Path, fail: Any, line: int) -> Job:
    label = f"job {table['name']!r}" if isinstance(table.get("name"), str) else f"job #{index + 1}"
    for key in table:
        if key not in _JOB_KEYS:
            if any(word in key.lower() for word in _SECRET_WORDS):
                raise fail(
                    f"{label}: {key!r} looks like a secret; secrets never go in the config file: "
                    "keep keys in the keyring (or BEIWE_* variables) and lock passphrases in the "
                    "keyring's SECRETS or MANO_LOCK_PASSPHRASE",
                    key,
                    index,
                )
            raise fail(f"{label}: unknown key {key!r}; known: {', '.join(_JOB_KEYS)}", key, index)
    for key in _REQUIRED:
        if key not in table:
            raise fail(f"{label}: missing key {key!r} ({_JOB_KEYS[key]})", None, index)
    values: dict[str, Any] = {}
    for key in ("name", "study", "output", "keyring", "shard"):
        if key in table:
            value = table[key]
            if not isinstance(value, str) or not value.strip():
                raise fail(
                    f"{label}: {key} must be {_JOB_KEYS[key]}, not {_shown(value)}", key, index
                )
            values[key] = value.strip()
    for key in ("compress", "ready"):
        if key in table and not isinstance(table[key], bool):
            raise fail(
                f"{label}: {key} must be {_JOB_KEYS[key]}, not {_shown(table[key])}", key, index
            )
    lists: dict[str, tuple[str, ...] | None] = {}
    for key in ("streams", "lock", "participants"):
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise fail(
                f"{label}: {key} must be {_JOB_KEYS[key]}, not {_shown(table[key])}", key, index
            )
        lists[key] = tuple(dict.fromkeys(v.strip() for v in value))
    from mano_files import STREAMS

    for key in ("streams", "lock"):
        for stream in lists.get(key) or ():
            if stream not in STREAMS and not (key == "lock" and stream == "all"):
                raise fail(
                    f"{label}: unknown stream {stream!r} in {key}; known: "
                    + ", ".join(sorted(STREAMS)),
                    key,
                    index,
                )
    lock = lists.get("lock") or ()
    if "all" in lock:
        lock = tuple(sorted(STREAMS))
    shard = None
    if "shard" in values:
        try:
            shard = parse_shard(values["shard"])
        except ValueError as exc:
            raise fail(f"{label}: {exc}", "shard", index) from None
    return Job(
        name=values["name"],
        study=values["study"],
        output=_path(values["output"], base) if "output" in values else None,
        keyring=values.get("keyring"),
        streams=lists.get("streams") or None,
        lock=lock,
        compress=bool(table.get("compress", False)),
        participants=lists.get("participants") or None,
        ready=bool(table.get("ready", True)),
        shard=shard,
        line=line,
    )


def _shown(value: Any) -> str:
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else "a table"
    )
    return f"{kind} ({value!r})" if not isinstance(value, dict) else kind


#: A commented example, printed by ``mano sync --config-example``.
CONFIG_EXAMPLE = """\
# mano sync --config FILE: every study, server and folder of the lab in one file.
# Run it nightly from cron:   mano -q --log-file ~/mano.jsonl sync --config ~/mano.toml
# Secrets never go here: keys live in the keyring (passphrase: $NRG_KEYRING_PASS) or in
# BEIWE_URL/BEIWE_ACCESS_KEY/BEIWE_SECRET_KEY; lock passphrases in the keyring's SECRETS
# (mano keyring secret SECTION STUDY) or $MANO_LOCK_PASSPHRASE.

keyring_file = "~/.nrg-keyring.enc"   # optional (default: ~/.nrg-keyring.enc)
parallel = true                        # optional: jobs on different servers run at once
output_root = "/data/beiwe"            # optional: jobs without output go to <output_root>/<study id>
folder_name = "id"                     # optional: "name" names those folders after the study

[[job]]
name = "depression-main"               # unique; names the job in every message
keyring = "lab"                        # keyring section (omit it to use BEIWE_* variables)
study = "Depression Study"             # study id, unique id prefix or exact name
output = "/data/beiwe/depression"      # the study folder (relative paths: to this file)
streams = ["gps", "accelerometer", "survey_answers"]   # optional; default: every stream
lock = ["audio_recordings"]            # optional; stored encrypted (.zst.lock); "all" = every stream
compress = false                       # optional; true keeps the server's .zst files

[[job]]
name = "pilot"
keyring = "other-server"
study = "5f8a1b2c3d4e5f6a7b8c9d0e"     # no output: /data/beiwe/5f8a1b2c3d4e5f6a7b8c9d0e
participants = ["abcd1234", "efgh5678"]  # optional; default: every participant
ready = false                          # skipped unless named: mano sync --config FILE --job pilot
"""
