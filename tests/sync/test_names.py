"""Member-name safety checks and storage-path mapping."""

from __future__ import annotations

import pytest

from mano_sync import UnsafeMember, parse_member
from mano_sync._names import (
    parse_storage_key,
    registry_key_to_send,
    storage_key_from_member,
)

PID = "abcd1234"
SID = "587442edf7321c14da193487"
STUDY = "5873fe38644ad7557b168e43"


def test_parse_chunked_member_v2() -> None:
    m = parse_member(f"{PID}/gps/2020-10-05 02_00_00+00_00.csv.zst", participants={PID}, zst=True)
    assert m.name == f"{PID}/gps/2020-10-05 02_00_00+00_00.csv"
    assert (m.participant, m.stream, m.survey, m.collision, m.ext) == (PID, "gps", None, 0, "csv")
    assert m.time_bin == 1601863200
    assert m.base_name == m.name
    assert m.with_collision(2) == f"{PID}/gps/2020-10-05 02_00_00+00_00_2.csv"


def test_parse_survey_member_with_collision() -> None:
    m = parse_member(f"{PID}/survey_answers/{SID}/2020-10-05 02_13_20+00_00_2.csv")
    assert m.survey == SID
    assert m.collision == 2
    assert m.base_name == f"{PID}/survey_answers/{SID}/2020-10-05 02_13_20+00_00.csv"
    assert m.time_bin == 1601863200 + 13 * 60 + 20


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x", "'..'"),
        ("/abs/path.csv", "absolute"),
        ("C:\\x", "backslash"),
        ("C:/x/y.csv", "drive letter"),
        (f"{PID}/gps/../../../etc/passwd", "'..'"),
        (f"{PID}//gps/2020-10-05 02_00_00+00_00.csv", "empty"),
        ("other123/gps/2020-10-05 02_00_00+00_00.csv", "not requested"),
        (f"{PID}/notastream/2020-10-05 02_00_00+00_00.csv", "unknown data stream"),
        (f"{PID}/gps/evil.sh", "file name"),
        (f"{PID}/gps/sub/2020-10-05 02_00_00+00_00.csv", "sub-folder"),
        (f"{PID}/survey_answers/2020-10-05 02_00_00+00_00.csv", "survey folder"),
        (f"{PID}/survey_answers/../2020-10-05 02_00_00+00_00.csv", "'..'"),
        (f"{PID}/gps/2020-02-30 02_00_00+00_00.csv", "impossible date"),
        ("registry/x", "not <participant>"),
        (f"{PID}/gps/2020-10-05 02_00_00+00_00.csv\x00.zst", "NUL"),
    ],
)
def test_unsafe_names_are_refused(name: str, reason: str) -> None:
    with pytest.raises(UnsafeMember) as info:
        parse_member(name, participants={PID})
    assert reason in info.value.reason
    assert info.value.name == name


def test_v2_requires_zst_suffix() -> None:
    with pytest.raises(UnsafeMember, match="without .zst"):
        parse_member(f"{PID}/gps/2020-10-05 02_00_00+00_00.csv", zst=True)


def test_stream_filter() -> None:
    with pytest.raises(UnsafeMember, match="not requested"):
        parse_member(f"{PID}/wifi/2020-10-05 02_00_00+00_00.csv", streams={"gps"})


def test_storage_key_round_trip_chunked() -> None:
    m = parse_member(f"{PID}/survey_timings/{SID}/2020-10-05 02_00_00+00_00.csv")
    key = storage_key_from_member(m, STUDY)
    assert key == f"CHUNKED_DATA/{STUDY}/{PID}/survey_timings/{SID}/2020-10-05T02:00:00.csv"
    assert (
        registry_key_to_send(key) == f"{STUDY}/{PID}/survey_timings/{SID}/2020-10-05T02:00:00.csv"
    )
    slot = parse_storage_key(key)
    assert slot is not None
    assert (slot.participant, slot.stream, slot.survey, slot.second, slot.chunked) == (
        PID,
        "survey_timings",
        SID,
        1601863200,
        True,
    )


def test_unchunked_storage_key() -> None:
    key = f"{STUDY}/{PID}/surveyAnswers/{SID}/1601864000123.csv"
    slot = parse_storage_key(key)
    assert slot is not None
    assert (slot.stream, slot.survey, slot.second, slot.chunked) == (
        "survey_answers",
        SID,
        1601864000,
        False,
    )
    assert registry_key_to_send(key) == key
    m = parse_member(f"{PID}/survey_answers/{SID}/2020-10-05 02_13_20+00_00.csv")
    assert storage_key_from_member(m, STUDY) is None
    amb = parse_storage_key(f"{STUDY}/{PID}/ambientAudio/1601864000123.mp4")
    assert amb is not None and amb.stream == "ambient_audio" and amb.survey is None


@pytest.mark.parametrize("key", ["", "x", "CHUNKED_DATA/a/b", f"{STUDY}/{PID}/gps/notatime.csv"])
def test_bad_storage_keys(key: str) -> None:
    assert parse_storage_key(key) is None
