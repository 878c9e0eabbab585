"""Lock files the way mano 0.6.0 does (run by the mano 0.6.0 venv's interpreter).

``mano.sync.save`` locks each archive member with ``crypt.kdf(passphrase)`` (a fresh salt and
100,000 PBKDF2-SHA256 rounds per file) then ``crypt.encrypt(content, key, filename=...,
permissions=0o0644)``. This script does exactly that for every path listed (one per line) in
``argv[1]``, reading the plain file as its content and writing ``<path>.lock``. The passphrase
comes from the MANO_BENCH_PASSPHRASE variable, never the command line.

Usage: python mano06_lock.py LISTFILE
"""

from __future__ import annotations

import json
import os
import sys

import cryptease as crypt


def main() -> None:
    passphrase = os.environ["MANO_BENCH_PASSPHRASE"]
    with open(sys.argv[1], encoding="utf-8") as fh:
        paths = [line.rstrip("\n") for line in fh if line.strip()]
    written = 0
    for path in paths:
        target = path + ".lock"
        with open(path, "rb") as content:
            key = crypt.kdf(passphrase)
            crypt.encrypt(content, key, filename=target, permissions=0o0644)
        written += os.path.getsize(target)
    sys.stdout.write(json.dumps({"files": len(paths), "bytes_out": written}) + "\n")


if __name__ == "__main__":
    main()
