"""Rows 3-6: compress / decompress, lock, hash and report on generated trees.

mano's tree operations are called in-process (the library's throughput: no interpreter start-up
in the figure) with the default worker count (all usable cores). The reference tools run as
child processes exactly as a user would type them. Before timing, every input file is read
once so both sides start from the same warm page cache; outputs of the previous run are deleted
(untimed) before each run.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib.context import Context
from benchlib.measure import NotMeasured, Sample, interleave, run_process, timed
from benchlib.refs import require
from benchlib.report import Row, Side, not_measured
from benchlib.specs import spec
from benchlib.trees import Tree, iter_files, read_all

PASSPHRASE_ENV = "MANO_BENCH_PASSPHRASE"


def ratio_row(
    *,
    id: str,
    mano: Side,
    reference: Side | None,
    target: float | None,
    meaning: str = "reference time / mano time",
    invert: bool = False,
    note: str = "",
    ref_reason: str = "",
) -> Row:
    """Row ``id`` whose figure is reference time / mano time (``invert``: mano / reference)."""
    if reference is None or not reference.samples:
        return Row(
            **spec(id),
            status="not measured",
            mano=mano,
            note=ref_reason or "reference not measured",
        )
    ratio = (mano.seconds / reference.seconds) if invert else (reference.seconds / mano.seconds)
    met = None
    if target is not None:
        met = ratio <= target if invert else ratio >= target
    return Row(
        **spec(id),
        mano=mano,
        reference=reference,
        ratio=ratio,
        ratio_meaning=meaning,
        met=met,
        note=note,
    )


def _delete(root: Path, keep: Callable[[str], bool]) -> None:
    """Delete every file under ``root`` (hidden ones too) for which ``keep(name)`` is false."""
    for dirpath, _, names in os.walk(root):
        for name in names:
            if not keep(name):
                os.unlink(os.path.join(dirpath, name))


def _link_copy(src: Path, dest: Path) -> None:
    """Hard-link copy of a tree: cheap, and safe because every writer replaces, never edits."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, copy_function=os.link)


def _sum_sizes(root: Path, suffix: str) -> tuple[int, int]:
    files = total = 0
    for path in iter_files(root):
        if path.name.endswith(suffix):
            files += 1
            total += path.stat().st_size
    return files, total


def _summary_info(summary: Any, expect_done: int | None = None) -> dict[str, Any]:
    """The counters of a TreeSummary; raises when files failed or too few were done."""
    failed = list(getattr(summary, "failed", []) or [])
    if failed:
        raise RuntimeError(f"{len(failed)} files failed, first: {failed[0]}")
    done = getattr(summary, "done", None)
    if expect_done is not None and done != expect_done:
        raise RuntimeError(f"{done} files done, expected {expect_done}")
    return {
        "done": done,
        "skipped": getattr(summary, "skipped", None),
        "bytes_in": getattr(summary, "bytes_in", None),
        "bytes_out": getattr(summary, "bytes_out", None),
    }


def _mano_files() -> Any:
    import mano_files

    return mano_files


def _api(name: str) -> Callable[..., Any]:
    fn = getattr(_mano_files(), name, None)
    if fn is None:  # a missing mano feature is a failure, not a missing reference
        raise RuntimeError(f"mano_files.{name} is not implemented")
    return fn  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- helpers


def _tool(*names: str) -> tuple[list[str] | None, str]:
    """Paths of the tools, or (None, reason) when one is missing."""
    try:
        return [require(n) for n in names], ""
    except NotMeasured as exc:
        return None, str(exc)


def _check_count(root: Path, suffix: str, expected: int, who: str) -> None:
    files, _ = _sum_sizes(root, suffix)
    if files != expected:
        raise RuntimeError(f"{who} wrote {files} '{suffix}' files, expected {expected}")


def _check_plain(root: Path, tree: Tree) -> None:
    files = total = 0
    for path in iter_files(root):
        if not path.name.endswith(".zst"):
            files += 1
            total += path.stat().st_size
    if (files, total) != (tree.files, tree.bytes):
        raise RuntimeError(
            f"decompressed {files} files / {total} bytes, expected {tree.files} / {tree.bytes}"
        )


