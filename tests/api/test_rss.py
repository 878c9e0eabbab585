"""Acceptance: a 1 GiB get-data/v2 download keeps the client's peak RSS under 150 MB."""

from __future__ import annotations

import pytest

from tests.api.rss_benchmark import run


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_one_gib_v2_download_peak_rss() -> None:
    result = run(1024)
    assert result["archive_bytes"] >= 1 << 30  # type: ignore[operator]
    assert result["bytes_received"] == result["archive_bytes"]
    assert result["members"] == result["expected_members"]
    assert result["peak_rss_mb"] < 150  # type: ignore[operator]
