"""`mano keyring init|add|remove|list|passwd|check|secret`: the encrypted credentials file.

Secrets never come from command-line arguments: keys come from ``BEIWE_ACCESS_KEY`` /
``BEIWE_SECRET_KEY`` (``--from-env``) or a hidden prompt; passphrases from ``NRG_KEYRING_PASS``
(current), ``MANO_NEW_KEYRING_PASS`` (new, for ``passwd``), ``MANO_LOCK_PASSPHRASE`` (a study's
data passphrase) or a hidden prompt — and prompts only happen on a terminal.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import typer

from mano_cli._api import open_client
from mano_cli._context import (
    KEYRING_PASS_VAR,
    LOCK_PASS_VAR,
    Settings,
    ask_secret,
    confirm,
    load_credentials,
    settings,
    stdin_is_tty,
)
from mano_cli._errors import CredentialsProblem, PartialFailure, UsageProblem
from mano_cli._output import dumps, table, write_text

__all__ = ["NEW_PASS_VAR", "app"]

NEW_PASS_VAR = "MANO_NEW_KEYRING_PASS"

app = typer.Typer(
    no_args_is_help=True,
    help="Manage the encrypted keyring of server credentials (~/.nrg-keyring.enc).",
)


def _passphrase_once(s: Settings) -> str | None:
    """Ask for an encrypted keyring's passphrase once, for a read followed by a write.

    A plain JSON keyring needs none; a missing or unreadable file is left for the library
    call that follows to report.
    """
    import json

    from mano_auth import get_passphrase
    from mano_cli._context import keyring_path

    path = keyring_path(s)
    try:
        json.loads(path.read_bytes())
    except OSError:
        return None
    except ValueError:  # binary: a cryptease file (or garbage the library will name)
        return get_passphrase(path=path)
    return None


def _new_passphrase() -> str | None:
    """A new keyring passphrase: NRG_KEYRING_PASS for a new file, else prompt (TTY only)."""
    value = os.environ.get(KEYRING_PASS_VAR)
    if value:
        return value
    if not stdin_is_tty():
        raise CredentialsProblem(
            f"a new keyring needs a passphrase and stdin is not a TTY: set {KEYRING_PASS_VAR}"
        )
    return None  # mano-auth prompts twice


@app.command("init")
def init(
    ctx: typer.Context,
    force: bool = typer.Option(
        False, "--force", help="Replace an existing keyring (asks first unless -y)."
    ),
) -> None:
    """Create an empty encrypted keyring (passphrase from NRG_KEYRING_PASS or asked twice)."""
    from mano_auth import write_keyring
    from mano_cli._context import keyring_path

    s = settings(ctx)
    path = keyring_path(s)
    if path.exists():
        if not force:
            raise UsageProblem(
                f"a keyring already exists at {path}; add sections with `mano keyring add`, or pass --force to replace it"
            )
        confirm(s, f"Replace the keyring {path} and lose every section in it?")
    password = _new_passphrase()
    written = write_keyring({}, s.keyring_file, password=password, overwrite=force)
    s.err.print(
        f"created keyring {written}; add a server with: mano keyring add NAME --url https://…"
    )


def _key(variable: str, label: str, from_env: bool) -> str:
    value = os.environ.get(variable)
    if from_env:
        if not value:
            raise CredentialsProblem(f"--from-env given but {variable} is not set")
        return value
    if value:
        return value
    return ask_secret(label, variable=variable)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., metavar="NAME", help="Section name, e.g. the server's short name."
    ),
    url: str | None = typer.Option(
        None, "--url", metavar="URL", help="Server URL (default: $BEIWE_URL)."
    ),
    from_env: bool = typer.Option(
        False,
        "--from-env",
        help="Take the keys from BEIWE_ACCESS_KEY / BEIWE_SECRET_KEY (no prompt).",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Replace an existing section (asks first unless -y)."
    ),
) -> None:
    """Add server credentials as section NAME (keys from the environment or a hidden prompt)."""
    from mano_auth import Credentials, add_section
    from mano_cli._context import checked_keys, keyring_path

    s = settings(ctx)
    server = url or os.environ.get("BEIWE_URL")
    if not server:
        raise UsageProblem("no server URL: pass --url https://… (or set BEIWE_URL)")
    access_key = _key("BEIWE_ACCESS_KEY", "Access key", from_env)
    secret_key = _key("BEIWE_SECRET_KEY", "Secret key", from_env)
    creds = checked_keys(
        lambda: Credentials(url=server, access_key=access_key, secret_key=secret_key, name=name)
    )
    path = keyring_path(s)
    password: str | None = None
    if not path.exists():
        password = _new_passphrase()
    if replace:
        confirm(s, f"Replace section {name!r} of {path}?")
    add_section(name, creds, s.keyring_file, password=password, replace=replace, create=True)
    s.err.print(
        f"saved section {name!r} ({creds.url}) in {path}; try: mano --keyring {name} keyring check"
    )


@app.command("secret")
def secret(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="Keyring section."),
    study: str = typer.Argument(
        ..., metavar="STUDY", help="Study name (or id) the data passphrase belongs to."
    ),
    remove: bool = typer.Option(False, "--remove", help="Remove the study's passphrase instead."),
) -> None:
    """Store a study's data (lock) passphrase in the section's SECRETS (from MANO_LOCK_PASSPHRASE or asked twice)."""
    from mano_auth import add_section, read_keyring

    s = settings(ctx)
    password = _passphrase_once(s)
    keyring = read_keyring(s.keyring_file, password=password)
    section: dict[str, Any] = keyring[name].to_dict()
    secrets = dict(section.get("SECRETS") or {})
    if remove:
        if study not in secrets:
            raise UsageProblem(f"section {name!r} has no passphrase for study {study!r}")
        confirm(s, f"Remove the data passphrase of {study!r} from section {name!r}?")
        del secrets[study]
    else:
        if study in secrets:
            confirm(s, f"Replace the data passphrase of {study!r} in section {name!r}?")
        value = os.environ.get(LOCK_PASS_VAR) or ask_secret(
            f"Data passphrase for {study}", variable=LOCK_PASS_VAR, confirm_it=True
        )
        secrets[study] = value
    section["SECRETS"] = secrets
    if not secrets:
        section.pop("SECRETS")
    add_section(name, section, s.keyring_file, password=password, replace=True)
    s.err.print(
        f"{'removed' if remove else 'saved'} the data passphrase of {study!r} in section {name!r}"
    )


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="Section to remove."),
) -> None:
    """Remove section NAME from the keyring (asks first unless -y)."""
    from mano_auth import read_keyring, remove_section

    s = settings(ctx)
    password = _passphrase_once(s)
    keyring = read_keyring(s.keyring_file, password=password)
    if name not in keyring:
        keyring[name]  # raises SectionNotFound listing the sections
    confirm(s, f"Remove section {name!r} from {keyring.path}?")
    remove_section(name, s.keyring_file, password=password)
    s.err.print(f"removed section {name!r}")


@app.command("list")
def list_sections(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the keyring's sections (URL, masked access key, studies with a data passphrase)."""
    from mano_auth import read_keyring

    s = settings(ctx)
    keyring = read_keyring(s.keyring_file)
    rows: list[dict[str, Any]] = []
    for name in keyring.names:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                creds = keyring[name]
        except Exception as exc:  # a broken section must not hide the others
            rows.append(
                {"name": name, "url": None, "access_key": None, "secrets": [], "problem": str(exc)}
            )
            continue
        # keys of the wrong shape load (mano 0.6.0 read them) but will be refused: say so
        problems = [str(w.message) for w in caught if w.category.__name__ == "KeyShapeWarning"]
        rows.append(
            {
                "name": name,
                "url": creds.url,
                "access_key": creds.access_key[:4] + "…",
                "secrets": sorted(creds.secrets),
                "problem": "; ".join(problems) or None,
            }
        )
    if json_output or s.json:
        write_text(dumps(rows), None)
        return
    if not rows:
        s.err.print(f"the keyring {keyring.path} has no sections; add one with `mano keyring add`")
        return
    table(
        s,
        ["section", "url", "access key", "study passphrases"],
        [
            (
                r["name"],
                r["url"] or f"(invalid: {r['problem']})",
                r["access_key"] or "",
                ", ".join(r["secrets"]),
            )
            for r in rows
        ],
    )
    for r in rows:
        if r["url"] and r["problem"]:
            s.err.print(f"{r['name']}: {r['problem']}", markup=False, highlight=False)


