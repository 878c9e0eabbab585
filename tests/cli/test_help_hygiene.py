"""Help and error hints: metavars say what a value is, and every option a message names exists."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mano_cli.main import app

ROOT = Path(__file__).resolve().parents[2]
#: Packages whose messages reach `mano` users.
PACKAGES = ("mano-cli", "mano-sync", "mano-auth", "mano-files", "mano-api")
#: Options of other programs that our docstrings mention on purpose.
OTHER_PROGRAMS = {"--encrypt", "--decrypt"}  # cryptease's crypt.py
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
#: ``--mt4``: the newest mano's glued thread count, rewritten to ``--mt 4`` before parsing.
_GLUED_THREADS = re.compile(r"--mt[0-9]+")


def _commands(
    command: Any, path: tuple[str, ...] = (), parent: typer.Context | None = None
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group, loading the lazily registered ones as help does."""
    yield path, command
    if hasattr(command, "list_commands"):
        ctx = typer.Context(command, info_name=path[-1] if path else "mano", parent=parent)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                yield from _commands(sub, (*path, name), ctx)


def _parser_options() -> set[str]:
    found = {"--help"}
    for _path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            found.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return found


def _strings_in_sources() -> Iterator[tuple[Path, int, str]]:
    kinds = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    for package in PACKAGES:
        for path in sorted((ROOT / "packages" / package / "src").rglob("*.py")):
            tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
            for token in tokens:
                if token.type in kinds:
                    yield path, token.start[0], token.string


def test_every_option_named_in_a_message_exists() -> None:
    known = _parser_options() | OTHER_PROGRAMS
    named: dict[str, str] = {}
    for path, line, text in _strings_in_sources():
        for match in _OPTION.finditer(text):
            named.setdefault(match.group(0), f"{path.relative_to(ROOT)}:{line}")
    assert len(named) > 40  # the scan really reads the messages
    unknown = {
        option: where
        for option, where in named.items()
        if option not in known and not _GLUED_THREADS.fullmatch(option)
    }
    assert unknown == {}


def test_the_scan_catches_an_option_that_does_not_exist() -> None:
    known = _parser_options()
    assert "--password" not in known and "--keyring-file" in known and "--shard" in known


@pytest.mark.parametrize(
    "path", [p for p, _ in _commands(typer.main.get_command(app))], ids=lambda p: " ".join(p)
)
def test_help_shows_no_type_placeholders(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    placeholders = re.findall(r"<(?:bool|int|str|float|path|int range|float range)>", result.output)
    assert placeholders == [], result.output


def test_tables_fit_the_data_not_the_terminal(synced: Path) -> None:
    import os
    import subprocess
    import sys

    def run(*args: str) -> list[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "mano_cli", *args, "report", str(synced)],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "30"},  # a narrow terminal setting must not matter
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.splitlines()

    aligned = run()
    tsv = run("--plain")
    header = tsv[0].split("\t")
    assert header[:3] == ["participant", "os", "first"] and len(tsv) == len(aligned) > 2
    for plain_line, line in zip(tsv, aligned, strict=True):
        cells = plain_line.split("\t")
        assert len(cells) == len(header)
        assert line.split()[0] == cells[0] and len(line) > 30  # one line per row, never wrapped