def _prepare(ctx: Context, tree: Tree, name: str) -> tuple[Path, Path]:
    """Hard-link copy of ``tree`` in scratch, warmed, plus a NUL-separated list of its files."""
    work = ctx.work / "scratch" / name
    _link_copy(tree.root, work)
    files = sorted(iter_files(work))
    read_all(files)
    listing = ctx.work / "scratch" / f"{name}.list"
    listing.write_bytes(b"\0".join(os.fsencode(p) for p in files))
    return work, listing


# --------------------------------------------------------------------------- compress


def rows_compress(ctx: Context) -> list[Row]:
    """compress / decompress vs ``zstd -r`` / ``zstd -d -r`` on both trees (+ zstd per core)."""
    rows = _compress_rows(ctx, ctx.tree(ctx.mode.data_tree), "")
    rows += _compress_rows(ctx, ctx.tree(ctx.mode.small_tree), SMALL)
    return rows


#: Row id suffix of the small-file tree's rows.
SMALL = "_small"


def _tree_note(tree: Tree) -> str:
    return f"{tree.files:,} files, {tree.bytes / 1e6:,.0f} MB, {tree.bytes / tree.files / 1000:,.0f} kB mean"


def _compress_rows(ctx: Context, tree: Tree, suffix: str) -> list[Row]:
    compress_tree = _api("compress_tree")
    decompress_tree = _api("decompress_tree")
    work, listing = _prepare(ctx, tree, "compress" + suffix)
    zstd, why = _tool("zstd")
    xargs, why_x = _tool("xargs", "zstd")
    n = ctx.cores
    # the small-file rows give zstd as many threads as mano has (-T only helps big files)
    threads = [f"-T{n}"] if suffix else []
    t_label = f" -T{n}" if suffix else ""

    def fresh_plain() -> None:
        # a fresh hard-link copy of the tree; the previous output is moved aside, not
        # deleted (deleting thousands of files slows file creation for minutes on ext4
        # without a journal, see Context.discard): nothing is freed while runs are timed
        ctx.discard(work)
        _link_copy(tree.root, work)

    def mano_c() -> Sample:
        sample = timed(lambda: _summary_info(compress_tree(work, level=2), tree.files))
        _check_count(work, ".zst", tree.files, "compress_tree")
        return sample

    def zstd_c() -> Sample:
        assert zstd
        res = run_process([zstd[0], "-r", "-q", "-2", *threads, str(work)])
        _check_count(work, ".zst", tree.files, "zstd -r")
        return Sample(res.seconds, res.rss_bytes)

    def zstd_p() -> Sample:
        assert xargs
        res = run_process(
            [xargs[0], "-0", "-a", str(listing), "-P", str(n), "-n", "16", xargs[1], "-q", "-2"]
        )
        _check_count(work, ".zst", tree.files, "xargs zstd")
        return Sample(res.seconds, res.rss_bytes)

    # zstd on every core is context for the big files; on the small-file tree it would add
    # another 15,000 files to write and clean up in quick mode
    parallel = xargs and not suffix
    mano_s, zstd_s, par_s = interleave(
        [mano_c, zstd_c if zstd else None, zstd_p if parallel else None],
        repeats=ctx.mode.repeats,
        before_each=fresh_plain,
    )
    mano_side = Side(
        f"compress_tree, {n} workers",
        "mano_files.compress_tree(TREE, level=2)",
        mano_s,
        tree.bytes,
        tree.files,
    )
    size_note = f" {_tree_note(tree)}." if suffix else ""
    rows = [
        ratio_row(
            id="compress" + suffix,
            mano=mano_side,
            reference=Side(
                f"zstd -r -2{t_label}",
                f"zstd -r -q -2{t_label} TREE",
                zstd_s,
                tree.bytes,
                tree.files,
            )
            if zstd_s
            else None,
            target=1.2,
            meaning="zstd time / mano time",
            ref_reason=why,
            note="`zstd -r` works through the files one after the other on one core (-T only "
            "splits single big files); mano spreads files over all cores. The next-but-one "
            "row gives zstd every core too." + size_note,
        )
    ]

    # decompress: a tree of .zst files only (written by the zstd CLI when present), kept
    # beside the work folder and hard-link copied before each run like the plain tree
    zst_src = ctx.work / "scratch" / f"compress{suffix}-zst"
    ctx.discard(zst_src)
    _link_copy(tree.root, zst_src)
    if zstd:
        run_process([zstd[0], "-r", "-q", "-2", *threads, str(zst_src)])
    else:
        compress_tree(zst_src, level=2)
    _delete(zst_src, lambda name: name.endswith(".zst"))  # links: the tree keeps the inodes
    read_all(sorted(iter_files(zst_src)))

    def fresh_zst() -> None:
        ctx.discard(work)
        _link_copy(zst_src, work)

    def mano_d() -> Sample:
        sample = timed(lambda: _summary_info(decompress_tree(work), tree.files))
        _check_plain(work, tree)
        return sample

    def zstd_d() -> Sample:
        assert zstd
        res = run_process([zstd[0], "-d", "-r", "-q", *threads, str(work)])
        _check_plain(work, tree)
        return Sample(res.seconds, res.rss_bytes)

    mano_d_s, zstd_d_s = interleave(
        [mano_d, zstd_d if zstd else None], repeats=ctx.mode.repeats, before_each=fresh_zst
    )
    rows.append(
        ratio_row(
            id="decompress" + suffix,
            mano=Side(
                f"decompress_tree, {n} workers",
                "mano_files.decompress_tree(TREE)",
                mano_d_s,
                tree.bytes,
                tree.files,
            ),
            reference=Side(
                f"zstd -d -r{t_label}",
                f"zstd -d -r -q{t_label} TREE",
                zstd_d_s,
                tree.bytes,
                tree.files,
            )
            if zstd_d_s
            else None,
            target=1.2,
            meaning="zstd time / mano time",
            ref_reason=why,
            note="MB/s counts plain (decompressed) bytes on both sides." + size_note,
        )
    )
    if suffix:
        ctx.discard(work)  # deleted when the whole run ends, not before the next timed run
        ctx.discard(zst_src)
        return rows
    rows.append(
        ratio_row(
            id="compress_parallel" + suffix,
            mano=mano_side,
            reference=Side(
                f"zstd on {n} cores",
                f"xargs -0 -P {n} -n 16 zstd -q -2 <files>",
                par_s,
                tree.bytes,
                tree.files,
            )
            if par_s
            else None,
            target=None,
            meaning="zstd×N time / mano time",
            ref_reason=why_x,
        )
    )
    ctx.discard(work)  # deleted when the whole run ends, not before the next timed run
    ctx.discard(zst_src)
    return rows


