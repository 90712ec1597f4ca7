"""`python -m neuralmemory.sync.background BRAIN STAMP_FILE STAMP`: the detached auto-sync child.

Started by auto.spawn_detached after a CLI write. It waits out the debounce, and syncs only if no
later write re-stamped the file (that write's own child will). Failures are recorded by the
service as the brain's last error; this process prints nothing and always exits 0.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from neuralmemory.errors import NmemError
from neuralmemory.sync.auto import DEBOUNCE_SECONDS


def main(argv: list[str]) -> int:
    brain, stamp_file, stamp = argv
    time.sleep(DEBOUNCE_SECONDS)
    try:
        if Path(stamp_file).read_text(encoding="utf-8") != stamp:
            return 0  # a later write scheduled its own sync
    except OSError:
        return 0
    from neuralmemory.sync import service

    with contextlib.suppress(NmemError):  # recorded as last_error; `nmem sync status` shows it
        service.run_sync("full", brain=brain)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
