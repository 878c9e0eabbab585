"""`mano sync --config FILE` as cron runs it: no TTY, minimal environment, stdin closed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mano_testing import Emulator
from tests.cli.conftest import Run

#: Forest's side inputs, which every sync refreshes at the study folder's root.
SIDE_INPUT_SUFFIXES = (
    "_surveys_and_settings.json",
    "_intervention_data.json",
    "_surveys_history_data.json",
)


@dataclass
class Lab:
    one: Emulator
    two: Emulator
    down_port: int
    home: Path
    ring: Path


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    from mano_auth import write_keyring

    home = tmp_path_factory.mktemp("home")
    port = _closed_port()
    with (
        Emulator(participants=2, days=1, seed=11) as one,
        Emulator(participants=3, days=1, seed=12) as two,
    ):
        ring = home / "ring.enc"
        write_keyring(
            {
                "one": one.credentials,
                "two": two.credentials,
                "down": dict(one.credentials, URL=f"http://127.0.0.1:{port}"),
            },
            ring,
            password="keyring pass",
        )
        yield Lab(one, two, port, home, ring)


def cron(args: list[str], lab: Lab, *, extra: dict[str, str] | None = None) -> Run:
    """Run `mano ARGS` like cron does: no TTY, stdin closed, almost no environment."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(lab.home),
        "NRG_KEYRING_PASS": "keyring pass",
        **(extra or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mano_cli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=lab.home,
        timeout=180,
        preexec_fn=lambda: os.close(0),  # stdin closed, not merely empty
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _config(lab: Lab, folder: Path, *, with_down: bool = True) -> Path:
    text = f"""\
keyring_file = "{lab.ring}"
parallel = true

[[job]]
name = "one-main"
keyring = "one"
study = "{lab.one.study_name}"
output = "{folder}/one"

[[job]]
name = "two-main"
keyring = "two"
study = "{lab.two.study_id[:6]}"
output = "{folder}/two"
streams = ["gps", "accelerometer", "survey_answers"]
"""
    if with_down:
        text += f"""
[[job]]
name = "down"
keyring = "down"
study = "{lab.one.study_id}"
output = "{folder}/down"
"""
    path = folder / "mano.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
        and not any(x.startswith(".") for x in p.relative_to(folder).parts)
        and not (p.parent == folder and p.name.endswith(SIDE_INPUT_SUFFIXES))
    }


def _expected(emu: Emulator, streams: set[str] | None = None) -> dict[str, bytes]:
    return {f.zip_name: f.data() for f in emu.files() if streams is None or f.stream in streams}


def test_one_unreachable_server_gives_exactly_one_line(lab: Lab, tmp_path: Path) -> None:
    config = _config(lab, tmp_path)
    result = cron(["-q", "sync", "--config", str(config)], lab)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"mano: error: job down: connection refused by 127.0.0.1:{lab.down_port}"
    )
    assert result.exit_code == 4  # the worst job: a server problem
    assert _tree(tmp_path / "one") == _expected(lab.one)
    two = {"gps", "accelerometer", "survey_answers"}
    assert _tree(tmp_path / "two") == _expected(lab.two, two)
    assert not (tmp_path / "down").exists()
    study = json.loads((tmp_path / "two" / ".mano-study.json").read_text())
    assert study["id"] == lab.two.study_id and study["name"] == lab.two.study_name
    assert study["server"] == lab.two.url and study["job"] == "two-main"
    assert study["last_sync"].endswith("+00:00")


def test_all_reachable_and_quiet_prints_nothing(lab: Lab, tmp_path: Path) -> None:
    config = _config(lab, tmp_path, with_down=False)
    for _ in range(2):  # first sync, then the nightly no-op
        result = cron(["-q", "sync", "--config", str(config)], lab)
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert _tree(tmp_path / "one") == _expected(lab.one)


def test_without_tty_one_summary_line_per_job_and_json_log(lab: Lab, tmp_path: Path) -> None:
    config = _config(lab, tmp_path)
    log = tmp_path / "log" / "mano.jsonl"
    result = cron(["--log-file", str(log), "sync", "--config", str(config)], lab)
    assert result.exit_code == 4
    assert "\x1b[" not in result.stdout + result.stderr  # no bars, no colours
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0][:3] == ["job", "status", "new"]
    assert [(r[0], r[1]) for r in rows[1:]] == [
        ("one-main", "ok"),
        ("two-main", "ok"),
        ("down", "failed"),
    ]
    errors = result.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith("mano: error: job down: ")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    jobs = {r["job"]: r for r in records if "status" in r}
    assert set(jobs) == {"one-main", "two-main", "down"}
    assert jobs["one-main"]["new"] == len(lab.one.files()) and jobs["one-main"]["exit_code"] == 0
    assert jobs["down"]["exit_code"] == 4 and jobs["down"]["level"] == "error"
    assert [r["job"] for r in records if "error" in r and "status" not in r] == ["down"]
    assert lab.one.secret_key not in log.read_text()


