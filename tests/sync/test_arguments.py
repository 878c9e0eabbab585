"""Argument handling of the public functions (no server needed)."""

from __future__ import annotations

import datetime as dt

import pytest

from mano_sync import ManoSyncError, PassphraseRequired, sync_study
from mano_sync._sync import _streams_arg, _to_utc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-9-01T00:00:00", dt.datetime(2015, 9, 1, tzinfo=dt.UTC)),  # mano 0.6.0 default
        ("2020-10-05", dt.datetime(2020, 10, 5, tzinfo=dt.UTC)),
        ("2020-10-05 02:30:00", dt.datetime(2020, 10, 5, 2, 30, tzinfo=dt.UTC)),
        ("2020-10-05T02:00:00Z", dt.datetime(2020, 10, 5, 2, tzinfo=dt.UTC)),
        (dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, tzinfo=dt.UTC)),
        (
            dt.datetime(2020, 1, 2, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            dt.datetime(2020, 1, 2, 10, tzinfo=dt.UTC),
        ),
        (None, None),
    ],
)
def test_times(value: object, expected: dt.datetime | None) -> None:
    assert _to_utc(value, what="start") == expected  # type: ignore[arg-type]


def test_bad_time_says_what_to_do() -> None:
    with pytest.raises(ManoSyncError, match="use YYYY-MM-DD"):
        _to_utc("yesterday", what="start")


def test_streams() -> None:
    assert _streams_arg(None) is None
    assert _streams_arg("gps") == ("gps",)
    assert _streams_arg(["gps", "gps", "wifi"]) == ("gps", "wifi")
    with pytest.raises(ManoSyncError, match="unknown data stream 'gsp'"):
        _streams_arg(["gsp"])


def test_lock_without_passphrase_fails_before_any_request(tmp_path: object) -> None:
    creds = {"URL": "https://127.0.0.1:9", "ACCESS_KEY": "a", "SECRET_KEY": "b"}
    with pytest.raises(PassphraseRequired, match="passphrase"):
        sync_study(creds, "x" * 24, tmp_path, lock=["gps"])  # type: ignore[arg-type]
