"""`mano report surveys DIR`: per survey and participant, what was delivered, opened, submitted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mano_cli._context import existing_folder, parse_when, settings, split_values
from mano_cli._output import table, write_text
from mano_cli.report import ReportParticipants

if TYPE_CHECKING:
    from mano_cli._context import Settings
    from mano_files import SurveyReport

__all__ = ["report_surveys", "route_report_surveys"]


def route_report_surveys(args: list[str]) -> list[str]:
    """Turn ``report surveys ...`` into the ``report surveys`` command (Click has no optional
    subcommand next to a positional argument). A folder literally named ``surveys`` given
    alone stays a coverage report."""
    for at, token in enumerate(args[:-1]):
        if token == "report" and args[at + 1] == "surveys":
            rest = args[at + 2 :]
            positional = [a for a in rest if not a.startswith("-")]
            if (
                not positional
                and Path("surveys").is_dir()
                and not any(a in ("-h", "--help") for a in rest)
            ):
                return args
            return [*args[:at], "report surveys", *rest]
    return args


def report_surveys(
    ctx: typer.Context,
    folder: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="The study folder (what `mano sync -o` wrote)."),
    ],
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            help="Write one row per survey × participant (and per question) as CSV.",
        ),
    ] = None,
    html_file: Annotated[
        Path | None,
        typer.Option("--html", metavar="FILE", help="Write the survey section as an HTML page."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the whole report as JSON.")
    ] = False,
    days: Annotated[
        int,
        typer.Option("--days", min=1, metavar="N", help="List surveys missed in the last N days."),
    ] = 7,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="WHEN",
            help="Count deliveries up to this UTC time (default: now).",
        ),
    ] = None,
    participant: ReportParticipants = None,
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            metavar="FILE",
            help="Study settings JSON with the survey schedules "
            "(default: the *_surveys_and_settings.json `mano sync` saves in DIR).",
        ),
    ] = None,
    study: Annotated[
        str | None,
        typer.Option("--study", metavar="STUDY", help="Study whose passphrase opens locked files."),
    ] = None,
) -> None:
    """Report survey completion per survey and participant, and recently missed surveys.

    Deliveries come from the survey schedules of the study settings (saved at the folder's root
    by `mano sync`), from each participant's registration until --as-of; opened and submitted
    from the phones' survey_timings and survey_answers files (.csv, .csv.zst, and .lock with the
    study passphrase). Without settings only what the phones recorded is counted.
    """
    s = settings(ctx)
    root = existing_folder(folder)
    moment = parse_when(as_of, "--as-of", end=True)
    if moment is not None and as_of is not None and len(as_of.strip()) == 10:
        moment += timedelta(seconds=1)  # a bare date counts that whole day
    pids = split_values(participant)
    key = _key_if_locked(s, root, study)

    from mano_files import survey_report

    result = survey_report(
        root,
        settings=settings_file,
        key=key,
        as_of=moment,
        days=days,
        participants=pids,
    )
    from mano_cli.report import _write

    if csv_file is not None:
        _write(result.to_csv, csv_file)
    if html_file is not None:
        _write(result.to_html, html_file)
    if json_output or s.json:
        write_text(result.to_json(indent=2) + "\n", None)
        return
    _print(s, result)
    for label, path in (("CSV", csv_file), ("HTML", html_file)):
        if path is not None and not s.quiet:
            s.err.print(f"{label} written to {path}", markup=False)


def _key_if_locked(s: Settings, root: Path, study: str | None) -> str | None:
    from mano_files import iter_data_files

    locked = any(
        dp.form in ("lock", "zst.lock")
        for _p, dp in iter_data_files(root, streams=["survey_timings", "survey_answers"])
    )
    if not locked:
        return None
    from mano_cli.tree import _passphrase

    return _passphrase(s, root, study, new=False)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _print(s: Settings, result: SurveyReport) -> None:
    if not result.rows:
        s.err.print(f"no survey data in {result.root}", markup=False)
        return
    rows: list[tuple[Any, ...]] = []
    for r in result.rows:
        worst = max(r.questions, key=lambda q: q.share_missing or 0.0, default=None)
        rows.append(
            (
                r.survey_name,
                r.participant,
                "–" if r.deliveries is None else r.deliveries,
                r.opened,
                r.submitted,
                _pct(r.completion),
                "–" if r.median_minutes_to_submit is None else f"{r.median_minutes_to_submit:g}",
                ""
                if worst is None or not worst.missing
                else f"{(worst.text or worst.question_id)[:30]} {_pct(worst.share_missing)}",
            )
        )
    table(
        s,
        ["survey", "participant", "delivered", "opened", "submitted", "completion",
         "min to submit", "most skipped question"],
        rows,
    )  # fmt: skip
    by_pid: dict[str, list[str]] = {}
    for m in result.missed:
        by_pid.setdefault(m.participant, []).append(
            f"{m.survey_name} {m.delivered.strftime('%m-%d %H:%M')}"
            + ("" if m.opened else " (never opened)")
        )
    s.out.print(f"\nMissed in the last {result.days} days:", markup=False)
    if by_pid:
        table(s, ["participant", "missed", "surveys (delivered, UTC)"],
              [(pid, len(v), "; ".join(v)) for pid, v in sorted(by_pid.items())])  # fmt: skip
    else:
        s.out.print("  none", markup=False)
    if not s.quiet:
        note = (
            "deliveries from the study settings"
            if result.schedule_known
            else "no settings file: deliveries unknown (run `mano sync` or give --settings)"
        )
        s.err.print(
            f"{len(result.rows)} survey × participant rows, as of "
            f"{result.as_of.strftime('%Y-%m-%d %H:%M')} UTC; {note}"
            + (
                f"; {len(result.duplicates)} files in two forms read once"
                if result.duplicates
                else ""
            ),
            markup=False,
        )
