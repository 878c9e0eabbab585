"""Run a command and report its own wall time and peak RSS, untainted by the harness.

Linux charges a child's ``ru_maxrss`` with the high-water RSS of the memory image it replaced at
``exec``: a command started straight from the harness (which holds trees, an emulator and its
cache) would inherit the harness's peak. Forked from this small interpreter instead (started
with ``-I -S``, about 7 MB), the command's figure is its own (with a ~7 MB floor). The timing
is also taken here, around fork and wait, so this launcher's own start-up is not counted.

Usage: python -I -S launch.py RESULT_JSON COMMAND [ARG ...]
Writes {"seconds", "maxrss_kb", "returncode"} to RESULT_JSON; exits with the command's status.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    result, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the command
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(result, "w", encoding="ascii") as fh:
        json.dump({"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "returncode": code}, fh)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