# --------------------------------------------------------------------------- lock


def _lock(lock_tree: Callable[..., Any], root: Path, passphrase: str, files: int) -> dict[str, Any]:
    return _summary_info(lock_tree(root, passphrase=passphrase, streams=None), files)


def rows_lock(ctx: Context) -> list[Row]:
    """lock tree vs ``openssl enc -aes-256-cfb8`` per core, and vs mano 0.6.0's locking.

    On the small-file tree: only vs mano 0.6.0 (openssl's one process per file measures
    process start-up 5,000 times, not encryption).
    """
    lock_tree = _api("lock_tree")
    passphrase = secrets.token_urlsafe(24)
    os.environ[PASSPHRASE_ENV] = passphrase  # for the mano 0.6.0 child; never on a command line
    n = ctx.cores
    tree = ctx.tree(ctx.mode.data_tree)
    rows: list[Row] = []

    # vs openssl on the whole data tree: a fresh hard-link copy before each run
    work = ctx.work / "scratch" / "lock"
    files = tree.data_files()
    read_all(files)
    listing = ctx.work / "scratch" / "lock.list"
    tool, why = _tool("xargs", "openssl")
    # openssl gets a raw 256-bit key and IV (-K/-iv): no key derivation per file, like mano,
    # which derives its key once per run. A throwaway random key, so the command line is safe.
    key_hex, iv_hex = secrets.token_hex(32), secrets.token_hex(16)

    def fresh() -> None:
        ctx.discard(work)  # the previous run's locked files: aside, not deleted
        _link_copy(tree.root, work)
        listing.write_bytes(b"\0".join(os.fsencode(p) for p in sorted(iter_files(work))))

    def mano_l() -> Sample:
        return timed(lambda: _lock(lock_tree, work, passphrase, tree.files))

    def openssl_l() -> Sample:
        assert tool
        res = run_process(
            [
                tool[0],
                "-0",
                "-a",
                str(listing),
                "-P",
                str(n),
                "-I{}",
                tool[1],
                "enc",
                "-aes-256-cfb8",
                "-K",
                key_hex,
                "-iv",
                iv_hex,
                "-in",
                "{}",
                "-out",
                "{}.osl",
            ]
        )
        _check_count(work, ".osl", tree.files, "openssl enc")
        return Sample(res.seconds, res.rss_bytes)

    mano_s, ossl_s = interleave(
        [mano_l, openssl_l if tool else None], repeats=ctx.mode.repeats, before_each=fresh
    )
    rows.append(
        ratio_row(
            id="lock_openssl",
            mano=Side(
                f"lock_tree, {n} workers",
                "mano_files.lock_tree(TREE, passphrase=...)",
                mano_s,
                tree.bytes,
                tree.files,
            ),
            reference=Side(
                f"openssl ×{n}",
                f"xargs -0 -P {n} -I{{}} openssl enc -aes-256-cfb8 "
                "-K <hex> -iv <hex> -in {} -out {}.osl",
                ossl_s,
                tree.bytes,
                tree.files,
            )
            if ossl_s
            else None,
            target=None,
            meaning="openssl time / mano time",
            ref_reason=why,
            note="openssl encrypts only, one process per file, raw key (no per-file KDF); mano "
            "compresses each file first (.csv.zst.lock) with one key derivation per run.",
        )
    )
    ctx.discard(work)
    rows.append(_lock06_row(ctx, tree, passphrase, ctx.mode.lock06_per_stream, ""))
    small = ctx.tree(ctx.mode.small_tree)
    rows.append(_lock06_row(ctx, small, passphrase, ctx.mode.lock06_small_per_stream, SMALL))
    return rows


