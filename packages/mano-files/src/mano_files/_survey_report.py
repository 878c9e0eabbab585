"""Survey completion per survey and participant, read from a study tree (``mano report surveys``).

What study staff check every morning: per questionnaire how many deliveries were opened and
submitted and how much of each is missing, and per participant which questionnaires were missed
lately. The numbers come from the phones' own records:

- ``survey_timings`` (every form: ``.csv``, ``.csv.zst``, locked with the passphrase): Android
  writes ``Survey first rendered and displayed to user`` when a survey opens, a row per answer and
  ``User hit submit``; iOS writes ``notified``, ``present``/``changed`` per question,
  ``unpresent`` when a survey is dismissed unfinished and ``submitted``.
- ``survey_answers``: one file per submission, ``NO_ANSWER_SELECTED`` for a skipped question.
- The study's side inputs that ``mano sync`` saves at the folder's root: the settings export
  (surveys, their schedules, the time zone), the intervention dates (relative schedules) and the
  survey history (which survey id is which survey). With them, deliveries are the scheduled times
  from the participant's registration (the ``identifiers`` file) to ``as_of``; without a
  schedule only what the phone recorded is counted and deliveries are unknown.

A session belongs to the latest delivery before it opened (before the next delivery of the same
survey). Times to submit are measured from the delivery (from the opening when unscheduled).
"""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from mano_files._coverage import write_text_atomic
from mano_files._crypto import LockKey
from mano_files._datafile import read_data_file
from mano_files._errors import InvalidOption
from mano_files._paths import DataPath
from mano_files._tree import iter_data_files

__all__ = [
    "MissedSurvey",
    "QuestionStat",
    "SurveyInstance",
    "SurveyReport",
    "SurveyStats",
    "find_side_inputs",
    "survey_report",
]

NO_ANSWER = "NO_ANSWER_SELECTED"
_MISSING = frozenset({"", NO_ANSWER, "NOT_PRESENTED", "[]"})
_ANDROID_OPEN = "Survey first rendered and displayed to user"
_ANDROID_SUBMIT = "User hit submit"
_ANSWERS_MATCH = timedelta(minutes=5)
_SIDE_SUFFIXES = {
    "settings": "_surveys_and_settings.json",
    "interventions": "_intervention_data.json",
    "survey_history": "_surveys_history_data.json",
}


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurveyInstance:
    """One delivery of a survey to a participant (or a session outside any delivery).

    Attributes:
        participant: Patient id.
        survey_id: Survey object id.
        delivered: Scheduled delivery time (UTC), or None for an unscheduled session.
        opened: When the survey was first shown, or None.
        submitted: When it was submitted, or None.
        answers: Final answer per question id (submitted instances only).
    """

    participant: str
    survey_id: str
    delivered: datetime | None
    opened: datetime | None
    submitted: datetime | None
    answers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuestionStat:
    """How often a question was left unanswered in submitted surveys."""

    question_id: str
    text: str
    submitted: int
    missing: int

    @property
    def share_missing(self) -> float | None:
        """Missing answers / submitted surveys (None without submissions)."""
        return self.missing / self.submitted if self.submitted else None


@dataclass(frozen=True, slots=True)
class SurveyStats:
    """One survey × participant.

    Attributes:
        deliveries: Scheduled deliveries up to ``as_of`` (None when no schedule is known).
        opened: Deliveries opened (sessions when unscheduled).
        submitted: Deliveries submitted (sessions when unscheduled).
        unscheduled: Sessions that belong to no delivery (opened before the first one, or no
            schedule known).
        median_minutes_to_submit: From delivery to submission (from opening when unscheduled).
        questions: Missing answers per question of the survey.
    """

    survey_id: str
    survey_name: str
    participant: str
    deliveries: int | None
    opened: int
    submitted: int
    unscheduled: int
    median_minutes_to_submit: float | None
    questions: tuple[QuestionStat, ...]

    @property
    def completion(self) -> float | None:
        """Submitted / delivered (None when deliveries are unknown or zero)."""
        return self.submitted / self.deliveries if self.deliveries else None


