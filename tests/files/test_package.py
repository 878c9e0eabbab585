"""The package's public names: all reachable, and loaded only when first used."""

from __future__ import annotations

import pytest

import mano_files
from tests.imports import modules_after


def test_every_public_name_resolves_and_lazy_table_matches_all() -> None:
    for name in mano_files.__all__:
        assert getattr(mano_files, name) is not None, name
    eager = {n for n in mano_files.__all__ if n not in mano_files._LAZY}
    assert set(mano_files._LAZY) <= set(mano_files.__all__)
    assert eager == {
        "__version__", "CorruptFile", "LocalIOError", "ManifestError", "ManoFilesError",
        "CorruptZstd", "CryptoUnavailable", "DiskFull", "InvalidDataPath", "InvalidOption",
        "KeyRequired", "PermissionDenied", "TargetExists", "UnsupportedEncryption",
        "WrongPassphrase", "AUDIO_STREAMS", "FORMS", "FORM_SUFFIXES", "STREAMS",
        "SURVEY_STREAMS", "DataPath", "Form", "form_of", "parse_data_path",
        "InflationLimit", "PassphraseMismatch", "ReadBackMismatch", "SourceChanged",
    }  # fmt: skip
    assert set(dir(mano_files)) >= set(mano_files.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mano_files.nope  # noqa: B018


def test_import_loads_neither_trees_nor_encryption_until_used() -> None:
    base, before, mid, after = modules_after(
        [
            "import mano_files",
            "from mano_files import write_data_file",
            # the function is there; deriving would load cryptography
            "import mano_files\nmano_files.derive_key\nfrom mano_files import hash_tree",
        ],
        watch=("cryptography", "mano_files._tree", "mano_files._coverage", "sqlite3"),
    )
    assert before - base == set() and mid - base == set()
    # the tree code is loaded; the hash cache (sqlite3) only once a hash scan runs
    assert "mano_files._tree" in after and "sqlite3" not in after - base
    assert "cryptography" not in after - base and "mano_files._coverage" not in after - base