def _lock06_row(ctx: Context, tree: Tree, passphrase: str, per_stream: int, suffix: str) -> Row:
    """lock a sample of every stream vs mano 0.6.0 (it runs 100,000 PBKDF2 rounds per file)."""
    lock_tree = _api("lock_tree")
    n = ctx.cores
    try:
        m06 = ctx.mano06()
    except NotMeasured as exc:
        return not_measured("lock_mano06" + suffix, str(exc))
    sample = ctx.work / "scratch" / f"lock06{suffix}-src"
    from benchlib.trees import copy_subset

    subset = copy_subset(tree, sample, per_stream)
    work06 = ctx.work / "scratch" / f"lock06{suffix}"
    list06 = ctx.work / "scratch" / f"lock06{suffix}.list"
    script = Path(__file__).resolve().parents[1] / "children" / "mano06_lock.py"

    def fresh06() -> None:
        ctx.discard(work06)
        _link_copy(subset.root, work06)
        list06.write_text("".join(f"{p}\n" for p in sorted(iter_files(work06))))

    def mano06_l() -> Sample:
        env = {**m06.env, PASSPHRASE_ENV: passphrase}
        res = run_process([str(m06.python), str(script), str(list06)], env=env)
        _check_count(work06, ".lock", subset.files, "mano 0.6.0")
        return Sample(res.seconds, res.rss_bytes)

    def mano_small() -> Sample:
        return timed(lambda: _lock(lock_tree, work06, passphrase, subset.files))

    mano_s, m06_s = interleave(
        [mano_small, mano06_l], repeats=ctx.mode.slow_repeats, before_each=fresh06
    )
    row = ratio_row(
        id="lock_mano06" + suffix,
        mano=Side(
            f"lock_tree, {n} workers",
            "mano_files.lock_tree(SAMPLE, passphrase=...)",
            mano_s,
            subset.bytes,
            subset.files,
        ),
        reference=Side(
            f"mano {m06.version}",
            "for f: crypt.encrypt(f, crypt.kdf(passphrase), "
            "filename=f+'.lock')  # as mano.sync.save",
            m06_s,
            subset.bytes,
            subset.files,
        ),
        target=5.0,
        meaning="mano 0.6.0 time / mano time",
        note=f"{per_stream} files of every stream ({subset.files} files, "
        f"{subset.bytes / subset.files / 1000:,.0f} kB mean); mano 0.6.0 in its own "
        "interpreter (start-up ~0.2 s included, as a user's script would pay).",
    )
    ctx.discard(work06)
    ctx.discard(sample)
    return row


# --------------------------------------------------------------------------- hash


HASH_CACHE = ".mano-hashes.sqlite"


def rows_hash(ctx: Context) -> list[Row]:
    """hash tree with an empty cache vs ``sha1sum``; with a warm cache vs an empty one."""
    rows = _hash_rows(ctx, ctx.tree(ctx.mode.data_tree), "")
    rows += _hash_rows(ctx, ctx.tree(ctx.mode.small_tree), SMALL)
    return rows


