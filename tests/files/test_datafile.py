"""Single-file API: write_data_file, read_data_file, sha1_b64_file, keys and errors."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import warnings
from pathlib import Path

import cryptease
import pytest
import zstandard

import mano_files
from mano_files import (
    CorruptZstd,
    DiskFull,
    InvalidOption,
    KeyRequired,
    LockKey,
    PermissionDenied,
    TargetExists,
    WrongPassphrase,
    _atomic,
    _crypto,
    derive_key,
    read_data_file,
    sha1_b64_file,
    write_data_file,
)
from tests.files.conftest import csv_bytes, sha1_b64, wav_bytes

REL = "ab12cd34/gps/2020-10-05 02_00_00+00_00.csv"


def _cryptease_key(passphrase: str, salt: bytes | None = None) -> object:
    return cryptease.kdf(passphrase, salt=salt)


def _cryptease_decrypt(path: Path, passphrase: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open(path, "rb") as fh:
            key = cryptease.key_from_file(fh, passphrase)
            return b"".join(cryptease.decrypt(fh, key))


def _cryptease_encrypt(data: bytes, path: Path, passphrase: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cryptease.encrypt(io.BytesIO(data), cryptease.kdf(passphrase), filename=str(path))


def _no_temp_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(".mano-tmp")]


@pytest.fixture(scope="module")
def key() -> LockKey:
    return derive_key("correct horse")


@pytest.mark.parametrize("form", ["plain", "zst", "lock"])
@pytest.mark.parametrize("source_form", ["zst", "plain"])
def test_write_every_form_from_every_source(
    tmp_path: Path, key: LockKey, form: str, source_form: str
) -> None:
    data = csv_bytes("gps", 3000)
    blob = zstandard.ZstdCompressor(level=2).compress(data) if source_form == "zst" else data
    stored = write_data_file(
        io.BytesIO(blob), tmp_path / REL, source_form=source_form, form=form, key=key
    )
    suffix = {"plain": "", "zst": ".zst", "lock": ".zst.lock"}[form]
    assert stored.path == tmp_path / (REL + suffix)
    assert stored.form == ("zst.lock" if form == "lock" else form)
    assert stored.sha1_b64 == sha1_b64(data)
    assert stored.plain_size == len(data)
    assert stored.size_on_disk == stored.path.stat().st_size
    with read_data_file(stored.path, key=key) as fh:
        assert fh.read() == data
    assert sha1_b64_file(stored.path, key="correct horse") == sha1_b64(data)
    assert [p.name for p in stored.path.parent.iterdir()] == [stored.path.name]


def test_large_multi_chunk_file_streams(tmp_path: Path, key: LockKey) -> None:
    data = csv_bytes("accelerometer", 120_000)  # several MiB: the streaming path
    assert len(data) > 3 << 20
    stored = write_data_file(
        io.BytesIO(data), tmp_path / REL, source_form="plain", form="zst", size_hint=len(data)
    )
    params = zstandard.get_frame_parameters(stored.path.read_bytes())
    assert params.content_size == len(data)
    assert params.has_checksum
    assert stored.sha1_b64 == sha1_b64(data)
    locked = write_data_file(
        io.BytesIO(data), tmp_path / "x" / REL, source_form="plain", form="lock", key=key
    )
    assert sha1_b64_file(locked.path, key=key) == sha1_b64(data)
    plain = write_data_file(io.BytesIO(data), tmp_path / "p" / REL, source_form="plain")
    assert plain.path.read_bytes() == data
    assert (plain.sha1_b64, plain.plain_size) == (sha1_b64(data), len(data))


def test_our_zst_decompresses_with_zstd_cli(tmp_path: Path, zstd_cli: str) -> None:
    data = csv_bytes("gps", 2000)
    stored = write_data_file(io.BytesIO(data), tmp_path / REL, source_form="plain", form="zst")
    out = subprocess.run([zstd_cli, "-d", "-c", str(stored.path)], capture_output=True, check=True)
    assert out.stdout == data


def test_multi_frame_zst_reads_whole(tmp_path: Path) -> None:
    parts = [csv_bytes("gps", 100, s) for s in range(3)]
    cctx = zstandard.ZstdCompressor()
    blob = b"".join(cctx.compress(p) for p in parts)
    stored = write_data_file(io.BytesIO(blob), tmp_path / REL, source_form="zst", form="zst")
    assert stored.path.read_bytes() == blob  # compressed input is stored as is
    assert stored.sha1_b64 == sha1_b64(b"".join(parts))
    assert read_data_file(stored.path).read() == b"".join(parts)


@pytest.mark.parametrize("cut", [1, 3, 4, 100])
def test_truncated_zst_is_refused_and_nothing_written(tmp_path: Path, cut: int) -> None:
    data = csv_bytes("gps", 2000)
    blob = zstandard.ZstdCompressor(write_checksum=True).compress(data)[:-cut]
    with pytest.raises(CorruptZstd, match="truncated|damaged") as info:
        write_data_file(io.BytesIO(blob), tmp_path / REL, source_form="zst", form="plain")
    assert isinstance(info.value, ValueError)
    assert str(tmp_path / REL) in str(info.value)
    assert not (tmp_path / REL).exists()
    assert _no_temp_files(tmp_path)


def test_garbage_and_empty_zst(tmp_path: Path) -> None:
    with pytest.raises(CorruptZstd, match="not zstd data"):
        write_data_file(io.BytesIO(b"hello, not zstd"), tmp_path / REL, source_form="zst")
    with pytest.raises(CorruptZstd, match="empty"):
        write_data_file(io.BytesIO(b""), tmp_path / REL, source_form="zst")
    bad = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(csv_bytes("gps", 500)))
    bad[len(bad) // 2] ^= 0xFF
    with pytest.raises(CorruptZstd, match="damaged"):
        write_data_file(io.BytesIO(bytes(bad)), tmp_path / REL, source_form="zst")
    assert not list(tmp_path.rglob("*.csv*"))
    assert _no_temp_files(tmp_path)


def test_ours_opens_with_cryptease(tmp_path: Path, key: LockKey) -> None:
    data = csv_bytes("gps", 1000)
    a = write_data_file(io.BytesIO(data), tmp_path / REL, source_form="plain", form="lock", key=key)
    b_rel = REL.replace("02_00", "03_00")
    b = write_data_file(
        io.BytesIO(data), tmp_path / b_rel, source_form="plain", form="lock", key=key
    )
    # same run key: same salt, different IVs
    ha, hb = a.path.read_bytes(), b.path.read_bytes()
    assert ha[-200:] != hb[-200:]
    salt = key.kdf_metadata["params"]["salt"].encode()
    assert salt in ha[:400] and salt in hb[:400]
    for path in (a.path, b.path):
        decrypted = _cryptease_decrypt(path, "correct horse")
        assert zstandard.ZstdDecompressor().decompress(decrypted) == data


def test_cryptease_files_open_with_ours(tmp_path: Path) -> None:
    """What mano 0.6.0 wrote: cryptease over the plain CSV, one salt per file."""
    data = csv_bytes("gps", 1000)
    paths = []
    for hour in range(3):
        p = tmp_path / (REL.replace("02_00", f"0{hour}_00") + ".lock")
        p.parent.mkdir(parents=True, exist_ok=True)
        _cryptease_encrypt(data, p, "pw")
        paths.append(p)
    reader = mano_files._datafile.reading_key("pw")
    for p in paths:
        assert read_data_file(p, key=reader).read() == data
    assert len(reader._cache) == 3  # one derivation per distinct salt, cached
    audio = wav_bytes(5000)
    ap = (
        tmp_path
        / "ab12cd34/audio_recordings/587442edf7321c14da193487/2020-10-05 02_13_20+00_00.wav.lock"
    )
    ap.parent.mkdir(parents=True)
    _cryptease_encrypt(audio, ap, "pw")
    assert read_data_file(ap, key="pw").read() == audio
    with pytest.raises(WrongPassphrase, match="does not decrypt to audio"):
        read_data_file(ap, key="wrong").read()


def test_wrong_passphrase_messages(tmp_path: Path, key: LockKey) -> None:
    data = csv_bytes("gps", 1000)
    ours = write_data_file(
        io.BytesIO(data), tmp_path / REL, source_form="plain", form="lock", key=key
    )
    with pytest.raises(WrongPassphrase, match="wrong passphrase") as info:
        sha1_b64_file(ours.path, key="not it")
    assert "not it" not in str(info.value) and "correct horse" not in str(info.value)
    legacy = tmp_path / (REL + ".lock")
    _cryptease_encrypt(data, legacy, "correct horse")
    with pytest.raises(WrongPassphrase, match="CSV text"):
        read_data_file(legacy, key="not it").read()
    with pytest.raises(KeyRequired, match="passphrase is needed"):
        read_data_file(legacy)
    # a derived key (no passphrase) cannot open another salt's file
    bare = LockKey(key=key.key, salt=key.salt, iterations=key.iterations)
    assert read_data_file(ours.path, key=bare).read() == data
    with pytest.raises(WrongPassphrase, match="different key"):
        read_data_file(legacy, key=bare).read()
    # unlocking to a file never writes garbage
    with pytest.raises(WrongPassphrase), open(legacy, "rb") as src:
        write_data_file(src, tmp_path / "out" / REL, source_form="lock", form="plain", key="nope")
    assert not (tmp_path / "out" / REL).exists()
    assert _no_temp_files(tmp_path)


def test_key_repr_hides_secrets() -> None:
    k = derive_key("sekrit-pass", salt=b"s" * 32)
    assert "sekrit" not in repr(k) and k.key.hex() not in repr(k)
    assert "redacted" in str(k)
    assert derive_key("sekrit-pass", salt=b"s" * 32).key == k.key
    ck = cryptease.kdf("sekrit-pass", salt=b"s" * 32)
    assert ck.key == k.key
    assert k.kdf_metadata == ck.metadata
    with pytest.raises(InvalidOption, match="non-empty"):
        derive_key("")


def test_cfb8_resolves_without_warning_and_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    import cryptography.hazmat.decrepit.ciphers.modes as decrepit

    _crypto.cfb8_mode.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mode = _crypto.cfb8_mode()
    assert mode is decrepit.CFB8  # the non-deprecated home is preferred
    monkeypatch.setattr(_crypto, "_CFB8_MODULES", ("cryptography.no_such_module",))
    _crypto.cfb8_mode.cache_clear()
    try:
        with pytest.raises(mano_files.CryptoUnavailable, match="no AES-CFB8"):
            _crypto.cfb8_mode()
        monkeypatch.setattr(_crypto, "_CFB8_MODULES", ("cryptography.hazmat.primitives.hashes",))
        with pytest.raises(mano_files.CryptoUnavailable, match="no AES-CFB8"):
            _crypto.cfb8_mode()
    finally:
        _crypto.cfb8_mode.cache_clear()


def test_levels_and_forms_validated(tmp_path: Path) -> None:
    for bad in (0, 23, "2", True):
        with pytest.raises(InvalidOption, match="1 to 22"):
            write_data_file(io.BytesIO(b"x"), tmp_path / REL, source_form="plain", level=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match="cannot write form"):
        write_data_file(io.BytesIO(b"x"), tmp_path / REL, source_form="plain", form="gzip")
    with pytest.raises(KeyRequired, match="needs a key"):
        write_data_file(io.BytesIO(b"x"), tmp_path / REL, source_form="plain", form="lock")
    stored = write_data_file(
        io.BytesIO(b"a,b\n1,2"), tmp_path / REL, source_form="plain", form="zst", level=19
    )
    assert read_data_file(stored.path).read() == b"a,b\n1,2"


def test_target_exists_and_other_forms(tmp_path: Path) -> None:
    plain = tmp_path / REL
    write_data_file(io.BytesIO(b"a,b\n1,2"), plain, source_form="plain", form="plain")
    with pytest.raises(TargetExists, match="overwrite=True") as info:
        write_data_file(io.BytesIO(b"a,b\n3,4"), plain, source_form="plain", overwrite=False)
    assert isinstance(info.value, FileExistsError)
    assert plain.read_bytes() == b"a,b\n1,2"
    # a new form replaces the old one: one copy per file in the tree
    write_data_file(io.BytesIO(b"a,b\n3,4"), plain, source_form="plain", form="zst")
    assert sorted(p.name for p in plain.parent.iterdir()) == [plain.name + ".zst"]
    write_data_file(
        io.BytesIO(b"a,b\n5"), plain, source_form="plain", form="plain", remove_other_forms=False
    )
    assert len(list(plain.parent.iterdir())) == 2


def test_disk_full_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_atomic.os, "replace", full)
    with pytest.raises(DiskFull, match="disk full") as info:
        write_data_file(io.BytesIO(b"a,b\n1,2"), tmp_path / REL, source_form="plain")
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert _no_temp_files(tmp_path)
    assert not (tmp_path / REL).exists()


def test_disk_full_for_real_with_dev_full(tmp_path: Path) -> None:
    from mano_files._errors import wrap_os_error

    with pytest.raises(OSError) as info, open("/dev/full", "wb") as fh:
        fh.write(b"x" * 10)
        fh.flush()
    err = wrap_os_error(info.value, "/dev/full", "write")
    assert isinstance(err, DiskFull)
    assert "free some space" in str(err)


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ab12cd34/gps"
    folder.mkdir(parents=True)
    if os.geteuid() == 0:  # root ignores modes: make the OS answer EACCES the way it would

        def denied(path: object, *args: object, **kwargs: object) -> int:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

        monkeypatch.setattr(_atomic.os, "open", denied)
    else:
        folder.chmod(0o500)
    try:
        with pytest.raises(PermissionDenied, match="permission denied to write") as info:
            write_data_file(io.BytesIO(b"a,b"), tmp_path / REL, source_form="plain")
    finally:
        folder.chmod(0o700)
    assert isinstance(info.value, PermissionError)
    assert "check the file and folder permissions" in str(info.value)