@app.command("passwd")
def passwd(ctx: typer.Context) -> None:
    """Change the keyring passphrase (current: NRG_KEYRING_PASS or asked; new: MANO_NEW_KEYRING_PASS or asked twice)."""
    from mano_auth import change_passphrase

    s = settings(ctx)
    new = os.environ.get(NEW_PASS_VAR) or None
    if new is None and not stdin_is_tty():
        raise CredentialsProblem(
            f"the new passphrase is needed and stdin is not a TTY: set {NEW_PASS_VAR}"
        )
    path = change_passphrase(s.keyring_file, new_password=new)
    s.err.print(f"changed the passphrase of {path}")


@app.command("check")
def check(
    ctx: typer.Context,
    all_sections: bool = typer.Option(
        False, "--all-sections", help="Check every section of the keyring."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check credentials with the server (check-my-credentials) and count accessible studies."""
    from mano_cli._errors import classify

    s = settings(ctx)
    if all_sections:
        from mano_auth import read_keyring

        names: list[str | None] = list(read_keyring(s.keyring_file).names)
    else:
        names = [s.keyring]
    results: list[dict[str, Any]] = []
    for name in names:
        entry: dict[str, Any] = {
            "section": name,
            "url": None,
            "ok": False,
            "studies": None,
            "message": "",
        }
        try:
            creds = load_credentials(s, name) if name is not None else load_credentials(s)
            entry["url"] = creds.url
            with open_client(s, creds) as client:
                entry["message"] = client.check_credentials()
                entry["studies"] = len(client.studies())
            entry["ok"] = True
        except Exception as exc:
            if not all_sections:
                raise
            failure = classify(exc)
            entry["message"] = failure.message
            entry["exit_code"] = failure.exit_code
        results.append(entry)
    if json_output or s.json:
        write_text(dumps(results), None)
    else:
        for r in results:
            label = r["section"] or "environment"
            if r["ok"]:
                write_text(f"{label}: ok ({r['url']}, {r['studies']} studies)\n", None)
            else:
                s.err.print(f"{label}: FAILED: {r['message']}", markup=False)
    failed = [r for r in results if not r["ok"]]
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(results)} keyring sections failed the check")
