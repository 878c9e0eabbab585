"""`mano sync|download|demo` against the emulator: trees, summaries, exit codes."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zstandard

from mano_cli._context import Settings
from mano_cli._progress import ProgressView
from tests.cli.conftest import Run, env_for

RunFn = Callable[..., Run]


def _ok(result: Run) -> Run:
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def _data_files(folder: Path) -> dict[str, Path]:
    """Files in participant folders (the root holds the study's settings JSON for Forest)."""
    return {
        str(p.relative_to(folder)): p
        for p in folder.rglob("*")
        if p.is_file()
        and len(p.relative_to(folder).parts) > 1
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


def test_sync_writes_the_servers_files_then_is_incremental(
    emu: Any, mano: RunFn, tmp_path: Path
) -> None:
    out = tmp_path / "study"
    first = _ok(mano(["sync", emu.study_name, "-o", str(out), "--json"], env=env_for(emu)))
    summary = json.loads(first.stdout)["summary"]
    expected = {f.zip_name: f for f in emu.files()}
    files = _data_files(out)
    assert set(files) == set(expected)
    assert summary["new"] == len(expected) and summary["failed"] == [] and summary["ok"]
    root_files = {p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert root_files == {
        f"{emu.study_name.replace(' ', '_')}_surveys_and_settings.json",
        f"{emu.study_id}_intervention_data.json",
        f"{emu.study_id}_surveys_history_data.json",
    }
    for name in list(expected)[:25]:
        assert (
            hashlib.sha1(files[name].read_bytes()).digest()
            == hashlib.sha1(expected[name].data()).digest()
        )
    second = _ok(mano(["sync", emu.study_id[:8], "-o", str(out), "--json"], env=env_for(emu)))
    again = json.loads(second.stdout)["summary"]
    assert again["new"] == 0 and again["unchanged"] == len(expected)
    assert again["bytes_downloaded"] < summary["bytes_downloaded"] / 5


def test_sync_table_output_and_filters(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    pid = emu.files()[0].participant
    out = tmp_path / "gps"
    result = _ok(
        cli(
            ["sync", emu.study_id, "-o", str(out), "-p", pid, "-s", "gps", "--keep-compressed"],
            env=env_for(emu),
        )
    )
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "participant",
        "new",
        "updated",
        "unchanged",
        "failed",
        "downloaded",
    ]
    assert lines[-1].split()[0] == "total"
    files = _data_files(out)
    want = {f.zip_name + ".zst": f for f in emu.files(participant=pid, stream="gps")}
    assert set(files) == set(want)
    name, f = next(iter(want.items()))
    assert (
        zstandard.ZstdDecompressor().decompressobj().decompress(files[name].read_bytes())
        == f.data()
    )


def test_sync_lock_then_unlock_and_verify(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    out = tmp_path / "locked"
    env = {**env_for(emu), "MANO_LOCK_PASSPHRASE": "data passphrase"}
    _ok(cli(["sync", emu.study_id, "-o", str(out), "--lock", "gps", "-s", "gps,wifi"], env=env))
    names = set(_data_files(out))
    assert names and all(n.endswith(".csv.zst.lock") for n in names if "/gps/" in n)
    assert all(n.endswith(".csv") for n in names if "/wifi/" in n)
    _ok(cli(["verify", str(out)], env=env))
    _ok(cli(["unlock", str(out)], env=env))
    plain = _data_files(out)
    expected = {f.zip_name: f for f in emu.files() if f.stream in ("gps", "wifi")}
    assert set(plain) == set(expected)
    assert all(plain[n].read_bytes() == f.data() for n, f in expected.items())
    report = json.loads(_ok(cli(["verify", str(out), "--json"], env=env)).stdout)
    assert report["ok"] and report["matched"] == len(expected) and report["missing"] == []


def test_sync_all_studies_into_id_folders(emu: Any, mano: RunFn, tmp_path: Path) -> None:
    result = _ok(
        mano(["sync", "--all", "-o", str(tmp_path), "-s", "gps", "--json"], env=env_for(emu))
    )
    outcomes = json.loads(result.stdout)
    assert sorted(o["study"] for o in outcomes) == sorted(emu.studies.values())
    assert all(o["status"] == "ok" and o["exit_code"] == 0 for o in outcomes)
    for sid in emu.studies:
        assert (tmp_path / sid / ".mano-sync.sqlite").is_file()
    main = _data_files(tmp_path / emu.study_id)
    assert set(main) == {f.zip_name for f in emu.files(stream="gps")}


def test_sync_all_sections(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    from mano_auth import write_keyring

    ring = tmp_path / "ring.enc"
    admin_access, admin_secret = emu.keys["admin"]
    write_keyring(
        {
            "lab": emu.credentials,
            "admin": {"URL": emu.url, "ACCESS_KEY": admin_access, "SECRET_KEY": admin_secret},
        },
        ring,
        password="pw",
    )
    out = tmp_path / "all"
    result = _ok(
        cli(
            [
                "--keyring-file",
                str(ring),
                "sync",
                "--all-sections",
                "-o",
                str(out),
                "-s",
                "gps",
                "--json",
            ],
            env={"NRG_KEYRING_PASS": "pw"},
        )
    )
    outcomes = json.loads(result.stdout)
    assert {o["job"].split("/")[0] for o in outcomes} == {"lab", "admin"}
    assert (out / "lab" / emu.study_id / ".mano-sync.sqlite").is_file()
    assert (out / "admin" / emu.study_id / ".mano-sync.sqlite").is_file()


def test_download_into_folder_and_as_zip(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    pid = emu.files()[0].participant
    out = tmp_path / "dl"
    result = _ok(
        cli(
            ["download", emu.study_id, "-o", str(out), "-p", pid, "-s", "gps", "--v1", "--json"],
            env=env_for(emu),
        )
    )
    data = json.loads(result.stdout)
    want = {f.zip_name: f for f in emu.files(participant=pid, stream="gps")}
    assert data["new"] == len(want) and data["failed"] == []
    files = _data_files(out)
    assert set(files) == set(want)
    zpath = tmp_path / "raw.zip"
    _ok(
        cli(
            ["download", emu.study_id, "--zip", str(zpath), "-p", pid, "-s", "gps"],
            env=env_for(emu),
        )
    )
    with zipfile.ZipFile(zpath) as z:
        names = set(z.namelist())
    assert names == {n + ".zst" for n in want} | {"registry"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dl", "raw.zip"]


def test_demo_then_verify_in_process(cli: RunFn, tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = _ok(cli(["demo", str(folder), "--participants", "2", "--days", "1", "--json"]))
    data = json.loads(result.stdout)
    assert data["files"] == len(_data_files(folder)) > 0
    assert data["summary"]["failed"] == []
    _ok(cli(["verify", str(folder)]))
    text = _ok(cli(["demo", str(folder), "--participants", "2", "--days", "1"])).stdout
    assert "mano --keyring myserver sync" in text and str(folder.resolve()) in text


def test_progress_view_renders_files_bytes_and_rate() -> None:
    from rich.console import Console

    s = Settings()
    buffer = io.StringIO()
    s._stderr = Console(file=buffer, force_terminal=True, width=120, no_color=True)
    with ProgressView(s) as view:
        assert view.enabled
        view.update("total", description="all", total=2048, files_total=2)
        view.update("total", files=1, completed=1024)
        view.update("abcd1234", files=1, completed=1024)
        view.finish("abcd1234")
    text = buffer.getvalue()
    assert "all" in text and "abcd1234" in text
    assert "1/2 files" in text
    assert "1.0 kB" in text or "1.0/2.0 kB" in text


def test_progress_hidden_without_terminal_or_with_quiet() -> None:
    assert ProgressView(Settings()).enabled is False  # stderr is not a terminal under pytest
    from rich.console import Console

    s = Settings(verbosity=-1)
    s._stderr = Console(file=io.StringIO(), force_terminal=True)
    assert ProgressView(s).enabled is False


def test_download_and_decompress_as_subprocesses(emu: Any, mano: RunFn, tmp_path: Path) -> None:
    out = tmp_path / "dl"
    env = env_for(emu)
    result = _ok(
        mano(
            [
                "download",
                emu.study_name,
                "-o",
                str(out),
                "-s",
                "wifi",
                "--keep-compressed",
                "--json",
            ],
            env=env,
        )
    )
    data = json.loads(result.stdout)
    want = {f.zip_name: f for f in emu.files(stream="wifi")}
    assert data["new"] == len(want) and data["failed"] == []
    assert set(_data_files(out)) == {n + ".zst" for n in want}
    report = json.loads(_ok(mano(["decompress", str(out), "--json"])).stdout)
    assert report["done"] == len(want) and report["ok"]
    files = _data_files(out)
    assert all(files[n].read_bytes() == f.data() for n, f in want.items())


def test_sync_verify_files_finds_an_in_place_edit(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    """A plain re-sync trusts unchanged folders; --verify-files stats every file."""
    out = tmp_path / "verify"
    base = ["sync", emu.study_id, "-o", str(out), "-s", "gps", "--json"]
    _ok(cli(base, env=env_for(emu)))
    victim = next(f for f in emu.files() if f.stream == "gps")
    with open(out / victim.zip_name, "r+b") as fh:  # the folder cannot tell
        fh.truncate(0)
        fh.write(b"edited in place\n")
    trusted = json.loads(_ok(cli(base, env=env_for(emu))).stdout)["summary"]
    assert trusted["new"] == trusted["updated"] == 0
    assert (out / victim.zip_name).read_bytes() == b"edited in place\n"
    checked = json.loads(_ok(cli([*base, "--verify-files"], env=env_for(emu))).stdout)["summary"]
    assert checked["new"] + checked["updated"] == 1
    assert (out / victim.zip_name).read_bytes() == victim.data()