def _hash_rows(ctx: Context, tree: Tree, suffix: str) -> list[Row]:
    hash_tree = _api("hash_tree")
    work, listing = _prepare(ctx, tree, "hash" + suffix)
    tool, why = _tool("xargs", "sha1sum")

    def drop_cache() -> None:
        _delete(work, lambda name: not name.startswith(HASH_CACHE))

    def mano_h() -> Sample:
        return timed(lambda: _summary_info(hash_tree(work), tree.files))

    def sha1sum() -> Sample:
        assert tool
        res = run_process([tool[0], "-0", "-a", str(listing), tool[1]])
        if res.stdout.count("\n") != tree.files:
            raise RuntimeError("sha1sum did not hash every file")
        return Sample(res.seconds, res.rss_bytes)

    # runs take milliseconds, so one scheduler hiccup would decide a best of 3: take more
    repeats = 1 if ctx.mode.repeats == 1 else max(ctx.mode.repeats, 10)
    cold_s, ref_s = interleave(
        [mano_h, sha1sum if tool else None], repeats=repeats, before_each=drop_cache
    )
    cold = Side(
        f"hash_tree cold, {ctx.cores} workers",
        "mano_files.hash_tree(TREE), no cache",
        cold_s,
        tree.bytes,
        tree.files,
    )
    rows = [
        ratio_row(
            id="hash_cold" + suffix,
            mano=cold,
            reference=Side("sha1sum", "xargs -0 sha1sum <files>", ref_s, tree.bytes, tree.files)
            if ref_s
            else None,
            target=0.7,
            meaning="sha1sum time / mano time",
            ref_reason=why,
            note="mano also stores each hash in its SQLite cache during the cold run.",
        )
    ]
    drop_cache()
    hash_tree(work)  # fill the cache
    (warm_s,) = interleave([mano_h], repeats=repeats)
    warm = Side(
        "hash_tree warm", "mano_files.hash_tree(TREE), cache filled", warm_s, tree.bytes, tree.files
    )
    rows.append(
        ratio_row(
            id="hash_warm" + suffix,
            mano=warm,
            reference=cold,
            target=20.0,
            meaning="cold time / warm time",
            note=f"warm: {warm.seconds / tree.files * 1e6:,.1f} µs per file (one lstat + cache), "
            f"best of {len(warm_s)}; "
            f"cold: {cold.mb_per_s or 0:,.0f} MB/s of SHA-1; so the ratio grows with the mean "
            f"file size, {tree.bytes / tree.files / 1000:,.0f} kB here.",
        )
    )
    ctx.discard(work)
    return rows


# --------------------------------------------------------------------------- report


def rows_report(ctx: Context) -> list[Row]:
    """coverage() of a many-file tree; reference: ``find -printf`` listing names and sizes."""
    coverage = _api("coverage")
    tree = ctx.tree(ctx.mode.report_tree)
    tool, why = _tool("find")
    for _ in iter_files(tree.root):  # warm the dentry / inode caches for both sides
        pass

    def mano_timed() -> Sample:
        sample = timed(lambda: {"files": getattr(coverage(tree.root), "files", None)})
        if sample.info.get("files") not in (None, tree.files):
            raise RuntimeError(
                f"coverage counted {sample.info['files']} files, expected {tree.files}"
            )
        return sample

    def find() -> Sample:
        assert tool
        res = run_process([tool[0], str(tree.root), "-type", "f", "-printf", "%s %p\n"])
        return Sample(res.seconds, res.rss_bytes)

    mano_s, ref_s = interleave([mano_timed, find if tool else None], repeats=ctx.mode.repeats)
    mano_side = Side("coverage()", "mano_files.coverage(TREE)", mano_s, None, tree.files)
    per_100k = mano_side.seconds / tree.files * 100_000
    ref_side = (
        Side("find -printf", "find TREE -type f -printf '%s %p\\n'", ref_s, None, tree.files)
        if ref_s
        else None
    )
    return [
        Row(
            **spec("report"),
            mano=mano_side,
            reference=ref_side,
            ratio=None if ref_side is None else mano_side.seconds / ref_side.seconds,
            ratio_meaning="mano time / find time",
            value=per_100k,
            value_unit="s per 100k files",
            met=per_100k <= 10.0,
            note="coverage also builds the participant × stream × day table; find only lists."
            + ("" if ref_side else f" Reference not measured: {why}"),
        )
    ]
