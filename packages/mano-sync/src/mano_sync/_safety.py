"""Where the engine may write: never through a symbolic link that leaves the study folder.

A participant or stream folder that is a link to somewhere else (another disk, another study,
a shared folder) would receive the files of this tree silently; such members are refused and
reported instead. Links that stay inside the study folder are followed.
"""

from __future__ import annotations

import os

__all__ = ["SafeFolders"]


class SafeFolders:
    """Answers, per relative folder of the tree, whether writing into it is safe (cached).

    Args:
        out: The study folder (itself may be a link: the tree is where it points).
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.root = os.path.realpath(out)
        self._seen: dict[str, str | None] = {}

    def problem(self, folder: str) -> str | None:
        """Why ``folder`` (``/``-separated, relative) must not be written into, or ``None``."""
        parts = folder.split("/")
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            if rel not in self._seen:
                self._seen[rel] = self._check(rel)
            if self._seen[rel] is not None:
                return self._seen[rel]
        return None

    def _check(self, rel: str) -> str | None:
        path = os.path.join(self.root, rel)
        if not os.path.islink(path):
            return None
        real = os.path.realpath(path)
        if real == self.root or real.startswith(self.root + os.sep):
            return None
        return (
            f"{rel} is a symbolic link to {real}, outside the study folder; nothing was "
            "written through it (replace the link by a folder, or sync into the link's target)"
        )