def test_named_jobs_run_even_when_not_ready(lab: Lab, tmp_path: Path) -> None:
    config = _config(lab, tmp_path)
    config.write_text(
        config.read_text().replace('name = "one-main"', 'name = "one-main"\nready = false')
    )
    result = cron(["-q", "sync", "--config", str(config), "--job", "two-main"], lab)
    assert (result.exit_code, result.stderr) == (0, "")
    assert (tmp_path / "two").is_dir() and not (tmp_path / "one").exists()


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (('output = "', 'outptu = "'), 8, "unknown key 'outptu'"),
        (("parallel = true", "parallel = 1"), 2, "parallel must be true or false"),
        (("study = ", "# study = "), 4, "missing key 'study'"),
        (('/two"', '/one"'), 14, "also the output of job 'one-main'"),
        (('keyring = "two"', 'keyring = "tow"'), 10, "no keyring section 'tow'"),
    ],
    ids=["unknown-key", "wrong-type", "missing-study", "duplicate-output", "unknown-section"],
)
def test_config_errors_are_one_line_with_the_line_before_any_job(
    lab: Lab, tmp_path: Path, edit: tuple[str, str], line: int, words: str
) -> None:
    config = _config(lab, tmp_path)
    old, new = edit
    config.write_text(config.read_text().replace(old, new, 1))
    lab.one.reset_log()
    lab.two.reset_log()
    result = cron(["-q", "sync", "--config", str(config)], lab)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"mano: error: {config}, line {line}: "), result.stderr
    assert words in result.stderr and len(result.stderr.splitlines()) == 1
    assert lab.one.request_log == [] and lab.two.request_log == []  # no job started
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mano.toml"]


def test_config_example_is_printed_and_valid(lab: Lab, tmp_path: Path) -> None:
    result = cron(["sync", "--config-example"], lab)
    assert result.exit_code == 0 and result.stderr == ""
    from mano_sync import parse_config

    assert len(parse_config(result.stdout).jobs) == 2


def test_config_refuses_per_job_options(lab: Lab, tmp_path: Path) -> None:
    config = _config(lab, tmp_path)
    result = cron(["sync", "--config", str(config), "-s", "gps"], lab)
    assert result.exit_code == 2
    assert "drop -s/--stream" in result.stderr


def test_all_names_folders_by_id_and_records_the_study(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "by-id"
    result = cron(
        [
            "-q",
            "--keyring",
            "one",
            "--keyring-file",
            str(lab.ring),
            "sync",
            "--all",
            "-o",
            str(out),
            "-s",
            "gps",
        ],
        lab,
    )
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        lab.one.studies
    )
    for sid, name in lab.one.studies.items():
        record = json.loads((out / sid / ".mano-study.json").read_text())
        assert (record["id"], record["name"], record["server"]) == (sid, name, lab.one.url)
    assert _tree(out / lab.one.study_id) == _expected(lab.one, {"gps"})
    named = tmp_path / "by-name"
    result = cron(
        [
            "-q",
            "--keyring",
            "one",
            "--keyring-file",
            str(lab.ring),
            "sync",
            "--all",
            "--folder-name",
            "name",
            "-o",
            str(named),
            "-s",
            "gps",
        ],
        lab,
    )
    assert result.exit_code == 0, result.stderr
    assert (named / lab.one.study_name / ".mano-study.json").is_file()


def test_quiet_single_study_prints_nothing(lab: Lab, tmp_path: Path) -> None:
    env = {
        "BEIWE_URL": lab.one.url,
        "BEIWE_ACCESS_KEY": lab.one.access_key,
        "BEIWE_SECRET_KEY": lab.one.secret_key,
    }
    result = cron(["-q", "sync", lab.one.study_id, "-o", str(tmp_path / "s")], lab, extra=env)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    result = cron(["sync", lab.one.study_id, "-o", str(tmp_path / "s")], lab, extra=env)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.splitlines()[-1].split()[0] == "total"


def test_unreachable_single_study_is_one_fast_line(lab: Lab, tmp_path: Path) -> None:
    env = {
        "BEIWE_URL": "https://beiwe.example.invalid",
        "BEIWE_ACCESS_KEY": lab.one.access_key,
        "BEIWE_SECRET_KEY": lab.one.secret_key,
    }
    result = cron(["sync", lab.one.study_id, "-o", str(tmp_path / "s")], lab, extra=env)
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        "mano: error: cannot resolve the host name 'beiwe.example.invalid' (DNS): check the "
        "URL's spelling, your network and DNS settings"
    ]
    assert not (tmp_path / "s").exists()


