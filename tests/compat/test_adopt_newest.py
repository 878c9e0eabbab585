"""Trees the newest mano wrote are adopted by sync: nothing is fetched again or duplicated."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import cryptease
import zstandard

from mano_files import read_data_file
from mano_sync import Manifest, sync_study
from tests.compat.conftest import files_under, reference

PASSPHRASE = "newest mano data passphrase"


def _cryptease(data: bytes, target: Path) -> None:
    """What the newest mano's do_encrypted_write does: cryptease over the given bytes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptease 0.2 names a deprecated cryptography path
        cryptease.encrypt(io.BytesIO(data), cryptease.kdf(PASSPHRASE), filename=str(target))


def test_newest_mano_tree_with_nested_participant_folder_is_adopted(
    beiwe_emulator: Any, tmp_path: Path
) -> None:
    emu = beiwe_emulator
    pid = next(p for p in emu.participants if emu.files(participant=p, stream="gps"))
    compressed = reference(emu.credentials, emu.study_id, [pid], version=2)
    plain = reference(emu.credentials, emu.study_id, [pid])
    study = tmp_path / emu.study_id
    # The newest README's backfill(..., f"/path/to/{study_id}/{participant_id}/", ...) wrote
    # <study>/<pid>/<pid>/...: .zst kept compressed, gps locked over zstd (.zst.lock),
    # another stream locked after decompression (.lock), the rest decompressed.
    nested = study / pid
    others = sorted({n.split("/")[1] for n in plain} - {"gps", "accelerometer"})
    locked_plain = others[0]
    forms: dict[str, str] = {}
    for name, data in compressed.items():
        base = name[: -len(".zst")]
        stream = base.split("/")[1]
        target = nested / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if stream == "gps":
            _cryptease(data, nested / (name + ".lock"))
            forms[base] = ".zst.lock"
        elif stream == locked_plain:
            _cryptease(plain[base], nested / (base + ".lock"))
            forms[base] = ".lock"
        elif stream == "accelerometer":
            target.write_bytes(data)
            forms[base] = ".zst"
        else:
            (nested / base).write_bytes(zstandard.ZstdDecompressor().decompress(data))
            forms[base] = ""
    assert {".zst.lock", ".lock", ".zst", ""} <= set(forms.values())

    summary = sync_study(
        emu.credentials, emu.study_id, study, participants=[pid], passphrase=PASSPHRASE
    )
    assert summary.ok, summary.failed
    # nothing fetched again, nothing duplicated: each file once, in the form it had
    assert summary.new == 0 and summary.updated == 0
    tree = files_under(study)
    assert set(tree) == {base + suffix for base, suffix in forms.items()}
    assert not (study / pid / pid).exists()
    for base, suffix in forms.items():
        with read_data_file(study / (base + suffix), key=PASSPHRASE) as fh:
            assert fh.read() == plain[base], base
    with Manifest(study, readonly=True) as manifest:
        assert all(manifest.get(base) is not None for base in forms)


def test_a_nested_file_already_present_above_is_left_alone(
    beiwe_emulator: Any, tmp_path: Path
) -> None:
    emu = beiwe_emulator
    pid = next(p for p in emu.participants if emu.files(participant=p, stream="gps"))
    plain = reference(emu.credentials, emu.study_id, [pid], ["gps"])
    name, data = sorted(plain.items())[0]
    study = tmp_path / "study"
    above = study / name
    above.parent.mkdir(parents=True)
    above.write_bytes(data)
    nested = study / pid / (name + ".zst")
    nested.parent.mkdir(parents=True)
    nested.write_bytes(zstandard.ZstdCompressor().compress(b"an older copy\n"))
    summary = sync_study(
        emu.credentials, emu.study_id, study, participants=[pid], data_streams=["gps"]
    )
    assert summary.ok
    assert above.read_bytes() == data  # the file above wins; nothing was overwritten
    assert nested.exists()  # the nested copy is left for the user to look at
    assert {
        k: v for k, v in files_under(study).items() if not k.startswith(f"{pid}/{pid}/")
    } == plain
