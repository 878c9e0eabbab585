"""`mano report DIR`: what data you have, what is missing, and what the server has that you don't."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mano_cli._context import check_window, existing_folder, parse_when, settings, split_values
from mano_cli._errors import LocalProblem, UsageProblem
from mano_cli._output import table, write_text

if TYPE_CHECKING:
    from mano_cli._context import Settings
    from mano_files import CoverageReport, ParticipantCoverage

__all__ = ["ReportParticipants", "report"]

#: ``-p``/``--participant`` of the report commands (repeatable, or comma-separated).
ReportParticipants = Annotated[
    list[str] | None,
    typer.Option(
        "--participant",
        "-p",
        metavar="ID",
        help="Only these participants (repeat or comma-separate).",
    ),
]


def report(
    ctx: typer.Context,
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="The study folder (what `mano sync -o` wrote).")
    ],
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            help="Write the tidy table (participant × stream × day) as CSV.",
        ),
    ] = None,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Write a self-contained HTML report with heatmaps."
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the whole report as JSON.")
    ] = False,
    compare: Annotated[
        str | None,
        typer.Option(
            "--compare",
            metavar="STUDY",
            help="Also ask the server (study id, id prefix or name) what it has that the folder lacks.",
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", metavar="DATE", help="First UTC day to count.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", metavar="DATE", help="Last UTC day to count.")
    ] = None,
    participant: ReportParticipants = None,
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            metavar="FILE",
            help="Study settings JSON (`mano settings STUDY -o FILE`): "
            "streams switched off are not counted as missing.",
        ),
    ] = None,
) -> None:
    """Report data coverage per participant, stream and day; worst participants first.

    Hours are distinct UTC clock hours with at least one file; the active period runs from a
    participant's first to last hour of any data; missing days have no file at all; the longest
    gap is the longest run of empty hours in the active period. Only names and sizes are read:
    locked and compressed files count without a passphrase. Survey completion per survey and
    participant: `mano report surveys DIR`.
    """
    s = settings(ctx)
    root = existing_folder(folder)
    first = parse_when(start, "--start")
    last = parse_when(end, "--end", end=True)
    check_window(first, last)
    pids = split_values(participant)
    study_settings: Any = _read_settings(settings_file) if settings_file else None

    comparison = None
    if compare is not None:
        from mano_cli._api import open_client
        from mano_sync import compare_with_server

        with open_client(s) as client:
            study = client.resolve_study(compare)
            if study_settings is None:
                study_settings = client.study_settings(study)
            comparison = compare_with_server(
                client, study, root, participants=pids, start=first, end=last
            )

    from mano_files import coverage

    result = coverage(root, settings=study_settings, start=first, end=last, participants=pids)
    if csv_file is not None:
        _write(result.to_csv, csv_file)
    if html_file is not None:
        from mano_files import survey_report

        surveys = survey_report(root, participants=pids)  # locked survey files are skipped
        _write(
            lambda path: result.to_html(path, surveys=surveys if surveys.rows else None),
            html_file,
        )

    if json_output or s.json:
        data: dict[str, Any] = result.to_dict()
        if comparison is not None:
            data["compare"] = comparison.to_dict()
        write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", None)
        return
    _print_summary(s, result)
    if comparison is not None:
        _print_comparison(s, comparison)
    for label, path in (("CSV", csv_file), ("HTML", html_file)):
        if path is not None and not s.quiet:
            s.err.print(f"{label} written to {path}", markup=False)


def _read_settings(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LocalProblem(f"cannot read settings file {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageProblem(
            f"settings file {path} is not JSON; save it with `mano settings STUDY -o FILE`"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("device_settings", data), dict):
        raise UsageProblem(f"settings file {path} has no device_settings object")
    return data


def _write(writer: Any, path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise LocalProblem(f"cannot write {path}: folder {folder} does not exist")
    try:
        writer(path)
    except OSError as exc:
        raise LocalProblem(f"cannot write {path}: {exc.strerror or exc}") from exc


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _worst_stream(p: ParticipantCoverage) -> str:
    shares = [(s.share, s.stream) for s in p.streams if s.share is not None and s.kind == "sensor"]
    if not shares:
        return ""
    share, name = min(shares)
    return f"{name} {_pct(share)}"


def _gap(hours: int) -> str:
    return f"{hours / 24:.1f}d" if hours >= 48 else f"{hours}h"


def _print_summary(s: Settings, result: CoverageReport) -> None:
    if not result.participants:
        s.err.print(f"no participant folders in {result.root}", markup=False)
        return
    rows = []
    for p in result.worst_first():
        days = (
            "0"
            if p.first_day is None or p.last_day is None
            else str((p.last_day - p.first_day).days + 1)
        )
        rows.append(
            (
                p.participant,
                p.os or "?",
                p.first_day or "–",
                p.last_day or "–",
                days,
                len(p.missing_days),
                _gap(p.longest_gap_hours),
                _pct(p.score),
                _worst_stream(p),
            )
        )
    table(
        s,
        ["participant", "os", "first", "last", "days", "missing", "gap", "score", "worst"],
        rows,
    )
    if not s.quiet:
        s.err.print(
            f"{len(result.participants)} participants, {result.files:,} files, "
            f"{result.bytes / 1e6:,.1f} MB on disk"
            + ("" if result.settings_known else "; expected streams inferred from the tree")
            + (f"; {result.ignored_count} non-data paths ignored" if result.ignored_count else ""),
            markup=False,
        )
    if result.duplicate_count:
        s.err.print(
            f"warning: {result.duplicate_count:,} files are stored in two forms (e.g. "
            f"{result.duplicates[0]}); Forest reads both and counts that data twice: keep one "
            "(`mano compress --delete-original` or `mano decompress --delete-original`)",
            markup=False,
        )


def _print_comparison(s: Settings, comparison: Any) -> None:
    missing = list(comparison.missing)
    changed = list(comparison.changed)
    if missing:
        s.out.print(f"\nOn the server but not in the folder ({len(missing)}):", markup=False)
        for name in missing:
            s.out.print(f"  {name}", markup=False, highlight=False)
    if changed:
        s.out.print(f"\nChanged on the server since synced ({len(changed)}):", markup=False)
        for name in changed:
            s.out.print(f"  {name}", markup=False, highlight=False)
    if not s.quiet:
        verdict = (
            "the folder has everything the server has"
            if not (missing or changed)
            else (f"{len(missing)} missing, {len(changed)} changed; run `mano sync` to fetch them")
        )
        s.err.print(f"compare with {comparison.study_name}: {verdict}", markup=False)