@dataclass(frozen=True, slots=True)
class MissedSurvey:
    """A delivery in the last days that was not submitted."""

    participant: str
    survey_id: str
    survey_name: str
    delivered: datetime
    opened: bool


@dataclass(frozen=True)
class SurveyReport:
    """The result of :func:`survey_report`.

    Attributes:
        root: The study folder.
        as_of: Deliveries are counted up to this time (UTC).
        days: The window of :attr:`missed` in days before ``as_of``.
        schedule_known: Whether a settings export gave the schedules.
        time_zone: The study's time zone name used for schedules.
        surveys: Survey id -> name.
        rows: One entry per survey × participant, sorted by survey name then participant.
        instances: Every delivery and session found.
        missed: Deliveries in the last ``days`` days not submitted, per participant and time.
        duplicates: Data files present in two forms (e.g. ``X.csv`` and ``X.csv.zst``); only one
            copy was read.
    """

    root: Path
    as_of: datetime
    days: int
    schedule_known: bool
    time_zone: str
    surveys: Mapping[str, str]
    rows: tuple[SurveyStats, ...]
    instances: tuple[SurveyInstance, ...]
    missed: tuple[MissedSurvey, ...]
    duplicates: tuple[str, ...] = ()

    def questions(self, survey_id: str) -> tuple[QuestionStat, ...]:
        """Missing answers per question of one survey, over every participant."""
        totals: dict[str, list[Any]] = {}
        for row in self.rows:
            if row.survey_id != survey_id:
                continue
            for q in row.questions:
                entry = totals.setdefault(q.question_id, [q.text, 0, 0])
                entry[1] += q.submitted
                entry[2] += q.missing
        return tuple(QuestionStat(qid, t, s, m) for qid, (t, s, m) in totals.items())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "root": str(self.root),
            "as_of": _iso(self.as_of),
            "days": self.days,
            "schedule_known": self.schedule_known,
            "time_zone": self.time_zone,
            "surveys": dict(self.surveys),
            "duplicates": list(self.duplicates),
            "rows": [
                {
                    "survey_id": r.survey_id,
                    "survey": r.survey_name,
                    "participant": r.participant,
                    "deliveries": r.deliveries,
                    "opened": r.opened,
                    "submitted": r.submitted,
                    "unscheduled": r.unscheduled,
                    "completion": r.completion,
                    "median_minutes_to_submit": r.median_minutes_to_submit,
                    "questions": [
                        {
                            "question_id": q.question_id,
                            "text": q.text,
                            "submitted": q.submitted,
                            "missing": q.missing,
                            "share_missing": q.share_missing,
                        }
                        for q in r.questions
                    ],
                }
                for r in self.rows
            ],
            "missed": [
                {
                    "participant": m.participant,
                    "survey_id": m.survey_id,
                    "survey": m.survey_name,
                    "delivered": _iso(m.delivered),
                    "opened": m.opened,
                }
                for m in self.missed
            ],
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """The report as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write one row per survey × participant × question (atomically); returns the path.

        Columns: ``survey_id,survey,participant,deliveries,opened,submitted,unscheduled,
        completion,median_minutes_to_submit,question_id,question,missing,share_missing``; the
        question columns are empty on a survey's summary row (written first).
        """
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(
            ["survey_id", "survey", "participant", "deliveries", "opened", "submitted",
             "unscheduled", "completion", "median_minutes_to_submit", "question_id",
             "question", "missing", "share_missing"]
        )  # fmt: skip
        for r in self.rows:
            head = [
                r.survey_id, r.survey_name, r.participant, _blank(r.deliveries), r.opened,
                r.submitted, r.unscheduled, _blank(r.completion),
                _blank(r.median_minutes_to_submit),
            ]  # fmt: skip
            writer.writerow([*head, "", "", "", ""])
            for q in r.questions:
                writer.writerow([*head, q.question_id, q.text, q.missing, _blank(q.share_missing)])
        return write_text_atomic(Path(path), buffer.getvalue())

    def to_html(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Write a self-contained HTML page with the survey section; returns the path."""
        from mano_files._report_html import render_surveys_page

        return write_text_atomic(Path(path), render_surveys_page(self, title=title))


def _blank(value: object) -> object:
    return "" if value is None else value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# -- inputs -----------------------------------------------------------------------------------


def find_side_inputs(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """The side-input JSON files ``mano sync`` saves at a study folder's root, by kind.

    A kind is found when exactly one file at the root ends with its suffix.
    """
    root = Path(folder)
    found: dict[str, Path] = {}
    try:
        names = [e.name for e in os.scandir(root) if e.is_file() and not e.name.startswith(".")]
    except OSError:
        return found
    for kind, suffix in _SIDE_SUFFIXES.items():
        hits = sorted(n for n in names if n.endswith(suffix))
        if len(hits) == 1:
            found[kind] = root / hits[0]
    return found


def _load(value: Any, what: str) -> Any:
    if value is None or isinstance(value, dict | list):
        return value
    path = Path(value)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidOption(f"cannot read the {what} file {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise InvalidOption(
            f"the {what} file {path} is not JSON; sync again to refresh it"
        ) from exc


def _zone(name: str) -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception as exc:
        raise InvalidOption(f"unknown study time zone {name!r} in the settings file") from exc


@dataclass
class _Survey:
    survey_id: str
    name: str
    questions: list[tuple[str, str]]  # (question id, text)
    schedule: dict[str, Any] | None


def _question_list(content: Any) -> list[tuple[str, str]]:
    out = []
    for q in content if isinstance(content, list) else ():
        if (
            isinstance(q, dict)
            and q.get("question_id")
            and q.get("question_type") != "info_text_box"
        ):
            out.append((str(q["question_id"]), str(q.get("question_text", ""))))
    return out


def _surveys(settings: Any, history: Any, seen: Mapping[str, set[str]]) -> dict[str, _Survey]:
    """Survey id -> what is known about it (names and schedules need the settings export)."""
    by_id: dict[str, _Survey] = {}
    if isinstance(history, dict):
        for sid, archives in history.items():
            latest = archives[-1] if isinstance(archives, list) and archives else {}
            content = latest.get("survey_json") if isinstance(latest, dict) else None
            questions = _question_list(content)
            if questions:
                by_id[str(sid)] = _Survey(str(sid), str(sid), questions, None)
    for sid, qids in seen.items():
        if sid not in by_id:
            by_id[sid] = _Survey(sid, sid, [(q, "") for q in sorted(qids)], None)
    exported = settings.get("surveys") if isinstance(settings, dict) else None
    for entry in exported if isinstance(exported, list) else ():
        if not isinstance(entry, dict) or entry.get("survey_type") != "tracking_survey":
            continue
        questions = _question_list(entry.get("content"))
        qids = {q for q, _ in questions}
        if not qids:
            continue
        # the export drops survey ids: match on question ids (all shared = the same survey)
        best = max(
            by_id.values(),
            key=lambda s: (len(qids & {q for q, _ in s.questions}), -len(s.questions)),
            default=None,
        )
        if best is None or not qids & {q for q, _ in best.questions}:
            continue
        best.name = str(entry.get("name") or best.survey_id)
        best.questions = questions
        best.schedule = {
            k: entry.get(k) for k in ("timings", "absolute_timings", "relative_timings")
        }
    return by_id


def _schedule_times(
    schedule: Mapping[str, Any],
    tz: tzinfo,
    lo: datetime,
    hi: datetime,
    intervention_dates: Mapping[str, date],
) -> list[datetime]:
    """UTC delivery times of ``schedule`` in ``[lo, hi)``."""
    first = lo.astimezone(tz).date()
    last = hi.astimezone(tz).date()
    out: set[datetime] = set()

    def at(d: date, seconds: int) -> None:
        when = (
            datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(seconds=seconds)
        ).astimezone(UTC)
        if lo <= when < hi:
            out.add(when)

    weekly = schedule.get("timings")
    if isinstance(weekly, list) and len(weekly) == 7:
        d = first
        while d <= last:
            for seconds in weekly[(d.weekday() + 1) % 7] or ():
                at(d, int(seconds))
            d += timedelta(days=1)
    for item in schedule.get("absolute_timings") or ():
        y, m, dd, seconds = (int(v) for v in item)
        at(date(y, m, dd), seconds)
    for item in schedule.get("relative_timings") or ():
        name, days_after, seconds = item
        base = intervention_dates.get(str(name))
        if base is not None:
            at(base + timedelta(days=int(days_after)), int(seconds))
    return sorted(out)


# -- reading the tree -------------------------------------------------------------------------


@dataclass
class _Session:
    opened: datetime | None
    submitted: datetime | None = None
    answers: dict[str, str] = field(default_factory=dict)
    closed: bool = False


def _ms(text: str) -> datetime:
    return datetime.fromtimestamp(int(text) / 1000, UTC)


def _read_rows(path: Path, key: LockKey | str | None) -> list[list[str]]:
    with read_data_file(path, key=key) as fh:
        text = fh.read().decode("utf-8", errors="replace")
    return [line.split(",") for line in text.splitlines() if line]


def _logical(dp: DataPath) -> str:
    name = dp.name
    for suffix in (".lock", ".zst"):
        name = name.removesuffix(suffix)
    return f"{dp.folder}/{name}"


def _timing_sessions(rows: list[dict[str, str]]) -> list[_Session]:
    """Sessions of one participant × survey from its timings rows (sorted by time)."""
    sessions: list[_Session] = []
    current: _Session | None = None
    for row in rows:
        t = _ms(row["timestamp"])
        qid = row.get("question id", "")
        event = row.get("event", "")
        answer = row.get("answer", "")
        if qid == _ANDROID_OPEN:
            current = _Session(opened=t)
            sessions.append(current)
        elif qid == _ANDROID_SUBMIT or event == "submitted":
            if current is None or current.closed:
                current = _Session(opened=None)
                sessions.append(current)
            current.submitted, current.closed = t, True
        elif event in ("notified", "expired") or event == "unpresent":
            if current is not None:
                current.closed = True
        elif qid:
            if current is None or current.closed:
                current = _Session(opened=t)
                sessions.append(current)
            if event == "changed" or (event == "" and answer):
                current.answers[qid] = answer
    return sessions


def survey_report(
    tree: str | os.PathLike[str],
    *,
    settings: Any = None,
    interventions: Any = None,
    history: Any = None,
    key: LockKey | str | None = None,
    as_of: datetime | None = None,
    days: int = 7,
    participants: Iterable[str] | None = None,
) -> SurveyReport:
    """Survey completion per survey and participant from a study folder.

    Args:
        tree: The study folder (``mano sync -o``).
        settings: The study settings export (dict or path); default: the file ``mano sync`` saved
            at the folder's root, if any.
        interventions: Intervention dates (dict or path; default: the saved file).
        history: Survey history (dict or path; default: the saved file).
        key: Passphrase or key for locked files (locked files are skipped without one).
        as_of: Count deliveries before this time (default: now).
        days: The window for :attr:`SurveyReport.missed`, in days before ``as_of``.
        participants: Only these participant folders.

    Raises:
        InvalidOption: Unreadable side-input files, a bad time zone or ``days`` < 1.
        LocalIOError: ``tree`` does not exist.
        WrongPassphrase: ``key`` does not open the locked files.
    """
    root = Path(tree)
    if days < 1:
        raise InvalidOption("days must be at least 1")
    found = find_side_inputs(root)
    settings = _load(settings if settings is not None else found.get("settings"), "settings")
    interventions = _load(
        interventions if interventions is not None else found.get("interventions"), "interventions"
    )
    history = _load(history if history is not None else found.get("survey_history"), "history")
    end = (as_of or datetime.now(UTC)).astimezone(UTC)
    tz_name = str(settings.get("study_time_zone") or "UTC") if isinstance(settings, dict) else "UTC"
    tz = _zone(tz_name)
    wanted = set(participants) if participants is not None else None

    timings: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    answer_files: dict[tuple[str, str], list[tuple[datetime, dict[str, str]]]] = defaultdict(list)
    registered: dict[str, datetime] = {}
    first_data: dict[str, datetime] = {}
    seen_forms: dict[str, str] = {}
    duplicates: list[str] = []
    for path, dp in iter_data_files(root):
        pid = dp.participant
        if wanted is not None and pid not in wanted:
            continue
        if dp.form in ("lock", "zst.lock") and key is None:
            continue
        first_data[pid] = min(first_data.get(pid, dp.time_bin), dp.time_bin)
        if dp.stream not in ("survey_timings", "survey_answers", "identifiers"):
            continue
        logical = _logical(dp)
        if logical in seen_forms:
            duplicates.append(f"{logical} ({seen_forms[logical]}, {dp.form})")
            continue
        seen_forms[logical] = dp.form
        rows = _read_rows(path, key)
        if not rows:
            continue
        header, body = rows[0], rows[1:]
        if dp.stream == "identifiers":
            for row in body:
                if row and row[0].isdigit():
                    when = _ms(row[0])
                    registered[pid] = min(registered.get(pid, when), when)
            continue
        sid = dp.survey_id or ""
        if dp.stream == "survey_answers":
            answers = {r[0]: r[-1] for r in body if len(r) >= len(header) and r[0]}
            answer_files[(pid, sid)].append((dp.time_bin, answers))
            continue
        for row in body:
            if len(row) < len(header) or not row[0].isdigit():
                continue
            record = dict(zip(header, row, strict=False))
            survey_id = record.get("survey id") or sid
            if survey_id and survey_id != "unknown_survey_id":
                timings[(pid, survey_id)].append(record)

    seen_questions: dict[str, set[str]] = defaultdict(set)
    for (_pid, sid), records in timings.items():
        for r in records:
            qid = r.get("question id", "")
            if qid and qid not in (_ANDROID_OPEN, _ANDROID_SUBMIT):
                seen_questions[sid].add(qid)
    for (_pid, sid), files in answer_files.items():
        for _t, answers in files:
            seen_questions[sid].update(answers)
    surveys = _surveys(settings, history, seen_questions)
    pids = sorted(set(first_data) | {p for p, _ in timings} | {p for p, _ in answer_files})

    rows_out: list[SurveyStats] = []
    instances: list[SurveyInstance] = []
    missed: list[MissedSurvey] = []
    since = end - timedelta(days=days)
    for survey in sorted(surveys.values(), key=lambda s: (s.name, s.survey_id)):
        sid = survey.survey_id
        for pid in pids:
            records = sorted(
                {tuple(sorted(r.items())): r for r in timings.get((pid, sid), [])}.values(),
                key=lambda r: int(r["timestamp"]),
            )
            sessions = _timing_sessions(records)
            _merge_answer_files(sessions, answer_files.get((pid, sid), []))
            start = registered.get(pid) or first_data.get(pid)
            scheduled: list[datetime] | None = None
            if survey.schedule is not None and start is not None:
                dates = _intervention_dates(interventions, pid, sid)
                scheduled = _schedule_times(survey.schedule, tz, start, end, dates)
            if scheduled is None and not sessions:
                continue
            mine = _assign(pid, sid, scheduled, sessions, end)
            if scheduled is not None and not scheduled and not sessions:
                continue
            instances.extend(mine)
            rows_out.append(_stats(survey, pid, scheduled, mine))
            for inst in mine:
                if (
                    inst.delivered is not None
                    and since <= inst.delivered < end
                    and not inst.submitted
                ):
                    missed.append(
                        MissedSurvey(pid, sid, survey.name, inst.delivered, inst.opened is not None)
                    )
    missed.sort(key=lambda m: (m.participant, m.delivered, m.survey_name))
    return SurveyReport(
        root=root,
        as_of=end,
        days=days,
        schedule_known=any(s.schedule is not None for s in surveys.values()),
        time_zone=tz_name,
        surveys={s.survey_id: s.name for s in surveys.values()},
        rows=tuple(rows_out),
        instances=tuple(instances),
        missed=tuple(missed),
        duplicates=tuple(duplicates),
    )


def _intervention_dates(interventions: Any, pid: str, sid: str) -> dict[str, date]:
    out: dict[str, date] = {}
    entry = interventions.get(pid) if isinstance(interventions, dict) else None
    per_survey = entry.get(sid) if isinstance(entry, dict) else None
    for name, value in (per_survey or {}).items():
        if isinstance(value, str):
            try:
                out[str(name)] = date.fromisoformat(value[:10])
            except ValueError:
                continue
    return out


def _merge_answer_files(
    sessions: list[_Session], files: list[tuple[datetime, dict[str, str]]]
) -> None:
    """Answers files are the final word on a submission's answers; unmatched ones are submissions."""
    for when, answers in sorted(files, key=lambda f: f[0]):
        match = None
        for s in sessions:
            if s.submitted is None or abs(s.submitted - when) > _ANSWERS_MATCH:
                continue
            if (
                match is None
                or match.submitted is None
                or abs(s.submitted - when) < abs(match.submitted - when)
            ):
                match = s
        if match is None:
            sessions.append(
                _Session(opened=None, submitted=when, answers=dict(answers), closed=True)
            )
        else:
            match.answers = dict(answers)
    sessions.sort(key=lambda s: s.opened or s.submitted or datetime.min.replace(tzinfo=UTC))


def _assign(
    pid: str,
    sid: str,
    scheduled: list[datetime] | None,
    sessions: list[_Session],
    end: datetime,
) -> list[SurveyInstance]:
    out: list[SurveyInstance] = []
    sessions = [s for s in sessions if (s.opened or s.submitted or end) < end]
    if not scheduled:
        for s in sessions:
            out.append(SurveyInstance(pid, sid, None, s.opened, s.submitted, _final(s)))
        return out
    windows = [*scheduled[1:], end]
    taken: set[int] = set()
    for delivered, until in zip(scheduled, windows, strict=True):
        opened = submitted = None
        answers: dict[str, str] = {}
        for i, s in enumerate(sessions):
            t = s.opened or s.submitted
            if t is None or not delivered <= t < until:
                continue
            taken.add(i)
            if s.opened is not None and opened is None:
                opened = s.opened
            if s.submitted is not None and submitted is None:
                submitted = s.submitted
                answers = _final(s)
                opened = opened or s.submitted
        out.append(SurveyInstance(pid, sid, delivered, opened, submitted, answers))
    for i, s in enumerate(sessions):
        if i not in taken:
            out.append(SurveyInstance(pid, sid, None, s.opened, s.submitted, _final(s)))
    return out


def _final(session: _Session) -> dict[str, str]:
    return dict(session.answers) if session.submitted is not None else {}


def _stats(
    survey: _Survey, pid: str, scheduled: list[datetime] | None, mine: list[SurveyInstance]
) -> SurveyStats:
    counted = [i for i in mine if i.delivered is not None] if scheduled is not None else mine
    unscheduled = [i for i in mine if i.delivered is None] if scheduled is not None else mine
    submitted = [i for i in counted if i.submitted is not None]
    waits = [
        ((i.submitted - (i.delivered or i.opened or i.submitted)).total_seconds() / 60)
        for i in submitted
        if i.submitted is not None
    ]
    answered = [i for i in mine if i.submitted is not None]
    questions = tuple(
        QuestionStat(
            question_id=qid,
            text=text,
            submitted=len(answered),
            missing=sum(1 for i in answered if i.answers.get(qid, "") in _MISSING),
        )
        for qid, text in survey.questions
    )
    return SurveyStats(
        survey_id=survey.survey_id,
        survey_name=survey.name,
        participant=pid,
        deliveries=len(scheduled) if scheduled is not None else None,
        opened=sum(1 for i in counted if i.opened is not None),
        submitted=len(submitted),
        unscheduled=len(unscheduled) if scheduled is not None else 0,
        median_minutes_to_submit=round(statistics.median(waits), 1) if waits else None,
        questions=questions,
    )
