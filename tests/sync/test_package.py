"""What a sync process imports: no report comparison, no keyring encryption, until used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import mano_sync


def test_every_public_name_resolves() -> None:
    for name in mano_sync.__all__:
        assert getattr(mano_sync, name) is not None, name
    assert set(mano_sync._LAZY) <= set(mano_sync.__all__)
    assert set(dir(mano_sync)) >= set(mano_sync.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mano_sync.nope  # noqa: B018


def test_sync_imports_load_neither_comparison_nor_cryptography() -> None:
    # Only what these imports add counts: a test runner may load some modules itself.
    code = (
        "import json, sys\n"
        "watch = ('cryptography', 'mano_sync._compare', 'mano_auth._cryptfile')\n"
        "base = {m for m in watch if m in sys.modules}\n"
        "def new(): return [m for m in watch if m in sys.modules and m not in base]\n"
        "from mano_auth import Credentials\n"
        "from mano_sync import sync_study\n"
        "Credentials.from_dict({'URL': 'https://example.org', 'USERNAME': 'u',\n"
        "    'PASSWORD': 'p', 'ACCESS_KEY': 'a' * 64, 'SECRET_KEY': 's' * 64})\n"
        "before = new()\n"
        "from mano_sync import compare_with_server\n"
        "after = new()\n"
        "print(json.dumps([before, after]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    before, after = json.loads(out.stdout)
    assert before == []
    assert "mano_sync._compare" in after
