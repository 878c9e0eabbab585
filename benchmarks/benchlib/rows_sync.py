"""Rows 1-2: sync of an emulated study vs curl and mano 0.6.0; no-op re-sync; download RSS.

The emulator (``mano_testing.Emulator``, v2 on) runs in this process's threads and serves every
side alike. mano-sync, curl and mano 0.6.0 each run as child processes so their wall time and
peak RSS (``wait4``) are theirs alone. Every file is rendered before timing (``prerender``,
kept on disk between runs) and one untimed curl pass warms the caches, so no side pays for the
emulator's first rendering. Wall times are whole processes, interpreter start-up included (what
a user waits for); mano's own ``SyncSummary.elapsed`` is kept in the JSON.

* curl = the raw transfer limit: one ``POST /get-data/v2`` per participant (all streams, whole
  time range: the biggest, cheapest requests possible), written to disk as the zip the server
  sends, with the same parallelism as mano's workers. mano additionally plans windows, unzips,
  decompresses to plain files, hashes and records a manifest.
* mano 0.6.0 ``backfill`` of the same participants, one after the other in one process (as it
  works), from the study's first day (not its 2015 default) so the comparison is as kind to it
  as possible; it still sleeps 3 s between its 5-day windows, as it always does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchlib.context import Context
from benchlib.measure import NotMeasured, Sample, interleave, median, run_process, timed
from benchlib.refs import require
from benchlib.report import MiB, Row, Side, not_measured
from benchlib.rows_files import ratio_row
from benchlib.specs import spec
from benchlib.trees import iter_files

CHILDREN = Path(__file__).resolve().parents[1] / "children"
KEYRING_ENV = "MANO_BENCH_KEYRING"
WORKERS = 4  # mano-sync workers and parallel curl transfers alike
RSS_GOAL_MB = 200
DOWNLOAD_RSS_GOAL_MB = 150
AUDIO = ("ambient_audio", "audio_recordings")
RESYNC_REPEATS = 5  # the re-sync row: medians of this many first and no-op syncs


@contextmanager
def emulator(
    ctx: Context, participants: int, days: int, scale: float, *, prerender: bool = True
) -> Iterator[Any]:
    """A v2 emulator whose data end yesterday (UTC), its rendered files cached on disk.

    Data ending just before now is what a live study looks like, and it lets mano 0.6.0 walk
    only the study's own 5-day windows (it always walks up to now). Rendered objects are kept
    under the work folder (keyed by size and start day) so later runs skip rendering.
    """
    try:
        from mano_testing import Emulator
    except ImportError as exc:
        raise NotMeasured(f"mano_testing.Emulator is not available: {exc}") from exc
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - dt.timedelta(days=days)
    name = f"p{participants}-d{days}-s{scale:g}"
    cache = ctx.work / "emulator"
    if cache.is_dir():
        for old in cache.glob(f"{name}-*"):
            if old.name != f"{name}-{start:%Y%m%d}":
                shutil.rmtree(old, ignore_errors=True)
    with Emulator(
        participants=participants,
        days=days,
        seed=1,
        v2=True,
        scale=scale,
        start=start,
        data_dir=cache / f"{name}-{start:%Y%m%d}",
    ) as emu:
        if prerender and hasattr(emu, "prerender"):
            emu.prerender()  # render + compress every file now, not inside anyone's timing
        yield emu


def _keyring(emu: Any) -> dict[str, str]:
    creds = dict(emu.credentials)
    creds.setdefault("USERNAME", "bench")
    creds.setdefault("PASSWORD", "bench")
    return creds


def _served(emu: Any) -> tuple[int, int, int]:
    """(get-data requests, bytes sent, data members) since the last ``reset_log``."""
    requests = sent = members = 0
    for rec in emu.request_log:
        if "get-data" in rec.path:
            requests += 1
            sent += int(rec.bytes_sent or 0)
            m = rec.members
            members += m if isinstance(m, int) else len(m or ())
    return requests, sent, members


def _data_files(root: Path) -> tuple[int, int]:
    files = total = 0
    for path in iter_files(root):
        if path.parent == root:  # the study's settings JSON for Forest, not data
            continue
        files += 1
        total += path.stat().st_size
    return files, total


def _child_env(emu: Any) -> dict[str, str]:
    env = dict(os.environ)
    env[KEYRING_ENV] = json.dumps(_keyring(emu))
    return env


def _mano_sync(
    emu: Any, out: Path, env: dict[str, str], expected: int | None, *, keep: bool = False
) -> Sample:
    """One mano-sync run in a child process; checks the tree has every file."""
    emu.reset_log()
    cmd = [sys.executable, str(CHILDREN / "sync_child.py"), emu.study_id, str(out), str(WORKERS)]
    res = run_process(cmd + (["--keep-compressed"] if keep else []), env=env)
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    if summary.get("failed"):
        raise RuntimeError(
            f"mano-sync reported {summary['failed']} failures, first: {summary.get('failed_first')}"
        )
    requests, sent, members = _served(emu)
    files, size = _data_files(out)
    if expected is not None and files != expected:
        raise RuntimeError(
            f"mano-sync left {files} data files, the study has {expected} (summary {summary})"
        )
    return Sample(
        res.seconds,
        res.rss_bytes,
        {
            **summary,
            "requests": requests,
            "bytes_served": sent,
            "members_served": members,
            "files_on_disk": files,
            "bytes_on_disk": size,
        },
    )


class Curl:
    """One POST per participant to get-data/v2, ``WORKERS`` at a time, bodies read from files."""

    def __init__(self, ctx: Context, emu: Any, name: str = "curl") -> None:
        self.curl = require("curl")
        self.xargs = require("xargs")
        self.emu = emu
        self.dir = ctx.scratch(name)
        base = []
        for pid in emu.participants:
            body = self.dir / f"{pid}.body"
            form = {
                "access_key": emu.access_key,
                "secret_key": emu.secret_key,
                "study_id": emu.study_id,
                "participant_ids": json.dumps([pid]),
            }
            body.write_text(urllib.parse.urlencode(form))
            body.chmod(0o600)
            base.append(str(self.dir / pid))
        self.list = self.dir / "list"
        self.list.write_text("".join(f"{b}\n" for b in base))
        self.url = f"{emu.url}/get-data/v2"

    def __call__(self) -> Sample:
        for old in self.dir.glob("*.zip"):
            old.unlink()
        self.emu.reset_log()
        res = run_process(
            [
                self.xargs,
                "-a",
                str(self.list),
                "-P",
                str(WORKERS),
                "-I{}",
                self.curl,
                "-sS",
                "--fail",
                "-o",
                "{}.zip",
                "--data-binary",
                "@{}.body",
                self.url,
            ]
        )
        requests, sent, members = _served(self.emu)
        on_disk = sum(p.stat().st_size for p in self.dir.glob("*.zip"))
        return Sample(
            res.seconds,
            res.rss_bytes,
            {
                "requests": requests,
                "bytes_served": sent,
                "members_served": members,
                "bytes_on_disk": on_disk,
            },
        )


class Pipeline(Curl):
    """The same job done with shell tools: curl each participant, unzip, then ``zstd -d --rm``.

    What a scripter would do to get plain files from get-data v2 (without a manifest, hashes,
    retries or checks); context for what materialising thousands of small files costs.
    """

    def __init__(self, ctx: Context, emu: Any, out: Path) -> None:
        super().__init__(ctx, emu, "pipeline")
        self.unzip = require("unzip")
        self.zstd = require("zstd")
        self.out = out
        self.ctx = ctx

    def __call__(self) -> Sample:
        self.ctx.discard(self.out)
        self.out.mkdir(parents=True)
        self.emu.reset_log()
        # outer: $1 xargs $2 list $3 curl $4 url $5 unzip $6 out $7 zstd
        # inner (one participant): $1 curl $2 base path $3 url $4 unzip $5 out
        # unzip exits 11 when a participant without data leaves nothing to extract
        inner = (
            '"$1" -sS --fail -o "$2.zip" --data-binary "@$2.body" "$3"'
            ' && { "$4" -q -o "$2.zip" -x registry -d "$5"; s=$?; [ $s -eq 0 ] || [ $s -eq 11 ]; }'
        )
        script = (
            f'"$1" -a "$2" -P {WORKERS} -I{{}} sh -c \'{inner}\' _ "$3" {{}} "$4" "$5" "$6"'
            ' && "$7" -d -r -q --rm "$6"'
        )
        res = run_process(
            [
                "sh",
                "-c",
                script,
                "_",
                require("xargs"),
                str(self.list),
                self.curl,
                self.url,
                self.unzip,
                str(self.out),
                self.zstd,
            ]
        )
        requests, sent, members = _served(self.emu)
        files, size = _data_files(self.out)
        return Sample(
            res.seconds,
            res.rss_bytes,
            {
                "requests": requests,
                "bytes_served": sent,
                "members_served": members,
                "files_on_disk": files,
                "bytes_on_disk": size,
            },
        )


class Guarded:
    """A context-only side whose failure marks its own row, not the whole group."""

    def __init__(self, fn: Callable[[], Sample] | None) -> None:
        self.fn = fn
        self.error = ""

    def __call__(self) -> Sample:
        if self.fn is None or self.error:
            return Sample(0.0)
        try:
            return self.fn()
        except Exception as exc:  # reported in the row
            self.error = f"{type(exc).__name__}: {exc}"
            return Sample(0.0)


def _mano06_backfill(ctx: Context, emu: Any, out: Path, start: str) -> Sample:
    m06 = ctx.mano06()
    env = {**m06.env, KEYRING_ENV: json.dumps(_keyring(emu))}
    emu.reset_log()
    res = run_process(
        [
            str(m06.python),
            str(CHILDREN / "mano06_backfill.py"),
            emu.study_id,
            str(out),
            start,
            *emu.participants,
        ],
        env=env,
        timeout=7200,
    )
    requests, sent, members = _served(emu)
    files, size = _data_files(out)
    return Sample(
        res.seconds,
        res.rss_bytes,
        {
            "requests": requests,
            "bytes_served": sent,
            "members_served": members,
            "files_on_disk": files,
            "bytes_on_disk": size,
        },
    )


def _bytes(samples: list[Sample]) -> int | None:
    values = [s.info.get("bytes_served") for s in samples]
    return max(v for v in values if isinstance(v, int)) if any(values) else None


class DiskFloor:
    """The least any client leaving these files can spend here: write them, nothing else.

    Takes the plain files of a finished sync into memory (untimed), then times writing them
    into a fresh folder the way every careful writer must (hidden temp file, write, rename),
    on every core, with no network, parsing, decompression, hashing or bookkeeping.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.dest = ctx.work / "scratch" / "sync-floor"
        self.threads = max(1, ctx.cores)
        self.payload: list[tuple[str, bytes]] = []

    def capture(self, tree: Path) -> None:
        if not self.payload:
            self.payload = [(str(p.relative_to(tree)), p.read_bytes()) for p in iter_files(tree)]

    def _write(self, part: list[tuple[str, bytes]]) -> int:
        folders: set[str] = set()
        for rel, data in part:
            target = os.path.join(self.dest, rel)
            folder, name = os.path.split(target)
            if folder not in folders:
                os.makedirs(folder, exist_ok=True)
                folders.add(folder)
            tmp = os.path.join(folder, f".{name}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, target)
        return len(part)

    def __call__(self) -> Sample:
        self.ctx.discard(self.dest)
        parts = [self.payload[i :: self.threads] for i in range(self.threads)]

        def write_all() -> dict[str, int]:
            with ThreadPoolExecutor(self.threads) as pool:
                files = sum(pool.map(self._write, parts))
            return {"files_on_disk": files, "bytes_on_disk": sum(len(d) for _, d in self.payload)}

        sample = timed(write_all)
        self.ctx.discard(self.dest)
        return sample


def rows_sync(ctx: Context) -> list[Row]:
    """Sync vs curl (≥ 0.7×), vs mano 0.6.0 (≥ 20×), and peak RSS (≤ 200 MB)."""
    mode = ctx.mode
    from mano_sync import sync_study  # noqa: F401  # fail early (an error row) when missing

    rows: list[Row] = []
    with emulator(ctx, mode.sync_participants, mode.sync_days, mode.sync_scale) as emu:
        files = emu.files()
        expected = len(files)
        plain = sum(f.size for f in files)
        first = min(f.time_bin for f in files)
        env = _child_env(emu)
        out = ctx.work / "scratch" / "sync-out"

        floor = DiskFloor(ctx)

        def mano() -> Sample:
            ctx.discard(out)
            sample = _mano_sync(emu, out, env, expected)
            floor.capture(out)
            return sample

        def mano_zst() -> Sample:
            ctx.discard(out)
            return _mano_sync(emu, out, env, expected, keep=True)

        try:
            curl: Curl | None = Curl(ctx, emu)
            why = ""
        except NotMeasured as exc:
            curl, why = None, str(exc)
        out_pipe = ctx.work / "scratch" / "sync-pipeline"
        try:
            pipeline: Pipeline | None = Pipeline(ctx, emu, out_pipe)
            why_pipe = ""
        except NotMeasured as exc:
            pipeline, why_pipe = None, str(exc)
        if curl is not None:
            curl()  # untimed warm-up: the emulator renders and caches every file once
        guarded = Guarded(pipeline)
        mano_s, zst_s, curl_s, pipe_s, floor_s = interleave(
            [mano, mano_zst, curl, guarded if pipeline else None, floor],
            repeats=mode.sync_repeats,
        )
        if not guarded.error and pipe_s and pipe_s[-1].info.get("files_on_disk") != expected:
            guarded.error = (
                f"the pipeline left {pipe_s[-1].info.get('files_on_disk')} files, "
                f"expected {expected}"
            )
        if guarded.error:
            pipe_s = []
        ctx.discard(out_pipe)
        study = (
            f"{len(emu.participants)} participants × {mode.sync_days} days, {expected:,} "
            f"files, {plain / 1e6:,.0f} MB plain"
        )
        mano_side = Side(
            f"sync_study, {WORKERS} workers",
            f"mano_sync.sync_study(creds, study, OUT, workers={WORKERS})",
            mano_s,
            _bytes(mano_s),
            expected,
        )
        curl_side = (
            Side(
                f"curl ×{WORKERS}",
                f"xargs -P {WORKERS} curl --data-binary @body "
                "URL/get-data/v2  # one request per participant",
                curl_s,
                _bytes(curl_s),
                expected,
            )
            if curl_s
            else None
        )
        rows.append(
            ratio_row(
                id="sync_curl",
                mano=mano_side,
                reference=curl_side,
                target=0.7,
                meaning="curl time / mano time",
                ref_reason=why,
                note=f"{study}. MB/s = bytes the emulator sent. curl only saves the zips; mano "
                "also plans, unzips, decompresses, hashes and records every file.",
            )
        )

        rows.append(
            ratio_row(
                id="sync_zst_curl",
                mano=Side(
                    f"sync_study(keep_compressed=True), {WORKERS} workers",
                    f"mano_sync.sync_study(creds, study, OUT, workers={WORKERS}, "
                    "keep_compressed=True)",
                    zst_s,
                    _bytes(zst_s),
                    expected,
                ),
                reference=curl_side,
                target=None,
                meaning="curl time / mano time",
                ref_reason=why,
                note="mano stores the server's .zst bytes as they come (no decompression): the "
                "same bytes to disk as curl, but one file each, hashed and recorded.",
            )
        )
        rows.append(
            ratio_row(
                id="sync_pipeline",
                mano=mano_side,
                reference=Side(
                    f"curl+unzip+zstd ×{WORKERS}",
                    f"xargs -P {WORKERS} sh -c 'curl … -o p.zip && unzip -q p.zip -d OUT'; "
                    "zstd -d -r -q --rm OUT",
                    pipe_s,
                    _bytes(pipe_s),
                    expected,
                )
                if pipe_s
                else None,
                target=1.5,
                meaning="pipeline time / mano time",
                ref_reason=why_pipe or f"the shell pipeline failed: {guarded.error}",
                note="plain files on disk at the end on both sides; the pipeline keeps no "
                "manifest, checks nothing but CRCs and cannot resume.",
            )
        )

        floor_side = Side(
            f"write the files only, {floor.threads} threads",
            "for each file: os.open(.tmp, O_EXCL); os.write; os.replace  # bytes from memory",
            floor_s,
            sum(len(d) for _, d in floor.payload),
            expected,
        )
        best = max(floor_side.seconds, curl_side.seconds if curl_side else 0.0)
        # the physical limit of a first sync: the larger of the transfer (curl of the same v2
        # bytes) and the disk's cost of the files alone (writing them from memory)
        limit_side = (
            floor_side
            if curl_side is None or floor_side.seconds >= curl_side.seconds
            else curl_side
        )
        rows.append(
            ratio_row(
                id="sync_limit",
                mano=mano_side,
                reference=Side(
                    f"limit = max(curl, write-only): {limit_side.label}",
                    limit_side.command,
                    limit_side.samples,
                    limit_side.bytes,
                    expected,
                ),
                target=0.4,
                meaning="max(curl time, write-only time) / mano time",
                note=f"curl {curl_side.seconds if curl_side else float('nan'):.3f} s, writing "
                f"the files only {floor_side.seconds:.3f} s: a first sync can finish no "
                "sooner than the larger of the two on this machine.",
            )
        )
        rows.append(
            ratio_row(
                id="sync_floor",
                mano=mano_side,
                reference=floor_side,
                target=None,
                meaning="write-only time / mano time",
                note=f"the same {expected:,} plain files ({floor_side.bytes or 0:,} bytes) written "
                f"from memory with no download, unzip, decompression, hashing or manifest: what "
                f"this disk charges for the files alone ({floor_side.seconds * 1e6 / expected:,.0f} "
                f"µs per file). Even with download and writing fully overlapped, no client can "
                f"finish in less than max(curl, this) = {best:.2f} s, i.e. better than "
                f"{(curl_side.seconds / best) if curl_side else 0:.2f}× curl, on this machine.",
            )
        )

        m06_side: Side | None = None
        try:
            ctx.mano06()
            start = first.strftime("%Y-%m-%dT%H:%M:%S")
            out06 = ctx.work / "scratch" / "sync-out06"

            def m06() -> Sample:
                ctx.discard(out06)
                return _mano06_backfill(ctx, emu, out06, start)

            (m06_s,) = interleave([m06], repeats=mode.slow_repeats)
            m06_side = Side(
                f"mano {ctx.mano06().version} backfill",
                f"for pid: mano.sync.backfill(keyring, study, pid, OUT, start_date='{start}')",
                m06_s,
                _bytes(m06_s),
                int(m06_s[0].info.get("files_on_disk") or 0),
            )
            rows.append(
                ratio_row(
                    id="sync_mano06",
                    mano=mano_side,
                    reference=m06_side,
                    target=20.0,
                    meaning="mano 0.6.0 time / mano time",
                    note=f"{study}. mano 0.6.0 starts at the study's first hour ({start}), walks "
                    "5-day windows to now sleeping 3 s between them, one participant at a "
                    "time over get-data v1 (plain CSVs, so more bytes), held in memory; it "
                    "does not know the ambient_audio stream and fetches files on window "
                    f"boundaries twice ({m06_s[0].info.get('members_served')} members served "
                    f"for {expected:,} files).",
                )
            )
        except NotMeasured as exc:
            rows.append(not_measured("sync_mano06", str(exc)))

    rss = mano_side.rss_bytes or 0
    ref_rss = m06_side or (Side(f"curl ×{WORKERS}", "", curl_s) if curl_s else None)
    rows.append(
        Row(
            **spec("sync_rss"),
            mano=mano_side,
            reference=ref_rss,
            ratio=(rss / ref_rss.rss_bytes) if ref_rss and ref_rss.rss_bytes else None,
            ratio_meaning="mano RSS / reference RSS",
            value=rss / MiB,
            value_unit="MiB",
            met=rss / MiB <= RSS_GOAL_MB,
            note="peak resident set size of the whole child process (wait4 ru_maxrss)",
        )
    )
    ctx.discard(ctx.work / "scratch" / "sync-out")
    return rows


def rows_resync(ctx: Context) -> list[Row]:
    """A no-op re-sync after a complete first sync: time and bytes (≤ 5 % of the first)."""
    mode = ctx.mode
    from mano_sync import sync_study  # noqa: F401  # fail early (an error row) when missing

    with emulator(ctx, mode.resync_participants, mode.resync_days, mode.resync_scale) as emu:
        expected = len(emu.files())
        env = _child_env(emu)
        out = ctx.work / "scratch" / "resync-out"

        def first_sync() -> Sample:
            ctx.discard(out)
            return _mano_sync(emu, out, env, expected)

        # first, no-op, first, no-op, ...: each no-op runs on the tree the first sync just made
        # (five of each, the ratio of medians: one slow no-op must not decide the row)
        repeats = 1 if mode.name == "smoke" else max(RESYNC_REPEATS, mode.sync_repeats)
        first_s, noop_s = interleave(
            [first_sync, lambda: _mano_sync(emu, out, env, expected)], repeats=repeats
        )
    ctx.discard(out)
    first_side = Side(
        "first sync",
        f"sync_study(..., workers={WORKERS}) into an empty folder",
        first_s,
        _bytes(first_s),
        expected,
    )
    noop_side = Side("no-op re-sync", "the same call again", noop_s, _bytes(noop_s) or 0, expected)
    ratio = median(noop_s) / median(first_s)
    inner = statistics.median(float(s.info.get("elapsed") or 0) for s in noop_s)
    inner_first = statistics.median(float(s.info.get("elapsed") or 0) for s in first_s)
    re_members = max(int(s.info.get("members_served") or 0) for s in noop_s)
    byte_ratio = (noop_side.bytes or 0) / max(1, first_side.bytes or 1)
    return [
        Row(
            **spec("resync"),
            mano=noop_side,
            reference=first_side,
            ratio=ratio,
            ratio_meaning="re-sync time / first-sync time",
            met=ratio <= 0.05 and (mode.name != "full" or expected >= 50_000),
            note=f"{expected:,} files; the ratio of the medians of {len(noop_s)} runs each "
            f"(no-op {median(noop_s):.3f} s, first {median(first_s):.3f} s). "
            f"Bytes served on re-sync: {noop_side.bytes or 0:,} "
            f"({byte_ratio:.2%} of the first sync's {first_side.bytes or 0:,}); data members "
            f"re-sent: {re_members}. Inside sync_study (no interpreter start-up): "
            f"{inner:.2f} s vs {inner_first:.2f} s.",
            extra={"byte_ratio": byte_ratio, "members_resent": re_members},
        )
    ]


def rows_download(ctx: Context) -> list[Row]:
    """One ~1 GB v2 download through ``BeiweClient.download``: peak RSS (< 150 MB) vs curl."""
    if not ctx.mode.big_download_mb:
        return [not_measured("download_rss", "full mode only")]
    from mano_api import BeiweClient  # noqa: F401  # fail early (an error row) when missing

    target = ctx.mode.big_download_mb * 1_000_000
    participants, days = 2, 40
    # The archive is made of the audio streams (WAV/MP4 members of MBs, cheap to render at any
    # size; the CSV streams would take minutes of row formatting per GB). Their stored bytes
    # grow linearly with the scale: measure at scale 1, then scale to about the target size.
    with emulator(ctx, participants, days, 1.0, prerender=False) as emu:
        per_scale = sum(len(f.zst()) for s in AUDIO for f in emu.files(stream=s))
    scale = round(target / max(1, per_scale), 1)
    with emulator(ctx, participants, days, scale, prerender=False) as emu:
        env = _child_env(emu)
        tmp = ctx.scratch("download")
        curl = require("curl")
        body = tmp / "body"
        body.write_text(
            urllib.parse.urlencode(
                {
                    "access_key": emu.access_key,
                    "secret_key": emu.secret_key,
                    "study_id": emu.study_id,
                    "data_streams": json.dumps(list(AUDIO)),
                }
            )
        )
        zip_path = tmp / "curl.zip"

        def mano() -> Sample:
            emu.reset_log()
            res = run_process(
                [
                    sys.executable,
                    str(CHILDREN / "download_child.py"),
                    emu.study_id,
                    str(tmp),
                    ",".join(AUDIO),
                ],
                env=env,
            )
            info = json.loads(res.stdout.strip().splitlines()[-1])
            return Sample(res.seconds, res.rss_bytes, info)

        def curl_run() -> Sample:
            zip_path.unlink(missing_ok=True)
            res = run_process(
                [
                    curl,
                    "-sS",
                    "--fail",
                    "-o",
                    str(zip_path),
                    "--data-binary",
                    f"@{body}",
                    f"{emu.url}/get-data/v2",
                ]
            )
            return Sample(res.seconds, res.rss_bytes, {"archive_bytes": zip_path.stat().st_size})

        curl_run()  # warm-up: render and cache every file
        mano_s, curl_s = interleave([mano, curl_run], repeats=1)
    shutil.rmtree(tmp, ignore_errors=True)
    size = int(mano_s[0].info.get("archive_bytes") or 0)
    mano_side = Side(
        "BeiweClient.download",
        "client.download(study, streams=[audio], version=2) + read every member",
        mano_s,
        size,
        int(mano_s[0].info.get("members") or 0),
    )
    curl_side = Side(
        "curl",
        "curl --data-binary @body URL/get-data/v2 -o zip",
        curl_s,
        int(curl_s[0].info.get("archive_bytes") or 0),
    )
    rss = mano_side.rss_bytes or 0
    return [
        Row(
            **spec("download_rss"),
            mano=mano_side,
            reference=curl_side,
            ratio=curl_side.seconds / mano_side.seconds,
            ratio_meaning="curl time / mano time",
            value=rss / MiB,
            value_unit="MiB",
            met=rss / MiB < DOWNLOAD_RSS_GOAL_MB and size >= 0.9 * target,
            note=f"archive {size / 1e6:,.0f} MB in one request (target ~{target / 1e6:,.0f} MB)",
        )
    ]
