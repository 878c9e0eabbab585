"""One get-data v2 download with mano-api's BeiweClient, in its own process (peak RSS alone).

Downloads every file of the study (or of the given streams) in ONE request (the body streams to
a temporary file and is validated before ``download`` returns), then reads every member once,
as a caller extracting the archive would, and closes it. Credentials: MANO_BENCH_KEYRING (a keyring-section JSON dict).

Usage: python download_child.py STUDY_ID TMP_DIR [STREAM,STREAM...]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mano_api import BeiweClient
from mano_auth import Credentials


def main() -> None:
    creds = Credentials.from_dict(json.loads(os.environ["MANO_BENCH_KEYRING"]))
    study_id, tmp_dir = sys.argv[1], Path(sys.argv[2])
    streams = sys.argv[3].split(",") if len(sys.argv) > 3 else None
    members = read = 0
    with BeiweClient(creds) as client:
        with client.download(study_id, streams=streams, version=2, tmp_dir=tmp_dir) as archive:
            size = archive.size
            for member in archive.members():
                with archive.open(member) as fh:
                    while chunk := fh.read(1 << 20):
                        read += len(chunk)
                members += 1
    sys.stdout.write(
        json.dumps({"archive_bytes": size, "members": members, "member_bytes": read}) + "\n"
    )


if __name__ == "__main__":
    main()
