"""Survey deliveries and what the phone records about them (the emulator's ground truth).

Deliveries follow each tracking survey's schedule (weekly, relative to an intervention, absolute)
in the study's time zone. For every delivery the participant either never opens the survey, opens
it and gives up, or answers and submits it. The session is written the way each app writes it:

* Android: ``Survey first rendered and displayed to user`` (in the question id column) when the
  survey opens, one row per answer given or changed, ``User hit submit`` on submit; questions the
  participant skips have no row. The answers file marks them ``NO_ANSWER_SELECTED``.
* iOS: ``notified`` at delivery, then per question a ``present`` row when its card shows and a
  ``changed`` row per answer, ``unpresent`` when an unfinished survey is dismissed, ``submitted``
  on submit; the answer column holds ``NO_ANSWER_SELECTED`` for an untouched question.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

__all__ = [
    "NO_ANSWER",
    "Delivery",
    "answer_options",
    "plan_deliveries",
    "question_type_name",
]

NO_ANSWER = "NO_ANSWER_SELECTED"
ANDROID_RENDERED = "Survey first rendered and displayed to user"
ANDROID_SUBMIT = "User hit submit"
_ANDROID_TYPES = {
    "radio_button": "Radio Button Question",
    "checkbox": "Checkbox Question",
    "slider": "Slider Question",
    "free_response": "Open Response Question",
    "info_text_box": "Info Text Box",
}
_FREE_TEXT = ("fine", "tired", "busy day", "ok", "good", "went for a walk")


def question_type_name(question: dict[str, object], os_type: str) -> str:
    """The question type as each app writes it (Android: display names; iOS: the raw type)."""
    kind = str(question.get("question_type", ""))
    return _ANDROID_TYPES.get(kind, kind) if os_type == "ANDROID" else kind


def answer_options(question: dict[str, object]) -> str:
    """The ``question answer options`` column (commas become semicolons, as the apps do)."""
    answers = question.get("answers")
    if isinstance(answers, list):
        return "[" + "; ".join(str(a.get("text", "")) for a in answers if isinstance(a, dict)) + "]"
    if question.get("question_type") == "slider":
        return f"min = {question.get('min', 0)}; max = {question.get('max', 10)}"
    if question.get("question_type") == "free_response":
        return f"Text-field input type = {question.get('text_field_type', '')}"
    return ""


def _answer(question: dict[str, object], rng: random.Random) -> str:
    kind = question.get("question_type")
    answers = question.get("answers")
    if kind == "radio_button" and isinstance(answers, list):
        return str(rng.choice(answers)["text"])
    if kind == "checkbox" and isinstance(answers, list):
        picked = rng.sample(answers, rng.randrange(1, min(3, len(answers)) + 1))
        return "[" + "; ".join(str(a["text"]) for a in picked) + "]"
    if kind == "slider":
        lo, hi = question.get("min", 0), question.get("max", 10)
        return str(rng.randrange(int(lo) if isinstance(lo, int) else 0,
                                 (int(hi) if isinstance(hi, int) else 10) + 1))  # fmt: skip
    return rng.choice(_FREE_TEXT)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One scheduled delivery of a survey to a participant and what came of it.

    Attributes:
        participant: Patient id.
        survey_id: Survey object id.
        delivered_ms: Notification time (epoch ms).
        opened_ms: When the survey was first shown, or None (never opened).
        submitted_ms: When it was submitted, or None (never submitted).
        answers: ``(question id, final answer)`` per question, ``""`` for a question left
            unanswered (the answers file then says ``NO_ANSWER_SELECTED``).
        rows: ``(epoch ms, survey_timings values without the survey id)`` as the phone wrote
            them: ``question id, question type, question text, options, answer[, event]``.
    """

    participant: str
    survey_id: str
    delivered_ms: int
    opened_ms: int | None
    submitted_ms: int | None
    answers: tuple[tuple[str, str], ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]

    @property
    def opened(self) -> bool:
        """True when the participant opened the survey."""
        return self.opened_ms is not None

    @property
    def submitted(self) -> bool:
        """True when the participant submitted the survey."""
        return self.submitted_ms is not None


def scheduled_times(
    schedule: dict[str, object],
    tz: tzinfo,
    first: date,
    last: date,
    intervention_date: date | None,
) -> list[int]:
    """Epoch ms of every delivery of ``schedule`` on local dates ``first..last``."""
    out: set[int] = set()

    def local_ms(d: date, seconds: int) -> int:
        midnight = datetime(d.year, d.month, d.day, tzinfo=tz)
        return int((midnight + timedelta(seconds=seconds)).timestamp() * 1000)

    weekly = schedule.get("timings")
    if isinstance(weekly, list) and weekly:
        d = first
        while d <= last:
            slots = weekly[(d.weekday() + 1) % 7]  # Sunday first
            for seconds in slots if isinstance(slots, list) else ():
                out.add(local_ms(d, int(seconds)))
            d += timedelta(days=1)
    for item in schedule.get("absolute_timings") or ():  # type: ignore[attr-defined]
        y, m, dd, seconds = (int(v) for v in item)
        when = date(y, m, dd)
        if first <= when <= last:
            out.add(local_ms(when, seconds))
    if intervention_date is not None:
        for item in schedule.get("relative_timings") or ():  # type: ignore[attr-defined]
            _name, days_after, seconds = item
            when = intervention_date + timedelta(days=int(days_after))
            if first <= when <= last:
                out.add(local_ms(when, int(seconds)))
    return sorted(out)


