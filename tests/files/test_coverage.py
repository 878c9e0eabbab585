"""coverage(): hours, gaps and missing days of a tree built with files at known hours."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mano_files import CoverageReport, coverage

SUFFIX = {"plain": "", "zst": ".zst", "lock": ".lock", "zst.lock": ".zst.lock"}
SURVEY = "587442edf7321c14da193487"


def place(
    root: Path,
    pid: str,
    stream: str,
    when: datetime,
    *,
    form: str = "plain",
    ext: str = "csv",
    survey: str | None = None,
    size: int = 10,
) -> Path:
    """Write one data file named like a get-data member at ``when`` (UTC)."""
    folder = root / pid / stream
    if survey:
        folder = folder / survey
    folder.mkdir(parents=True, exist_ok=True)
    name = when.strftime("%Y-%m-%d %H_%M_%S") + f"+00_00.{ext}{SUFFIX[form]}"
    path = folder / name
    path.write_bytes(b"x" * size)
    return path


def hour(day: int, h: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 3, day, h, minute, second, tzinfo=UTC)


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """Two participants with deliberately placed gaps.

    aaaaaaaa (Android: wifi, calls): 2024-03-01..2024-03-05
      gps: every hour of 03-01 (24 h, alternating forms), 03-02 none, 03-03 00..05,
           03-04 none, 03-05 hour 10 only.
      accelerometer: 03-01 hours 0..11 (12 h, two files in hour 3).
      wifi: 03-03 hour 2.  calls: 03-05 hour 10.
      survey_answers: 03-01 02:13:20 and 02:40:00 (same hour), 03-03 23:59:59.
    bbbbbbbb (iOS: devicemotion): 03-02 hours 0..23 gps and devicemotion 0..5.
    """
    root = tmp_path / "study"
    forms = ["plain", "zst", "lock", "zst.lock"]
    a = "aaaaaaaa"
    for h in range(24):
        place(root, a, "gps", hour(1, h), form=forms[h % 4], size=100)
    for h in range(6):
        place(root, a, "gps", hour(3, h), size=100)
    place(root, a, "gps", hour(5, 10), size=100)
    for h in range(12):
        place(root, a, "accelerometer", hour(1, h), size=7, form="zst")
    place(root, a, "accelerometer", hour(1, 3), size=7, ext="csv", form="plain")  # same hour
    place(root, a, "wifi", hour(3, 2), size=5)
    place(root, a, "calls", hour(5, 10), size=3)
    place(root, a, "survey_answers", hour(1, 2, 13, 20), survey=SURVEY, size=11)
    place(root, a, "survey_answers", hour(1, 2, 40, 0), survey=SURVEY, size=11, form="lock")
    place(root, a, "survey_answers", hour(3, 23, 59, 59), survey=SURVEY, size=11)
    b = "bbbbbbbb"
    for h in range(24):
        place(root, b, "gps", hour(2, h), size=50)
    for h in range(6):
        place(root, b, "devicemotion", hour(2, h), size=20)
    # Things that are not data and must be ignored or reported, never counted.
    (root / ".mano-sync.sqlite").write_bytes(b"db")
    (root / a / "gps" / ".2024-03-01 00_00_00+00_00.csv.abc.mano-tmp").write_bytes(b"t" * 99)
    (root / a / ".hidden").mkdir()
    (root / a / ".hidden" / "2024-03-09 00_00_00+00_00.csv").write_bytes(b"h")
    return root


def test_participant_summary_equals_truth(study: Path) -> None:
    report = coverage(study)
    a, b = report.participants
    assert a.participant == "aaaaaaaa" and b.participant == "bbbbbbbb"

    assert a.os == "android"
    assert a.first_day == date(2024, 3, 1) and a.last_day == date(2024, 3, 5)
    assert a.first_hour == hour(1, 0) and a.last_hour == hour(5, 10)
    assert a.missing_days == (date(2024, 3, 2), date(2024, 3, 4))
    assert a.days_with_data == 3
    # Active: 03-01 00:00 .. 03-05 10:00 = 4*24 + 11 hours.
    assert a.active_hours == 107
    # Any-data hours: 24 (03-01) + 6 gps (03-03 00..05) + wifi 03-03 02 (dup) + survey 23 + 1.
    assert a.hours_with_data == 24 + 6 + 1 + 1
    # Longest gap: 03-04 00:00 .. 03-05 09:00 ... but 03-03 06..22 is 17 h, 03-03 23 has data;
    # 03-04 00 .. 03-05 09 = 34 h; 03-02 00..23 = 24 h.
    assert a.longest_gap_hours == 34
    assert a.longest_gap_start == hour(4, 0)
    assert a.files == 24 + 6 + 1 + 13 + 1 + 1 + 3
    assert a.bytes == 31 * 100 + 13 * 7 + 5 + 3 + 3 * 11

    assert b.os == "ios"
    assert b.first_day == b.last_day == date(2024, 3, 2)
    assert b.missing_days == ()
    assert b.active_hours == 24 and b.hours_with_data == 24
    assert b.longest_gap_hours == 0 and b.longest_gap_start is None


def test_stream_shares_and_expectations(study: Path) -> None:
    report = coverage(study)
    a, b = report.participants
    gps = a.stream("gps")
    assert gps is not None
    assert (gps.hours, gps.days, gps.files, gps.bytes) == (31, 3, 31, 3100)
    assert gps.expected and gps.expected_hours == 107
    assert gps.share == pytest.approx(31 / 107)
    assert gps.longest_gap_hours == 18 + 24 + 10  # 03-03 06:00 .. 03-05 09:00
    acc = a.stream("accelerometer")
    assert acc is not None and (acc.hours, acc.files) == (12, 13)
    # After 03-01 11:00 the accelerometer never comes back: trailing gap to 03-05 10:00.
    assert acc.longest_gap_hours == 107 - 12
    sa = a.stream("survey_answers")
    assert sa is not None and (sa.hours, sa.files, sa.kind) == (2, 3, "event")
    # Android participant: devicemotion (iOS-only) is not expected and not listed.
    assert a.stream("devicemotion") is None
    # iOS participant: wifi/calls (Android-only) not expected; survey_answers seen in the
    # study, so expected (share 0); accelerometer too.
    assert b.stream("wifi") is None and b.stream("calls") is None
    b_acc = b.stream("accelerometer")
    assert b_acc is not None and b_acc.expected and b_acc.share == 0.0
    assert b_acc.longest_gap_hours == 24
    b_dm = b.stream("devicemotion")
    assert b_dm is not None and b_dm.share == pytest.approx(6 / 24)
    # Score = mean share of expected sensor streams: gps 1.0, accelerometer 0, devicemotion .25
    assert b.score == pytest.approx((1.0 + 0.0 + 0.25) / 3)
    assert report.settings_known is False


def test_rows_are_dense_and_exact(study: Path) -> None:
    report = coverage(study)
    rows = {(r.participant, r.stream, r.day.isoformat()): r for r in report.rows}
    r = rows["aaaaaaaa", "gps", "2024-03-01"]
    assert (r.hours, r.files, r.bytes, r.expected) == (24, 24, 2400, True)
    assert rows["aaaaaaaa", "gps", "2024-03-02"].hours == 0
    assert rows["aaaaaaaa", "gps", "2024-03-02"].files == 0
    assert rows["aaaaaaaa", "gps", "2024-03-03"].hours == 6
    assert rows["aaaaaaaa", "gps", "2024-03-05"].hours == 1
    acc = rows["aaaaaaaa", "accelerometer", "2024-03-01"]
    assert (acc.hours, acc.files, acc.bytes) == (12, 13, 91)
    sa = rows["aaaaaaaa", "survey_answers", "2024-03-01"]
    assert (sa.hours, sa.files) == (1, 2)
    assert rows["aaaaaaaa", "survey_answers", "2024-03-03"].hours == 1
    # Five days for every listed stream of aaaaaaaa, one for bbbbbbbb.
    a_streams = {s.stream for s in report.participants[0].streams}
    assert a_streams == {"accelerometer", "calls", "gps", "survey_answers", "wifi"}
    assert sum(1 for r in report.rows if r.participant == "aaaaaaaa") == 5 * len(a_streams)
    b_streams = {s.stream for s in report.participants[1].streams}
    assert b_streams == {"accelerometer", "devicemotion", "gps", "survey_answers"}
    assert [r.day for r in report.rows if r.participant == "bbbbbbbb"] == [date(2024, 3, 2)] * 4


def test_forms_counted_without_opening_and_hidden_ignored(study: Path) -> None:
    report = coverage(study)
    assert report.files == 49 + 30
    # gps 03-01 cycles the four forms (6 each); accelerometer is zst except one; one survey locked.
    assert report.forms == {
        "plain": 6 + 6 + 1 + 1 + 1 + 1 + 2 + 30,
        "zst": 6 + 12,
        "lock": 6 + 1,
        "zst.lock": 6,
    }
    assert sum(report.forms.values()) == report.files
    assert report.ignored_count == 0  # only hidden things were stray


def test_settings_switch_streams_off_and_on(study: Path) -> None:
    settings = {
        "device_settings": {
            "gps": True,
            "accelerometer": False,
            "wifi": True,
            "calls": False,
            "gyro": True,
            "devicemotion": True,
        },
        "surveys": [{"survey_type": "tracking_survey"}],
    }
    report = coverage(study, settings=settings)
    a, b = report.participants
    assert report.settings_known
    acc = a.stream("accelerometer")
    assert acc is not None and not acc.expected and acc.share is None
    assert acc.note == "switched off in the study settings" and acc.hours == 12
    gyro = a.stream("gyro")
    assert gyro is not None and gyro.expected and gyro.hours == 0 and gyro.share == 0.0
    assert a.stream("audio_recordings") is None  # no audio survey
    assert b.stream("accelerometer") is None  # off and absent: not listed
    sa = b.stream("survey_answers")
    assert sa is not None and sa.expected
    rows = [r for r in report.rows if r.stream == "accelerometer" and r.participant == "aaaaaaaa"]
    assert rows and not any(r.expected for r in rows)

    # A StudySettings-like object works too, and so does a bare device_settings mapping.
    class Obj:
        device_settings = settings["device_settings"]
        surveys: list[object] = []

    assert coverage(study, settings=Obj()).participants[0].stream("survey_answers") is not None
    bare = coverage(study, settings=settings["device_settings"])
    assert bare.participants[0].stream("audio_recordings") is not None  # surveys unknown


def test_given_os_overrides_inference(study: Path) -> None:
    report = coverage(study, participant_os={"bbbbbbbb": "Android"})
    b = report.participants[1]
    assert b.os == "android"
    dm = b.stream("devicemotion")
    assert dm is not None and not dm.expected and "iOS-only" in dm.note
    wifi = b.stream("wifi")
    assert wifi is not None and wifi.expected and wifi.share == 0.0


def test_window_limits_counting(study: Path) -> None:
    report = coverage(study, start=date(2024, 3, 3), end=datetime(2024, 3, 3, 4, tzinfo=UTC))
    a = report.participants[0]
    assert a.first_hour == hour(3, 0) and a.last_hour == hour(3, 4)
    assert a.hours_with_data == 5 and a.missing_days == ()
    assert report.start == date(2024, 3, 3) and report.end == date(2024, 3, 3)
    b = report.participants[1]
    assert b.first_day is None and b.files == 0 and b.completeness is None
    assert report.worst_first()[0].participant == "bbbbbbbb"
    only = coverage(study, participants=["bbbbbbbb"])
    assert [p.participant for p in only.participants] == ["bbbbbbbb"]


def test_worst_first_order(study: Path) -> None:
    report = coverage(study)
    assert [p.participant for p in report.worst_first()] == ["aaaaaaaa", "bbbbbbbb"]


def test_stray_entries_reported_not_counted(tmp_path: Path) -> None:
    root = tmp_path / "s"
    place(root, "cccccccc", "gps", hour(1, 1))
    (root / "notes.txt").write_text("hi")
    (root / "cccccccc" / "gps" / "readme.md").write_text("hi")
    (root / "cccccccc" / "registry").write_text("{}")
    (root / "cccccccc" / "gps" / "2024-13-01 00_00_00+00_00.csv").write_text("bad month")
    (root / "cccccccc" / "gps" / "2024-03-01 25_00_00+00_00.csv").write_text("bad hour")
    (root / "emptyone").mkdir()
    report = coverage(root)
    assert report.files == 1
    assert report.ignored_count == 5
    assert set(report.ignored) == {
        "notes.txt",
        "cccccccc/gps/readme.md",
        "cccccccc/registry",
        "cccccccc/gps/2024-13-01 00_00_00+00_00.csv",
        "cccccccc/gps/2024-03-01 25_00_00+00_00.csv",
    }
    empty = report.participants[1]
    assert empty.participant == "emptyone" and empty.files == 0 and empty.first_day is None
    assert empty.score is None


def test_collision_suffix_and_microseconds_parse(tmp_path: Path) -> None:
    root = tmp_path / "s"
    folder = root / "dddddddd" / "audio_recordings" / SURVEY
    folder.mkdir(parents=True)
    (folder / "2024-03-01 02_14_02+00_00.wav").write_bytes(b"a")
    (folder / "2024-03-01 02_14_02+00_00_2.wav.zst").write_bytes(b"a")
    (folder / "2018-04-27 19_39_48.384000+00_00.mp4").write_bytes(b"a")
    report = coverage(root)
    assert report.files == 3 and report.ignored_count == 0
    assert report.participants[0].first_day == date(2018, 4, 27)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="study folder"):
        coverage(tmp_path / "missing")


def test_csv_and_json_content(study: Path, tmp_path: Path) -> None:
    report = coverage(study)
    out = report.to_csv(tmp_path / "cov.csv")
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["participant", "stream", "date", "hours", "files", "bytes", "expected"]
    assert ["aaaaaaaa", "accelerometer", "2024-03-01", "12", "13", "91", "1"] in rows
    assert ["aaaaaaaa", "gps", "2024-03-04", "0", "0", "0", "1"] in rows
    assert len(rows) == 1 + len(report.rows)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".mano-tmp")]

    data = json.loads(report.to_json())
    assert data["files"] == report.files
    a = data["participants"][0]
    assert a["missing_days"] == ["2024-03-02", "2024-03-04"]
    assert a["longest_gap_hours"] == 34
    assert a["longest_gap_start"] == "2024-03-04T00:00:00+00:00"
    assert len(data["rows"]) == len(report.rows)
    assert {
        "participant": "bbbbbbbb",
        "stream": "devicemotion",
        "date": "2024-03-02",
        "hours": 6,
        "files": 6,
        "bytes": 120,
        "expected": True,
    } in data["rows"]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_title = tag == "title"
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.links.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles.append(data)


def test_html_self_contained_escaped_and_has_heatmaps(study: Path, tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">&'
    place(study, hostile, "gps", hour(2, 5))
    report = coverage(study)
    path = report.to_html(tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert "<img" not in text and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;" in text
    assert "<script" not in text  # no script at all
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text
    parser = _Collect()
    parser.feed(text)
    parser.close()
    assert parser.links == []
    assert parser.tags.count("svg") == len(report.streams)
    # One cell per participant-day of the active period, each with a hover title.
    cells = sum(
        (p.last_day - p.first_day).days + 1
        for p in report.participants
        if p.first_day is not None and p.last_day is not None
    )
    assert parser.tags.count("rect") == cells * len(report.streams)
    assert "aaaaaaaa · accelerometer · 2024-03-01: 12 h, 13 files, 91 B" in parser.titles
    assert "aaaaaaaa · gps · 2024-03-02: 0 h, 0 files, 0 B" in parser.titles


def _truth_from_names(files: list[tuple[str, str, datetime]]) -> dict[tuple[str, str, date], int]:
    hours: dict[tuple[str, str, date], set[int]] = {}
    for pid, stream, when in files:
        hours.setdefault((pid, stream, when.date()), set()).add(when.hour)
    return {k: len(v) for k, v in hours.items()}


def test_random_tree_matches_brute_force(tmp_path: Path) -> None:
    import random

    rng = random.Random(7)
    root = tmp_path / "r"
    placed: list[tuple[str, str, datetime]] = []
    start = datetime(2023, 12, 30, tzinfo=UTC)
    for pid in ("p1111111", "p2222222", "p3333333"):
        for stream in ("gps", "accelerometer", "power_state"):
            for _ in range(rng.randint(20, 80)):
                when = start + timedelta(hours=rng.randint(0, 24 * 10), minutes=rng.randint(0, 59))
                when = when.replace(minute=0) if stream != "survey_answers" else when
                place(root, pid, stream, when, form=rng.choice(list(SUFFIX)))
                placed.append((pid, stream, when))
    report = coverage(root)
    truth = _truth_from_names(placed)
    got = {(r.participant, r.stream, r.day): r.hours for r in report.rows if r.hours}
    assert got == truth
    for p in report.participants:
        all_hours = sorted({int(w.timestamp()) // 3600 for q, _, w in placed if q == p.participant})
        gaps = [b - a - 1 for a, b in zip(all_hours, all_hours[1:], strict=False)]
        assert p.longest_gap_hours == max(gaps + [0])
        days = {w.date() for q, _, w in placed if q == p.participant}
        span = (max(days) - min(days)).days + 1
        expect_missing = [min(days) + timedelta(d) for d in range(span)]
        assert list(p.missing_days) == [d for d in expect_missing if d not in days]


def test_report_type(study: Path) -> None:
    assert isinstance(coverage(study), CoverageReport)
