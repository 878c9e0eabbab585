"""A table of bad invocations: each gives its documented exit code and ONE line on stderr.

Every case runs in-process with stdin not a TTY; a sample also runs as a real subprocess.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mano_cli._errors import EXIT_CODES
from tests.cli.conftest import Run, env_for


@dataclass
class World:
    """Everything a case may refer to."""

    emu: Any
    tmp: Path
    synced: Path
    keyring: Path
    corrupt: Path


@dataclass(frozen=True)
class Case:
    """One bad invocation."""

    id: str
    code: int
    needle: str
    build: Callable[[World], tuple[list[str], dict[str, str]]]
    setup: Callable[[World], Any] | None = None
    subprocess: bool = False
    tags: tuple[str, ...] = field(default=())


def _env(w: World) -> dict[str, str]:
    return env_for(w.emu)


def _sid(w: World) -> str:
    return str(w.emu.study_id)


def _kr(w: World, *args: str) -> list[str]:
    return ["--keyring-file", str(w.keyring), *args]


def _out(w: World, name: str = "out") -> str:
    return str(w.tmp / name)


def _copy(w: World, name: str) -> Path:
    target = w.tmp / name
    if not target.exists():
        shutil.copytree(w.synced, target)
    return target


def _hold_lock(path: Path) -> Any:
    from mano_sync import FolderLock

    path.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(path)
    lock.acquire()
    return lock


def _conflicting(w: World) -> Path:
    """A study copy where one file is stored twice with different content."""
    import zstandard

    folder = _copy(w, "conflicting")
    victim = sorted(folder.glob("*/gps/*.csv"))[0]
    edited = victim.read_bytes() + b"\n1,2,3"
    Path(str(victim) + ".zst").write_bytes(zstandard.ZstdCompressor().compress(edited))
    return folder


def _tamper(w: World) -> Path:
    folder = _copy(w, "tampered")
    victim = sorted(folder.glob("*/gps/*.csv"))[0]
    victim.write_bytes(victim.read_bytes() + b"\n1,2,3")
    return folder


KEY = {"NRG_KEYRING_PASS": "right passphrase"}
LOCK = {"MANO_LOCK_PASSPHRASE": "data passphrase"}

CASES: list[Case] = [
    # ---- 2: usage -------------------------------------------------------------------------
    Case(
        "unknown-study-name",
        2,
        "no accessible study matches",
        lambda w: (["participants", "No Such Study"], _env(w)),
        subprocess=True,
    ),
    Case(
        "unknown-study-prefix",
        2,
        "no accessible study matches",
        lambda w: (["sync", "zzzz", "-o", _out(w)], _env(w)),
    ),
    Case(
        "bad-start-date",
        2,
        "--start '2024-13-01' is not a date",
        lambda w: (["sync", _sid(w), "-o", _out(w), "--start", "2024-13-01"], _env(w)),
        subprocess=True,
    ),
    Case(
        "bad-end-word",
        2,
        "--end 'yesterday' is not a date",
        lambda w: (["download", _sid(w), "-o", _out(w), "--end", "yesterday"], _env(w)),
    ),
    Case(
        "start-after-end",
        2,
        "is after --end",
        lambda w: (
            ["sync", _sid(w), "-o", _out(w), "--start", "2024-02-01", "--end", "2024-01-01"],
            _env(w),
        ),
    ),
    Case(
        "unknown-stream",
        2,
        "unknown data stream 'gpss'",
        lambda w: (["sync", _sid(w), "-o", _out(w), "-s", "gpss"], _env(w)),
        subprocess=True,
    ),
    Case(
        "unknown-stream-in-list",
        2,
        "unknown data stream 'wifii'",
        lambda w: (["download", _sid(w), "-o", _out(w), "-s", "gps,wifii"], _env(w)),
    ),
    Case(
        "unknown-lock-stream",
        2,
        "unknown data stream 'gpz'",
        lambda w: (["sync", _sid(w), "-o", _out(w), "--lock", "gpz"], {**_env(w), **LOCK}),
    ),
    Case(
        "keep-compressed-and-decompress",
        2,
        "cannot be used together",
        lambda w: (["sync", _sid(w), "-o", _out(w), "--keep-compressed", "--decompress"], _env(w)),
    ),
    Case(
        "v1-and-v2",
        2,
        "--v1 and --v2 cannot be used together",
        lambda w: (["download", _sid(w), "-o", _out(w), "--v1", "--v2"], _env(w)),
    ),
    Case(
        "study-and-all",
        2,
        "not both",
        lambda w: (["sync", _sid(w), "--all", "-o", _out(w)], _env(w)),
    ),
    Case(
        "participant-with-all",
        2,
        "cannot be used with --all",
        lambda w: (["sync", "--all", "-p", "abcdefgh", "-o", _out(w)], _env(w)),
    ),
    Case("sync-without-study", 2, "missing STUDY", lambda w: (["sync", "-o", _out(w)], _env(w))),
    Case(
        "sync-without-output",
        2,
        "missing -o/--output DIR",
        lambda w: (["sync", _sid(w)], _env(w)),
        subprocess=True,
    ),
    Case(
        "download-dir-and-zip",
        2,
        "exactly one of -o DIR",
        lambda w: (["download", _sid(w), "-o", _out(w), "--zip", _out(w, "x.zip")], _env(w)),
    ),
    Case(
        "download-keep-compressed-v1",
        2,
        "--keep-compressed needs get-data v2",
        lambda w: (["download", _sid(w), "-o", _out(w), "--v1", "--keep-compressed"], _env(w)),
    ),
    Case(
        "unknown-participant",
        2,
        "zzzzzzzz",
        lambda w: (["download", _sid(w), "-o", _out(w), "-p", "zzzzzzzz", "-s", "gps"], _env(w)),
    ),
    Case(
        "sync-unknown-participant",
        2,
        "unknown participant(s) zzzzzzzz",
        lambda w: (["sync", _sid(w), "-o", _out(w), "-p", "zzzzzzzz"], _env(w)),
    ),
    Case(
        "level-twice",
        2,
        "compression level once",
        lambda w: (["compress", str(w.synced), "-3", "--level", "5"], {}),
    ),
    Case(
        "level-out-of-range",
        2,
        "--level",
        lambda w: (["compress", str(w.synced), "--level", "23"], {}),
    ),
    Case("negative-threads", 2, "--mt", lambda w: (["--mt", "-1", "verify", str(w.synced)], {})),
    Case("unknown-command", 2, "No such command 'snyc'", lambda w: (["snyc"], {}), subprocess=True),
    Case(
        "unknown-option",
        2,
        "No such option: --frobnicate",
        lambda w: (["studies", "--frobnicate"], _env(w)),
    ),
    Case(
        "delete-original-without-yes",
        2,
        "pass -y to confirm",
        lambda w: (["compress", str(_copy(w, "c1")), "--delete-original"], {}),
        subprocess=True,
    ),
    Case(
        "overwrite-without-yes",
        2,
        "pass -y to confirm",
        lambda w: (["decompress", str(_copy(w, "c2")), "--overwrite"], {}),
    ),
    Case(
        "delete-zst-without-yes",
        2,
        "pass -y to confirm",
        lambda w: (["decompress", str(_copy(w, "c3")), "--delete-zst"], {}),
    ),
    Case(
        "keyring-remove-without-yes",
        2,
        "pass -y to confirm",
        lambda w: (_kr(w, "keyring", "remove", "lab"), KEY),
    ),
    Case(
        "keyring-init-exists",
        2,
        "a keyring already exists",
        lambda w: (_kr(w, "keyring", "init"), KEY),
    ),
    Case(
        "summary-bad-date",
        2,
        "--start '01/02/2024' is not a date",
        lambda w: (["info", "summary-statistics", _sid(w), "--start", "01/02/2024"], _env(w)),
    ),
    Case(
        "participant-table-bad-format",
        2,
        "'xml' is not one of",
        lambda w: (["info", "participant-table", _sid(w), "-f", "xml"], _env(w)),
    ),
    Case(
        "lock-without-stream",
        2,
        "Missing option '--stream'",
        lambda w: (["lock", str(w.synced)], LOCK),
    ),
    Case(
        "demo-into-foreign-folder",
        2,
        "is not a mano folder",
        lambda w: (["demo", str(w.corrupt.parent)], {}),
    ),
    # ---- 3: credentials and passphrases ----------------------------------------------------
    Case(
        "no-credentials",
        3,
        "no credentials: pass --keyring NAME",
        lambda w: (["studies"], {}),
        subprocess=True,
    ),
    Case(
        "missing-keyring-file",
        3,
        "keyring",
        lambda w: (["--keyring", "lab", "--keyring-file", str(w.tmp / "nope.enc"), "studies"], KEY),
    ),
    Case(
        "wrong-keyring-passphrase",
        3,
        "wrong passphrase",
        lambda w: (_kr(w, "--keyring", "lab", "studies"), {"NRG_KEYRING_PASS": "wrong"}),
        subprocess=True,
    ),
    Case(
        "keyring-passphrase-not-set",
        3,
        "NRG_KEYRING_PASS",
        lambda w: (_kr(w, "--keyring", "lab", "studies"), {}),
    ),
    Case(
        "unknown-keyring-section",
        3,
        "nosuch",
        lambda w: (_kr(w, "--keyring", "nosuch", "studies"), KEY),
    ),
    Case(
        "wrong-secret-key",
        3,
        "",
        lambda w: (
            ["--retries", "0", "studies"],
            {**_env(w), "BEIWE_SECRET_KEY": "wrongwrongwrong"},
        ),
    ),
    Case(
        "disabled-key", 3, "", lambda w: (["--retries", "0", "studies"], env_for(w.emu, "disabled"))
    ),
    Case(
        "insecure-url",
        3,
        "use https://",
        lambda w: (["studies"], {**_env(w), "BEIWE_URL": "http://studies.example.org"}),
    ),
    Case(
        "bad-key-characters",
        3,
        "ACCESS_KEY",
        lambda w: (["studies"], {**_env(w), "BEIWE_ACCESS_KEY": "abc-def_="}),
    ),
    Case(
        "wrong-lock-passphrase",
        3,
        "wrong passphrase",
        lambda w: (["unlock", str(_locked(w))], {"MANO_LOCK_PASSPHRASE": "not it"}),
        subprocess=True,
    ),
    Case(
        "lock-passphrase-not-set",
        3,
        "MANO_LOCK_PASSPHRASE",
        lambda w: (["lock", str(_copy(w, "c4")), "-s", "gps"], {}),
    ),
    Case(
        "sync-lock-passphrase-not-set",
        3,
        "MANO_LOCK_PASSPHRASE",
        lambda w: (["sync", _sid(w), "-o", _out(w, "lk"), "--lock", "gps"], _env(w)),
    ),
    Case(
        "keyring-init-no-passphrase",
        3,
        "NRG_KEYRING_PASS",
        lambda w: (["--keyring-file", str(w.tmp / "new.enc"), "keyring", "init"], {}),
    ),
    Case(
        "passwd-new-not-set",
        3,
        "MANO_NEW_KEYRING_PASS",
        lambda w: (_kr(w, "keyring", "passwd"), KEY),
    ),
    # ---- 4: server ------------------------------------------------------------------------
    Case(
        "server-down",
        4,
        "connection refused by 127.0.0.1:9: the server is down",
        lambda w: (["--retries", "0", "studies"], {**_env(w), "BEIWE_URL": "http://127.0.0.1:9"}),
        subprocess=True,
    ),
    Case(
        "server-maintenance",
        4,
        "maintenance",
        lambda w: (["--retries", "0", "studies"], _env(w)),
        setup=lambda w: w.emu.set_faults("get-studies:downtime=1"),
    ),
    Case(
        "server-500",
        4,
        "",
        lambda w: (["--retries", "0", "participants", _sid(w)], _env(w)),
        setup=lambda w: w.emu.set_faults("get-participant-ids:5xx=1"),
    ),
    Case(
        "file-hashes-broken",
        4,
        "known server bug",
        lambda w: (["info", "file-hashes", w.emu.files()[0].participant], _env(w)),
    ),
    # ---- 5: local I/O -------------------------------------------------------------------
    Case(
        "output-is-a-file",
        5,
        "is not a folder",
        lambda w: (["sync", _sid(w), "-o", str(w.keyring)], _env(w)),
    ),
    Case(
        "output-under-a-file",
        5,
        "cannot create output folder",
        lambda w: (["sync", _sid(w), "-o", str(w.keyring / "sub")], _env(w)),
        subprocess=True,
    ),
    Case(
        "unwritable-output",
        5,
        "cannot create output folder",
        lambda w: (["download", _sid(w), "-o", "/proc/mano-cannot-write-here"], _env(w)),
    ),
    Case("folder-missing", 5, "does not exist", lambda w: (["verify", str(w.tmp / "missing")], {})),
    Case(
        "forms-of-a-file-differ",
        7,
        "forms differ",
        lambda w: (["-y", "compress", str(w.tmp / "conflicting"), "--delete-original"], {}),
        setup=lambda w: _conflicting(w),
        subprocess=True,
    ),
    Case(
        "log-file-unwritable",
        5,
        "cannot open log file",
        lambda w: (["--log-file", str(w.keyring / "x.log"), "verify", str(w.synced)], {}),
    ),
    Case(
        "info-output-folder-missing",
        5,
        "does not exist",
        lambda w: (["info", "quantities", _sid(w), "-o", str(w.tmp / "no" / "q.json")], _env(w)),
    ),
    # ---- 1: partial failure -------------------------------------------------------------
    Case(
        "corrupt-zst",
        1,
        "1 file(s) failed",
        lambda w: (["decompress", str(w.corrupt)], {}),
        subprocess=True,
    ),
    Case(
        "verify-tampered", 1, "verify found 1 problem", lambda w: (["verify", str(_tamper(w))], {})
    ),
    # ---- 6: locked ----------------------------------------------------------------------
    Case(
        "sync-locked-folder",
        6,
        "another mano sync is running",
        lambda w: (["sync", _sid(w), "-o", _out(w, "busy")], _env(w)),
        setup=lambda w: _hold_lock(w.tmp / "busy"),
        subprocess=True,
    ),
    Case(
        "compress-locked-folder",
        6,
        "another mano sync is running",
        lambda w: (["compress", str(_copy(w, "busy2"))], {}),
        setup=lambda w: _hold_lock(_copy(w, "busy2")),
    ),
    Case(
        "sync-all-locked-parent",
        6,
        "another mano sync is running",
        lambda w: (["sync", "--all", "-o", _out(w, "busy3")], _env(w)),
        setup=lambda w: _hold_lock(w.tmp / "busy3"),
    ),
]


def _locked(w: World) -> Path:
    target = w.tmp / "locked-tree"
    if not target.exists():
        from mano_files import lock_tree

        shutil.copytree(w.synced, target)
        summary = lock_tree(target, "data passphrase", streams=["gps"])
        assert summary.done > 0 and summary.ok
    return target


@pytest.fixture(scope="module")
def world(emu: Any, synced: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    from mano_auth import write_keyring

    tmp = tmp_path_factory.mktemp("bad")
    keyring = tmp / "keyring.enc"
    write_keyring({"lab": emu.credentials}, keyring, password="right passphrase")
    corrupt = tmp / "foreign" / "corrupt"
    gps = corrupt / "abcdefgh" / "gps"
    gps.mkdir(parents=True)
    (gps / "2024-01-01 00_00_00+00_00.csv.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"garbage" * 20)
    return World(emu, tmp, synced, keyring, corrupt)


@pytest.fixture
def fresh(world: World) -> Iterator[World]:
    world.emu.set_faults(None)
    yield world
    world.emu.set_faults(None)


def test_table_is_big_and_covers_every_code() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    codes = {c.code for c in CASES}
    # 8 (disk full) needs a small mount: tests/cli/test_disk_full.py checks its one line
    assert codes == {code for code in EXIT_CODES if code not in (0, 8, 70, 130)}


def _check(case: Case, result: Run, w: World) -> None:
    assert result.exit_code == case.code, (case.id, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, (case.id, result.stderr)
    line = lines[0]
    assert line.startswith("mano"), line
    assert "error:" in line, line
    assert case.needle in line, (case.needle, line)
    assert "Traceback" not in result.stderr + result.stdout
    assert "wrongwrongwrong" not in result.stderr  # secrets never echoed
    # a refused command leaves nothing behind: not even an empty output folder
    assert not (w.tmp / "out").exists(), case.id
    assert not (w.tmp / "out.zip").exists() and not (w.tmp / "x.zip").exists()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_invocation_in_process(case: Case, fresh: World, cli: Callable[..., Run]) -> None:
    lock = case.setup(fresh) if case.setup else None
    try:
        args, env = case.build(fresh)
        result = cli(args, env=env)
    finally:
        if lock is not None and hasattr(lock, "release"):
            lock.release()
    _check(case, result, fresh)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.subprocess], ids=[c.id for c in CASES if c.subprocess]
)
def test_bad_invocation_subprocess(case: Case, fresh: World, mano: Callable[..., Run]) -> None:
    lock = case.setup(fresh) if case.setup else None
    try:
        args, env = case.build(fresh)
        result = mano(args, env={**os.environ, **env})
    finally:
        if lock is not None and hasattr(lock, "release"):
            lock.release()
    _check(case, result, fresh)
