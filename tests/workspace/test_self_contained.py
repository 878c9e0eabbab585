"""The repository stands alone: no path outside it, no private section or issue numbers, and
every link into docs/beiwe-server.md lands on an anchor that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_DOC = ROOT / "docs" / "beiwe-server.md"
#: What a clone cannot resolve: a folder beside the repository, sections of a document it does
#: not have, numbers of an issue tracker it cannot see.
OUTSIDE = re.compile(
    r"\.\./shared|/work/shared|SPEC \u00a7|SPEC\.md|SPEC (section )?[0-9]|[Ii]ssues? #?[0-9]+"
)


def _tracked(*patterns: str) -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", *patterns],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        files = [ROOT / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # an export without git: walk the tree
        files = [p for pattern in patterns for p in ROOT.rglob(pattern.lstrip("*/"))]
    skip = {ROOT / "CHANGELOG.md", Path(__file__).resolve()}
    return sorted(p for p in files if p.is_file() and p not in skip)


def test_nothing_points_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _tracked("*.py", "*.md", "*.toml", "*.ini", "*.cfg", ".ci/*")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == [], "link inside the repository instead (docs/beiwe-server.md#...):\n" + (
        "\n".join(found)
    )


def _anchors() -> set[str]:
    return set(re.findall(r'<a id="([a-z0-9-]+)"></a>', SERVER_DOC.read_text(encoding="utf-8")))


def test_server_doc_covers_what_mano_relies_on() -> None:
    assert {
        "endpoints",
        "auth",
        "checks",
        "get-data",
        "zip-layout",
        "member-names",
        "storage-paths",
        "registry",
        "file-hashes",
        "streams",
        "csv-format",
        "quirks",
    } <= _anchors()


def test_links_to_the_server_doc_resolve() -> None:
    anchors = _anchors()
    broken = []
    for path in _tracked("*.py", "*.md"):
        text = path.read_text(encoding="utf-8")
        wanted = set(re.findall(r"beiwe-server\.md#([a-z0-9-]+)", text))
        if path == SERVER_DOC:
            wanted |= set(re.findall(r"\]\(#([a-z0-9-]+)\)", text))
        broken += [f"{path.relative_to(ROOT)}: #{name}" for name in sorted(wanted - anchors)]
    assert broken == [], "no such section in docs/beiwe-server.md:\n" + "\n".join(broken)
