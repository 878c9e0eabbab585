"""``python -m mano``: the newest mano's way to reach its command.

The command lives in mano-cli (this package does not depend on it): when mano-cli is installed
this runs it, otherwise it says how to install it.
"""

from __future__ import annotations

import importlib
import sys


def main() -> int:
    """Run the ``mano`` command of mano-cli, or explain how to get it (exit code 2)."""
    try:
        cli = importlib.import_module("mano_cli.main")
    except ImportError:
        sys.stderr.write(
            "mano: error: the mano command is in mano-cli; install it with "
            "`pip install ./packages/mano-cli`, then run `mano`\n"
        )
        return 2
    cli.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
