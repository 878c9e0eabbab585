"""What a sync process imports: no report comparison, no keyring encryption, until used."""

from __future__ import annotations

import pytest

import mano_sync
from tests.imports import modules_after


def test_every_public_name_resolves() -> None:
    for name in mano_sync.__all__:
        assert getattr(mano_sync, name) is not None, name
    assert set(mano_sync._LAZY) <= set(mano_sync.__all__)
    assert set(dir(mano_sync)) >= set(mano_sync.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mano_sync.nope  # noqa: B018


def test_sync_imports_load_neither_comparison_nor_cryptography() -> None:
    base, before, after = modules_after(
        [
            "from mano_auth import Credentials\n"
            "from mano_sync import sync_study\n"
            "Credentials.from_dict({'URL': 'https://example.org', 'USERNAME': 'u',\n"
            "    'PASSWORD': 'p', 'ACCESS_KEY': 'a' * 64, 'SECRET_KEY': 's' * 64})",
            "from mano_sync import compare_with_server",
        ],
        watch=("cryptography", "mano_sync._compare", "mano_auth._cryptfile"),
    )
    assert before - base == set()
    assert "mano_sync._compare" in after - base
