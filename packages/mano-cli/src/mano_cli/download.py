"""`mano download`: one get-data request, extracted into a study folder (or kept as a zip)."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

from mano_cli._api import open_client
from mano_cli._context import (
    check_output_folder,
    check_streams,
    check_window,
    jsonable,
    load_credentials,
    output_folder,
    parse_when,
    settings,
    split_values,
)
from mano_cli._errors import LocalProblem, PartialFailure, UsageProblem
from mano_cli._output import dumps, new_temp, write_text
from mano_cli._progress import ProgressView

__all__ = ["download"]


def download(
    ctx: typer.Context,
    study: str = typer.Argument(
        ..., metavar="STUDY", help="Study id, unique id prefix or exact name."
    ),
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="DIR", help="Study folder to extract into."),
    ] = None,
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
        None, "--start", metavar="DATE", help="First hour (YYYY-MM-DD[THH:MM:SS], UTC)."
    ),
    end: str | None = typer.Option(
        None, "--end", metavar="DATE", help="Last hour, inclusive (a date means the whole day)."
    ),
    v1: bool = typer.Option(False, "--v1", help="get-data v1: plain members."),
    v2: bool = typer.Option(False, "--v2", help="get-data v2: zstd members (the default)."),
    keep_compressed: bool = typer.Option(
        False, "--keep-compressed", help="Store .zst files (v2 only)."
    ),
    zip_file: Annotated[
        Path | None,
        typer.Option(
            "--zip", metavar="FILE", help="Keep the raw zip at FILE instead of extracting."
        ),
    ] = None,
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace an existing --zip FILE, or files in DIR whose content differs from the "
        "server's (identical files are never rewritten; locked files never replaced).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download data once (no incremental state) into DIR, or as a raw zip with --zip.

    Nothing hidden is left in DIR. Run again into the same DIR, files already there with the
    server's content are reported unchanged and left alone; a file that differs is not
    replaced without --overwrite. Use `mano sync` to keep a folder up to date.
    """
    s = settings(ctx)
    if v1 and v2:
        raise UsageProblem("--v1 and --v2 cannot be used together")
    if keep_compressed and v1:
        raise UsageProblem("--keep-compressed needs get-data v2 (drop --v1)")
    if (output is None) == (zip_file is None):
        raise UsageProblem("give exactly one of -o DIR (extract) or --zip FILE (keep the archive)")
    start_at = parse_when(start, "--start")
    end_at = parse_when(end, "--end", end=True)
    check_window(start_at, end_at)
    streams = check_streams(stream)
    participants = split_values(participant)
    if output is not None:
        check_output_folder(output)
    elif zip_file is not None and zip_file.is_dir():
        raise UsageProblem(
            f"--zip {zip_file} is a folder: give a file name, e.g. {zip_file / 'data.zip'}"
        )
    elif zip_file is not None and not zip_file.parent.is_dir():
        raise LocalProblem(f"cannot write {zip_file}: folder {zip_file.parent} does not exist")
    elif zip_file is not None and zip_file.is_dir():
        raise UsageProblem(f"--zip {zip_file} is a folder; give a file name (or -o DIR to extract)")
    elif zip_file is not None and os.path.lexists(zip_file) and not overwrite:
        raise UsageProblem(f"{zip_file} already exists; pass --overwrite to replace it")
    from mano_sync import download as fetch
    from mano_sync import extract

    credentials = load_credentials(s)
    with open_client(s, credentials) as client:
        found = client.resolve_study(study)
        made = output_folder(output) if output is not None else contextlib.nullcontext(None)
        with made, ProgressView(s) as view:

            def on_bytes(n: int) -> None:
                view.update("download", description=f"{found.name}", completed=n)

            tmp_dir = output if output is not None else (zip_file.parent if zip_file else None)
            archive = fetch(
                credentials,
                found.id,
                participants,
                streams,
                start_at,
                end_at,
                version=1 if v1 else 2,
                tmp_dir=tmp_dir,
                progress=on_bytes if view.enabled else None,
                client=client,
            )
        with archive:
            members = archive.members()
            if zip_file is not None:
                _copy_atomic(Path(archive.path), zip_file)
                result: dict[str, Any] = {
                    "study": found.name,
                    "zip": str(zip_file),
                    "members": len(members),
                    "bytes": archive.size,
                }
                failed: tuple[Any, ...] = ()
            else:
                assert output is not None
                saved = extract(
                    archive,
                    output,
                    participants=participants,
                    data_streams=streams,
                    keep_compressed=keep_compressed,
                    overwrite=overwrite,
                )
                failed = saved.failed
                result = {
                    "study": found.name,
                    "folder": str(output),
                    "members": len(members),
                    "bytes": archive.size,
                    "new": saved.new,
                    "updated": saved.updated,
                    "unchanged": saved.unchanged,
                    "failed": [str(f) for f in saved.failed],
                    "bytes_written": saved.bytes_written,
                }
    if json_output or s.json:
        write_text(dumps(jsonable(result)), None)
    elif zip_file is not None:
        write_text(
            f"saved {result['members']} files ({result['bytes']} bytes) of {found.name} to {zip_file}\n",
            None,
        )
    else:
        write_text(
            f"{found.name}: {result['new']} new, {result['updated']} updated, {result['unchanged']} "
            f"unchanged, {len(failed)} failed, {result['members']} files received into {output}\n",
            None,
        )
    if failed:
        raise PartialFailure(f"{len(failed)} file(s) failed (first: {failed[0]})")


def _copy_atomic(source: Path, target: Path) -> None:
    fd, tmp = new_temp(target)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
