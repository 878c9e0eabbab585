"""Parsing Beiwe data paths (docs/beiwe-server.md#member-names) and the stream list (#streams)."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest

import mano_files
from mano_files import STREAMS, DataPath, InvalidDataPath, form_of, parse_data_path
from mano_files._paths import data_folder_stream, data_name_form

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "real-get-data-v1-response.zip"


def test_streams_are_the_19_of_the_spec() -> None:
    assert len(STREAMS) == 19
    assert len(set(STREAMS)) == 19
    assert {"accelerometer", "ambient_audio", "survey_timings", "wifi", "ios_log"} <= set(STREAMS)
    assert "image_survey" not in STREAMS


def test_parse_current_name() -> None:
    dp = parse_data_path("abcd1234/gps/2020-10-05 02_00_00+00_00.csv")
    assert dp == DataPath(
        participant="abcd1234",
        stream="gps",
        survey_id=None,
        name="2020-10-05 02_00_00+00_00.csv",
        time_bin=datetime(2020, 10, 5, 2, tzinfo=UTC),
        extension="csv",
        form="plain",
    )
    assert dp.relpath == "abcd1234/gps/2020-10-05 02_00_00+00_00.csv"
    assert dp.plain_relpath == dp.relpath


@pytest.mark.parametrize(
    ("suffix", "form"),
    [("", "plain"), (".zst", "zst"), (".lock", "lock"), (".zst.lock", "zst.lock")],
)
def test_forms(suffix: str, form: str) -> None:
    rel = f"abcd1234/survey_answers/587442edf7321c14da193487/2020-10-05 02_13_20+00_00.csv{suffix}"
    dp = parse_data_path(rel)
    assert dp.form == form
    assert dp.survey_id == "587442edf7321c14da193487"
    assert dp.plain_relpath == rel[: len(rel) - len(suffix)] if suffix else rel
    assert dp.relpath == rel
    assert dp.with_form("zst").relpath.endswith(".csv.zst")
    assert dp.with_form("plain").name == "2020-10-05 02_13_20+00_00.csv"
    assert form_of(rel) == form


def test_audio_microseconds_duplicates_and_T_separator() -> None:
    dp = parse_data_path(
        "abcd1234/audio_recordings/587442edf7321c14da193487/2018-04-27 19_39_48.384000+00_00_2.wav.zst"
    )
    assert dp.time_bin == datetime(2018, 4, 27, 19, 39, 48, 384000, tzinfo=UTC)
    assert dp.duplicate == 2
    assert dp.extension == "wav"
    assert dp.is_audio
    hashes_key = parse_data_path("abcd1234/gps/2020-10-05T02_00_00+00_00.csv")
    assert hashes_key.time_bin == datetime(2020, 10, 5, 2, tzinfo=UTC)
    amb = parse_data_path("abcd1234/ambient_audio/2020-10-05 02_00_01+00_00.mp4")
    assert amb.survey_id is None and amb.extension == "mp4"


def test_absolute_and_pathlib_paths_use_the_tail() -> None:
    dp = parse_data_path(Path("/data/study/abcd1234/wifi/2020-10-05 02_00_00+00_00.csv.zst"))
    assert dp.relpath == "abcd1234/wifi/2020-10-05 02_00_00+00_00.csv.zst"
    assert (
        parse_data_path(PurePosixPath("x/abcd1234/wifi/2020-10-05 02_00_00+00_00.csv")).stream
        == "wifi"
    )


def test_real_2018_fixture_names_parse() -> None:
    with zipfile.ZipFile(FIXTURE) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/") and n != "registry"]
    assert len(names) == 30
    parsed = [parse_data_path(n) for n in names]
    assert {p.stream for p in parsed} == {"gps", "identifiers"}
    assert all(p.participant == "6y6s1w4g" for p in parsed)
    assert min(p.time_bin for p in parsed) == datetime(2018, 6, 15, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("gps/2020-10-05 02_00_00+00_00.csv", "not a Beiwe data file path"),
        ("abcd1234/notastream/2020-10-05 02_00_00+00_00.csv", "19 data streams"),
        ("abcd1234/gps/notes.txt", "is not a Beiwe data file name"),
        ("abcd1234/gps/2020-10-05 02_00_00+00_00.wav", "gps files are .csv"),
        ("abcd1234/gps/2020-13-05 02_00_00+00_00.csv", "valid date"),
        ("abcd1234/gps/2021-02-29 02_00_00+00_00.csv", "valid date"),
        ("abcd1234/gps/0000-10-05 02_00_00+00_00.csv", "valid date"),
        ("abcd1234/gps/2020-10-05 24_00_00+00_00.csv", "valid date"),
        ("abcd1234/gps/2020-10-05 23_60_00+00_00.csv", "valid date"),
        ("abcd1234/gps/2020-10-05 23_59_60+00_00.csv", "valid date"),
        ("abcd1234/gps/2020-10-05 02_00_00+00_00.zst", "no data extension"),
        (".hidden/gps/2020-10-05 02_00_00+00_00.csv", "participant id"),
    ],
)
def test_invalid_paths_have_clear_messages(path: str, fragment: str) -> None:
    with pytest.raises(InvalidDataPath, match=fragment) as info:
        parse_data_path(path)
    assert isinstance(info.value, ValueError)


def test_all_names_are_exported() -> None:
    for name in mano_files.__all__:
        assert hasattr(mano_files, name), name
    public = {n for n in dir(mano_files) if not n.startswith("_")} - {"logging"}
    assert public - {"__version__"} <= set(mano_files.__all__)


_NAMES = [
    "2020-10-05 02_00_00+00_00.csv",
    "2020-10-05 02_00_00+00_00.csv.zst",
    "2020-10-05 02_00_00+00_00.csv.lock",
    "2020-10-05 02_00_00+00_00.csv.zst.lock",
    "2020-10-05T02_00_00+00_00.CSV",
    "2018-06-16 11_00_00.csv",
    "2020-10-05 02_00_00.123+00_00_2.csv",
    "2020-10-05 02_00_00+00_00.wav",
    "2020-10-05 02_00_00+00_00.mp4.zst",
    "2020-10-05 02_00_00+00_00.zst",
    "2020-10-05 02_00_00+00_00.csv.lock.zst",
    "2024-02-29 23_59_59+00_00.csv",
    "2023-02-29 23_59_59+00_00.csv",
    "2020-04-31 00_00_00+00_00.csv",
    "0000-01-01 00_00_00+00_00.csv",
    "2020-10-05 24_00_00+00_00.csv",
    "2020-10-05 00_60_00+00_00.csv",
    "2020-10-05 00_00_60+00_00.csv",
    "2020-10-05 02_00_00+00_00",
    "notes.txt",
    "٢٠٢٠-١٠-٠٥ ٠٢_٠٠_٠٠+00_00.csv",
]


@pytest.mark.parametrize(
    "folder",
    [
        "abcd1234/gps",
        "/data/study/abcd1234/power_state",
        "abcd1234/audio_recordings/5f1e2d3c4b5a69788796a5b4",
        "abcd1234/survey_answers/abc_def",
        "abcd1234/survey_answers",
        "abcd1234/audio_recordings",
        "abcd1234/ambient_audio",
        "abcd1234/notastream",
        "gps",
        ".hidden/gps",
        "abcd1234/survey_timings/bad id",
    ],
)
def test_the_tree_tools_name_check_agrees_with_parse_data_path(folder: str) -> None:
    """The tree tools check each folder once and each name against its stream: the same
    verdict (and form) as parsing every path whole."""
    stream = data_folder_stream(folder)
    for name in _NAMES:
        try:
            expected: str | None = parse_data_path(f"{folder}/{name}").form
        except InvalidDataPath:
            expected = None
        got = data_name_form(name, stream) if stream is not None else None
        assert got == expected, (folder, name)