def test_config_jobs_split_over_a_job_array(lab: Lab, tmp_path: Path) -> None:
    config = _config(lab, tmp_path, with_down=False)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mano_cli",
                "-q",
                "sync",
                "--config",
                str(config),
                "--shard",
                f"{k}/2",
            ],
            env={
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(lab.home),
                "NRG_KEYRING_PASS": "keyring pass",
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in (1, 2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert (proc.returncode, out, err) == (0, "", "")
    assert _tree(tmp_path / "one") == _expected(lab.one)
    two = {"gps", "accelerometer", "survey_answers"}
    assert _tree(tmp_path / "two") == _expected(lab.two, two)
    assert sorted(p.name for p in (tmp_path / "one" / ".mano-shards").glob("*.sqlite")) == [
        "1-of-2.sqlite",
        "2-of-2.sqlite",
    ]


def test_progress_note_is_one_line_per_interval() -> None:
    import io

    from rich.console import Console

    from mano_cli._context import Settings
    from mano_cli._jobview import ProgressNote
    from mano_sync import SyncProgress

    def event(kind: str, done: int) -> SyncProgress:
        return SyncProgress(kind, None, 10 * done, 2048 * done, None, 1.0, done, 4)

    buffer = io.StringIO()
    s = Settings(_stderr=Console(file=buffer, width=60, force_terminal=False))
    quiet = ProgressNote(s)  # the default interval: nothing within a minute
    for done in range(4):
        quiet("job a", event("participant", done))
    assert buffer.getvalue() == ""
    every = ProgressNote(s, interval=0)
    every("job a", event("participant", 1))
    every("job b", event("participant", 3))
    lines = buffer.getvalue().splitlines()
    assert lines == [
        "mano: progress: job a: 1/4 participants, 10 files, 2.0 KiB",
        "mano: progress: job a: 1/4 participants, 10 files, 2.0 KiB; job b: 3/4 "
        "participants, 30 files, 6.0 KiB",
    ]
    assert not ProgressNote(Settings(verbosity=-1, _stderr=s.err)).enabled  # -q: never


def test_a_partly_failed_job_is_one_line_with_q(lab: Lab, tmp_path: Path) -> None:
    config = _config(lab, tmp_path, with_down=False)
    lab.one.set_faults("get-data:5xx=1")
    try:
        result = cron(["-q", "--retries", "0", "sync", "--config", str(config)], lab)
    finally:
        lab.one.set_faults(None)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mano: error: job one-main: "), result.stderr
    assert "failed" in lines[0] and "Traceback" not in result.stderr
    assert result.exit_code == 1  # partial: the rest is saved
    assert _tree(tmp_path / "two")  # the other job ran


def test_jobs_without_output_are_named_by_study_id(lab: Lab, tmp_path: Path) -> None:
    config = tmp_path / "mano.toml"
    config.write_text(
        f"""keyring_file = "{lab.ring}"
output_root = "studies"

[[job]]
name = "main"
keyring = "one"
study = "{lab.one.study_name}"

[[job]]
name = "same-again"
keyring = "one"
study = "{lab.one.study_id[:5]}"
streams = ["gps"]
"""
    )
    result = cron(["-q", "sync", "--config", str(config)], lab)
    folder = tmp_path / "studies" / lab.one.study_id
    assert _tree(folder) == _expected(lab.one)
    assert json.loads((folder / ".mano-study.json").read_text())["job"] == "main"
    assert result.exit_code == 2  # the second job named the same study: refused, not run
    assert result.stderr.splitlines() == [
        f"mano: error: job same-again: its study folder {folder} is also the "
        "folder of job main (the same study twice?); give one of them an output"
    ]
    named = cron(
        ["-q", "sync", "--config", str(config), "--job", "main", "--folder-name", "name"], lab
    )
    assert (named.exit_code, named.stderr) == (0, "")
    assert _tree(tmp_path / "studies" / lab.one.study_name) == _expected(lab.one)


def test_a_wrong_keyring_passphrase_is_one_line_before_any_job(lab: Lab, tmp_path: Path) -> None:
    config = _config(lab, tmp_path)
    result = cron(["-q", "sync", "--config", str(config)], lab, extra={"NRG_KEYRING_PASS": "no"})
    assert result.exit_code == 3 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "wrong passphrase" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mano.toml"]