def _session(
    pid: str,
    survey_id: str,
    questions: Sequence[dict[str, object]],
    os_type: str,
    delivered: int,
    rng: random.Random,
    phone_off: bool,
) -> Delivery:
    android = os_type == "ANDROID"
    rows: list[tuple[int, tuple[str, ...]]] = []
    if not android:
        rows.append((delivered, ("", "", "", "", "", "notified")))
    roll = rng.random()
    if phone_off or roll < 0.15:
        return Delivery(pid, survey_id, delivered, None, None, (), tuple(rows))
    gives_up = roll < 0.25
    opened = delivered + int(rng.lognormvariate(7.0, 1.0) * 1000) + 30_000
    opened = min(opened, delivered + 3 * 3_600_000)
    t = opened
    if android:
        rows.append((t, (ANDROID_RENDERED, "", "", "", "")))
    stop_at = rng.randrange(len(questions)) if gives_up else len(questions)
    answers: list[tuple[str, str]] = []
    for index, q in enumerate(questions):
        if index >= stop_at:
            break
        qid = str(q.get("question_id", ""))
        meta = (qid, question_type_name(q, os_type), str(q.get("question_text", "")),
                answer_options(q))  # fmt: skip
        # iOS shows the first question's card the moment the survey opens
        t += rng.randrange(800, 3_000) if index or android else 0
        if not android:
            rows.append((t, (*meta, "", "present")))
        skipped = rng.random() < 0.12
        final = ""
        if not skipped:
            for _ in range(2 if rng.random() < 0.15 else 1):  # sometimes the answer is changed
                t += rng.randrange(2_000, 20_000)
                final = _answer(q, rng)
                rows.append((t, (*meta, final) if android else (*meta, final, "changed")))
        t += rng.randrange(500, 4_000)
        answers.append((qid, final))
    if gives_up:
        if not android and questions:
            q = questions[min(stop_at, len(questions) - 1)]
            meta = (str(q.get("question_id", "")), question_type_name(q, os_type),
                    str(q.get("question_text", "")), answer_options(q))  # fmt: skip
            # the card of the question given up on was shown, then the survey dismissed
            t += rng.randrange(800, 3_000) if stop_at else 0
            rows.append((t, (*meta, "", "present")))
            rows.append((t + rng.randrange(1_000, 9_000), (*meta, NO_ANSWER, "unpresent")))
        return Delivery(pid, survey_id, delivered, opened, None, (), tuple(rows))
    t += rng.randrange(1_000, 6_000)
    rows.append(
        (t, (ANDROID_SUBMIT, "", "", "", "") if android else ("", "", "", "", "", "submitted"))
    )
    return Delivery(pid, survey_id, delivered, opened, t, tuple(answers), tuple(rows))


def plan_deliveries(
    *,
    seed: int,
    pid: str,
    os_type: str,
    surveys: Iterable[tuple[str, Sequence[dict[str, object]], dict[str, object]]],
    tz: tzinfo,
    registered: datetime,
    end: datetime,
    intervention_date: date | None,
    phone_off_days: set[date],
) -> list[Delivery]:
    """Every delivery of every ``(survey id, questions, schedule)`` in ``[registered, end)``.

    A delivery on a local date in ``phone_off_days`` is never opened (the phone was off).
    """
    first = registered.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    lo, hi = int(registered.timestamp() * 1000), int(end.timestamp() * 1000)
    out: list[Delivery] = []
    for survey_id, questions, schedule in surveys:
        for when in scheduled_times(schedule, tz, first, last, intervention_date):
            if not lo <= when < hi:
                continue
            rng = random.Random(f"{seed}:delivery:{pid}:{survey_id}:{when}")
            off = datetime.fromtimestamp(when / 1000, tz).date() in phone_off_days
            delivery = _session(pid, survey_id, questions, os_type, when, rng, off)
            if delivery.rows and delivery.rows[-1][0] >= hi:
                delivery = Delivery(pid, survey_id, when, None, None, (), delivery.rows[:1])
                if os_type == "ANDROID":
                    delivery = Delivery(pid, survey_id, when, None, None, (), ())
            out.append(delivery)
    out.sort(key=lambda d: (d.delivered_ms, d.survey_id))
    return out
