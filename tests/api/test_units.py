"""Pure helpers: streams, time formatting, participant lists, registries, JSON streaming."""

from __future__ import annotations

import json
import random
import urllib.parse
from datetime import date, datetime, timedelta, timezone
from pathlib import PurePosixPath

import pytest

import mano_api
from mano_api import DataStream, DuplicateParticipant, InvalidArgument, InvalidDataStream
from mano_api._archive import is_safe_member_name
from mano_api._jsonstream import JSONStreamError, iter_json_array
from mano_api._params import (
    coerce_auth,
    encode_form,
    encode_registry,
    format_date,
    format_time_end,
    format_time_start,
    parse_participant_ids,
)
from mano_api._streams import parse_data_streams


def test_nineteen_streams_with_helpers() -> None:
    assert len(DataStream) == 19
    assert DataStream("gps") is DataStream.GPS and str(DataStream.GPS) == "gps"
    assert "gps" in {s.value for s in DataStream}
    unchunked = {s for s in DataStream if not s.is_chunked}
    assert unchunked == {
        DataStream.SURVEY_ANSWERS,
        DataStream.AUDIO_RECORDINGS,
        DataStream.AMBIENT_AUDIO,
    }
    assert {s for s in DataStream if s.has_survey_folder} == {
        DataStream.SURVEY_ANSWERS,
        DataStream.SURVEY_TIMINGS,
        DataStream.AUDIO_RECORDINGS,
    }
    assert DataStream.GPS.file_extension == "csv"
    assert DataStream.AMBIENT_AUDIO.file_extension is None
    assert DataStream.ACCELEROMETER.upload_name == "accel"
    assert DataStream.IOS_LOG.upload_name == "ios/log"


def test_stream_parsing_and_suggestions() -> None:
    assert parse_data_streams(None) == []
    assert parse_data_streams("gps, wifi") == [DataStream.GPS, DataStream.WIFI]
    assert parse_data_streams(["GPS", "gps", DataStream.WIFI]) == [DataStream.GPS, DataStream.WIFI]
    with pytest.raises(InvalidDataStream, match="did you mean accelerometer") as info:
        parse_data_streams(["accelerometr"])
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidDataStream, match="image_survey"):
        DataStream.parse("image_survey")


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2020-10-05T02:30:00", "2020-10-05T02:00:00", "2020-10-05T02:59:59"),
        (datetime(2020, 10, 5, 2, 30), "2020-10-05T02:00:00", "2020-10-05T02:59:59"),
        (date(2020, 10, 5), "2020-10-05T00:00:00", "2020-10-05T23:59:59"),
        ("2020-10-05", "2020-10-05T00:00:00", "2020-10-05T23:59:59"),
        ("2020-10-05T02:00:00Z", "2020-10-05T02:00:00", "2020-10-05T02:59:59"),
        ("2020-10-04 22:30:00-04:00", "2020-10-05T02:00:00", "2020-10-05T02:59:59"),
        (
            datetime(2020, 10, 5, 4, 30, tzinfo=timezone(timedelta(hours=2))),
            "2020-10-05T02:00:00",
            "2020-10-05T02:59:59",
        ),
    ],
)
def test_time_formatting(value: object, start: str, end: str) -> None:
    assert format_time_start(value) == start  # type: ignore[arg-type]
    assert format_time_end(value) == end  # type: ignore[arg-type]


def test_bad_time_string() -> None:
    with pytest.raises(InvalidArgument, match="ISO 8601"):
        format_time_start("last tuesday")


def test_format_date() -> None:
    assert format_date(date(2020, 1, 2)) == "2020-01-02"
    assert format_date("2020-01-02T23:30:00-05:00") == "2020-01-03"


def test_participants() -> None:
    assert parse_participant_ids(None) == []
    assert parse_participant_ids("abc12345,def12345") == ["abc12345", "def12345"]
    with pytest.raises(DuplicateParticipant, match="listed twice"):
        parse_participant_ids(["abc12345", "abc12345"])
    with pytest.raises(InvalidArgument):
        parse_participant_ids(["", "x"])


