"""The package's public names: all reachable, and loaded only when first used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import mano_files


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
    }  # fmt: skip
    assert set(dir(mano_files)) >= set(mano_files.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mano_files.nope  # noqa: B018


def test_import_loads_neither_trees_nor_encryption_until_used() -> None:
    # Only what importing mano_files adds counts: a test runner may load some of these
    # itself at start-up (coverage's .pth imports sqlite3, for one).
    code = (
        "import json, sys\n"
        "watch = ('cryptography', 'mano_files._tree', 'mano_files._coverage', 'sqlite3')\n"
        "base = {m for m in watch if m in sys.modules}\n"
        "def new(): return [m for m in watch if m in sys.modules and m not in base]\n"
        "import mano_files\n"
        "before = new()\n"
        "from mano_files import write_data_file\n"
        "mid = new()\n"
        "mano_files.derive_key  # the function is there; deriving would load cryptography\n"
        "from mano_files import hash_tree\n"
        "after = new()\n"
        "print(json.dumps([before, mid, after, 'sqlite3' in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    before, mid, after, sqlite_loaded = json.loads(out.stdout)
    assert before == [] and mid == []
    assert "mano_files._tree" in after and sqlite_loaded
    assert "cryptography" not in after and "mano_files._coverage" not in after
