"""Credentials from a keyring work against the server emulator over real HTTP."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from mano_api import BeiweClient
from mano_auth import Credentials, InvalidKey, KeyShapeWarning, add_section, load_keyring
from mano_testing import Emulator
from tests.auth.conftest import PASSPHRASE


def _post(creds: Credentials | dict[str, str], path: str) -> tuple[int, bytes]:
    if isinstance(creds, Credentials):
        url, form = creds.base_url, {"access_key": creds.access_key, "secret_key": creds.secret_key}
    else:
        url, form = (
            creds["URL"],
            {"access_key": creds["ACCESS_KEY"], "secret_key": creds["SECRET_KEY"]},
        )
    request = urllib.request.Request(
        url + path, data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_keyring_section_from_emulator_authenticates(tmp_path: Path) -> None:
    with Emulator(participants=1, days=1, seed=3) as emu:
        section = {**emu.credentials, "URL": emu.url + "/", "SECRETS": {emu.study_name: "pw"}}
        path = tmp_path / "k.enc"
        add_section("emu", section, path, password=PASSPHRASE, create=True)
        creds = load_keyring("emu", path, password=PASSPHRASE)
        assert creds.base_url == emu.url  # trailing slash dropped, http allowed on loopback
        status, _ = _post(creds, "/check-my-credentials/v1")
        assert status == 200
        assert creds.study_passphrase(emu.study_id, studies=emu.studies) == "pw"


@pytest.mark.parametrize("bad", ["=", "-", "_"])
def test_keys_we_reject_are_keys_the_server_rejects(bad: str) -> None:
    """Our key check (docs/beiwe-server.md#checks) agrees with the server: such a key is a 400, not a 403."""
    with Emulator(participants=1, days=1, seed=3) as emu:
        access, secret = emu.access_key, emu.secret_key
        status, body = _post(
            {"URL": emu.url, "ACCESS_KEY": access, "SECRET_KEY": secret + bad},
            "/check-my-credentials/v1",
        )
        assert (status, body) == (400, b"")
        with pytest.warns(KeyShapeWarning):
            loose = Credentials(emu.url, access, secret + bad)
        with pytest.raises(InvalidKey):
            loose.check_keys()
        with pytest.raises(InvalidKey, match="SECRET_KEY contains 1 character"):
            BeiweClient(loose)  # refused before any request is sent
