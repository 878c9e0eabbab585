"""Shared helpers for the mano-files tests: realistic Beiwe data trees."""

from __future__ import annotations

import base64
import hashlib
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mano_files import STREAMS, SURVEY_STREAMS

SURVEY = "587442edf7321c14da193487"
PID = "ab12cd34"
PID2 = "zz9yy8xx"


def sha1_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def csv_bytes(stream: str, rows: int, seed: int = 0) -> bytes:
    rng = random.Random(f"{stream}-{rows}-{seed}")
    header = f"timestamp,UTC time,{stream} a,{stream} b,c"
    lines = [header]
    t = 1601863200000 + seed * 3600_000
    for i in range(rows):
        t += rng.randint(10, 900)
        lines.append(
            f"{t},2020-10-05T02:{(i // 60) % 60:02d}:{i % 60:02d}.000,{rng.random():.6f},{rng.randint(-90, 90)},x{i % 7}"
        )
    return "\n".join(lines).encode()


def wav_bytes(n: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    payload = bytes(rng.getrandbits(8) for _ in range(n))
    return b"RIFF" + (36 + n).to_bytes(4, "little") + b"WAVEfmt " + bytes(16) + b"data" + payload


def relpath_for(stream: str, pid: str = PID, hour: int = 2, ext: str | None = None) -> str:
    ext = ext or (
        "wav" if stream == "audio_recordings" else "mp4" if stream == "ambient_audio" else "csv"
    )
    name = f"2020-10-05 {hour:02d}_00_00+00_00.{ext}"
    if stream in SURVEY_STREAMS:
        return f"{pid}/{stream}/{SURVEY}/{name}"
    return f"{pid}/{stream}/{name}"


def content_for(stream: str, seed: int, rows: int = 200) -> bytes:
    if stream == "audio_recordings":
        return wav_bytes(3000, seed)
    if stream == "ambient_audio":
        return b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
    return csv_bytes(stream, rows, seed)


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[..., dict[str, bytes]]:
    """Build a study tree with every stream; returns relpath -> plain content."""

    def build(
        root: Path | None = None,
        *,
        hours: int = 2,
        pids: tuple[str, ...] = (PID, PID2),
        rows: int = 200,
    ) -> dict[str, bytes]:
        root = root or tmp_path / "study"
        files: dict[str, bytes] = {}
        seed = 0
        for pid in pids:
            for stream in STREAMS:
                for hour in range(2, 2 + hours):
                    seed += 1
                    rel = relpath_for(stream, pid, hour)
                    data = content_for(stream, seed, rows)
                    path = root / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                    files[rel] = data
        return files

    return build


@pytest.fixture
def zstd_cli() -> str:
    exe = shutil.which("zstd")
    assert exe, "the reference `zstd` CLI is required (apt-get install zstd)"
    return exe
