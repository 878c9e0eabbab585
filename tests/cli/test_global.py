"""Global behaviour of `mano`: help, versions, exit-code table, one-line usage errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mano_cli._errors import EXIT_CODES, classify
from tests.cli.conftest import Run

RunFn = Callable[..., Run]


def test_help_lists_commands_and_exit_codes(cli: RunFn) -> None:
    result = cli(["--help"])
    assert result.exit_code == 0
    for command in (
        "keyring",
        "studies",
        "participants",
        "settings",
        "info",
        "download",
        "sync",
        "compress",
        "decompress",
        "lock",
        "unlock",
        "verify",
        "demo",
    ):
        assert f" {command} " in result.stdout, command
    assert "Exit codes:" in result.stdout
    for code, meaning in EXIT_CODES.items():
        assert f"{code:>4}  {meaning.split(' (')[0]}" in result.stdout.replace("│", " ")


def test_version_names_every_package(mano: RunFn) -> None:
    result = mano(["--version"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == [
        "mano-cli",
        "mano-auth",
        "mano-api",
        "mano-files",
        "mano-sync",
        "mano-testing",
        "mano",
        "python",
    ]
    assert all(line.split()[1].count(".") == 2 for line in lines[:-1])
    assert result.stderr == ""


def test_no_arguments_shows_help(cli: RunFn) -> None:
    result = cli([])
    assert "Usage: mano" in result.stdout + result.stderr
    assert "sync" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--bogus"], "No such option: --bogus"),
        (["studies", "--bogus"], "No such option: --bogus"),
        (["--mt", "-1", "studies"], "--mt"),
        (["nosuchcommand"], "No such command"),
        (["participants"], "Missing argument"),
    ],
)
def test_usage_errors_are_one_line_exit_2(cli: RunFn, args: list[str], needle: str) -> None:
    result = cli(args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert lines[0].startswith("mano")
    assert "Traceback" not in result.stderr


def test_classify_maps_library_roots_and_builtins() -> None:
    assert classify(KeyboardInterrupt()).exit_code == 130
    assert classify(PermissionError(13, "Permission denied", "/x")).exit_code == 5
    assert "/x" in classify(PermissionError(13, "Permission denied", "/x")).message
    bug = classify(ZeroDivisionError("division by zero"))
    assert bug.exit_code == 70
    assert "-vv" in bug.message
    # a multi-line message is reported as one line
    assert "\n" not in classify(RuntimeError("a\nb")).message


def test_no_credentials_fails_fast_naming_variables(mano: RunFn) -> None:
    result = mano(["studies"])
    assert result.exit_code == 3, result.stderr
    assert result.stderr.count("\n") == 1
    assert "MANO_KEYRING" in result.stderr
    assert "BEIWE_URL" in result.stderr
    assert result.stdout == ""


def test_vv_shows_the_traceback_and_keeps_the_exit_code(mano: RunFn, tmp_path: object) -> None:
    quiet = mano(["verify", "/nonexistent/folder"])
    loud = mano(["-vv", "verify", "/nonexistent/folder"])
    assert quiet.exit_code == loud.exit_code == 5
    assert "Traceback" not in quiet.stderr
    assert "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.rstrip().splitlines()[-1] == quiet.stderr.strip()


def test_every_class_name_in_the_exit_code_table_exists() -> None:
    import mano_api
    import mano_auth
    import mano_files
    import mano_sync
    from mano_cli._errors import _CODES

    libraries = (mano_auth, mano_api, mano_files, mano_sync)
    for name in _CODES:
        assert any(isinstance(getattr(lib, name, None), type) for lib in libraries), name


def test_real_library_errors_map_to_documented_codes() -> None:
    import mano_api
    import mano_auth
    import mano_files
    import mano_sync

    cases = [
        (mano_api.AuthenticationFailed("x", status=403), 3),
        (mano_api.StudyAccessDenied("x", status=403), 3),
        (mano_api.InvalidStudy("x"), 2),
        (mano_api.AmbiguousStudy("x"), 2),
        (mano_api.InvalidDataStream("x"), 2),
        (mano_api.ParticipantNotFound("x"), 2),
        (mano_api.EndpointNotFound("x", status=404), 4),
        (mano_api.ServerMaintenance("x"), 4),
        (mano_api.ServerError("x", status=500), 4),
        (mano_api.TruncatedDownload("x"), 4),
        (mano_api.ConnectionFailed("x"), 4),
        (mano_api.Timeout("x"), 4),
        (mano_auth.KeyringNotFound("x"), 3),
        (mano_auth.WrongPassphrase("x"), 3),
        (mano_auth.PassphraseRequired("x"), 3),
        (mano_auth.KeyringPermissionError("x"), 5),
        (mano_auth.KeyringExists("x"), 2),
        (mano_files.CorruptZstd("x"), 5),
        (mano_files.WrongPassphrase("x"), 3),
        (mano_files.KeyRequired("x"), 3),
        (mano_files.DiskFull("x"), 8),
        (mano_files.PermissionDenied("x"), 5),
        (mano_sync.SyncLocked("/x/.mano-sync.lock"), 6),
        (mano_sync.PassphraseRequired("x"), 3),
        (mano_sync.ManifestError("x"), 5),
    ]
    for exc, code in cases:
        assert classify(exc).exit_code == code, type(exc).__name__
        assert "\n" not in classify(exc).message