def test_registry_encoding() -> None:
    assert encode_registry(None) is None and encode_registry({}) is None
    assert json.loads(encode_registry({"a/b": "x="}) or "") == {"a/b": "x="}
    with pytest.raises(InvalidArgument, match="strings"):
        encode_registry({"a": None})  # type: ignore[dict-item]


def test_credentials_coercion_redacts() -> None:
    auth = coerce_auth({"URL": "https://x.org/", "ACCESS_KEY": "a", "SECRET_KEY": "topsecret"})
    assert auth.base_url == "https://x.org"
    assert "topsecret" not in repr(auth)

    class Creds:
        url = "https://y.org"
        access_key = "a"
        secret_key = "s"

    assert coerce_auth(Creds()).base_url == "https://y.org"
    with pytest.raises(mano_api.ClientConfigurationError, match="https://"):
        coerce_auth({"URL": "studies.beiwe.org", "ACCESS_KEY": "a", "SECRET_KEY": "s"})
    with pytest.raises(mano_api.ClientConfigurationError, match="SECRET_KEY"):
        coerce_auth({"URL": "https://x.org", "ACCESS_KEY": "a"})


def test_mano_auth_credentials_accepted() -> None:
    from mano_auth import Credentials

    creds = Credentials(
        url="https://studies.example.org/", access_key="a" * 64, secret_key="b" * 64
    )
    client = mano_api.BeiweClient(creds)
    assert client.base_url == "https://studies.example.org"
    assert "b" * 64 not in repr(client)


def _chunks(text: str, size: int) -> list[bytes]:
    data = text.encode()
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_json_stream_any_chunking(size: int) -> None:
    items = [1, 23, -4.5e3, "é,]", {"a": [1, {"b": "]"}]}, [], None, True, "x" * 50]
    text = " [ " + " , ".join(json.dumps(i, ensure_ascii=False) for i in items) + " ]\n"
    assert list(iter_json_array(_chunks(text, size))) == items
    assert list(iter_json_array(_chunks("[]", size))) == []


@pytest.mark.parametrize("bad", ["", "{}", "[1,2", "[1 2]", "[1,]x", "[1] 2"])
def test_json_stream_errors(bad: str) -> None:
    with pytest.raises(JSONStreamError):
        list(iter_json_array(_chunks(bad, 2)))


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("abcd1234/gps/2020-10-05 02_00_00+00_00.csv", True),
        ("../evil.csv", False),
        ("/etc/passwd", False),
        ("a/../../b", False),
        ("a\\b", False),
        ("C:/x", False),
        ("a/./b", True),
        (".", False),
        ("./", False),
        ("a//b/", True),
        ("a/..", False),
        ("..a/b..", True),
        ("\x00", False),
    ],
)
def test_member_name_safety(name: str, safe: bool) -> None:
    assert is_safe_member_name(name) is safe


def test_member_name_safety_agrees_with_pathlib() -> None:
    """Components are those PurePosixPath gives; none may be '..', and there must be one."""
    rnd = random.Random(11)
    for _ in range(5000):
        name = "".join(
            rnd.choice(["a", "/", ".", "..", "b c", "é"]) for _ in range(rnd.randrange(8))
        )
        parts = PurePosixPath(name).parts
        expected = (
            bool(name)
            and not name.startswith("/")
            and bool(parts)
            and all(p not in ("..", ".") for p in parts)
        )
        assert is_safe_member_name(name) is expected, name


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain_text.-~",
        "a b+c%20d%",
        '{"RjT2/gps/2026-11-18 14:00:00.csv":"q+/w==","x":"%2B"}',
        "".join(chr(c) for c in range(128)),
        "caf\u00e9 \u20ac \U0001f600 +%",
    ],
)
def test_form_body_is_what_urlencode_makes(value: str) -> None:
    fields = {"access_key": "k+/=", "registry": value, "odd key %": value[::-1]}
    assert encode_form(fields) == urllib.parse.urlencode(fields).encode("ascii")


def test_form_body_random_strings() -> None:
    rnd = random.Random(7)
    alphabet = 'ab%+ :/"{}\t\n~_.-=&?#\u00e9\u20ac\x00\x7f'
    for _ in range(2000):
        value = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(30)))
        assert encode_form({"v": value}) == urllib.parse.urlencode({"v": value}).encode()
