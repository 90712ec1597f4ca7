"""`python -m neuralmemory.sync.background HOME BRAIN STAMP`: the detached auto-sync child.

Started by auto.spawn_detached after a CLI write. It waits out the debounce, and syncs HOME's brain
only if no later write re-stamped the file (that write's own child will). Failures are recorded by
the service as the brain's last error; this process prints nothing and always exits 0.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from neuralmemory import config
from neuralmemory.errors import NmemError
from neuralmemory.sync.auto import DEBOUNCE_SECONDS, stamp_path


def main(argv: list[str]) -> int:
    home, brain, stamp = Path(argv[0]), argv[1], argv[2]
    time.sleep(DEBOUNCE_SECONDS)
    try:
        if stamp_path(home, brain).read_text(encoding="utf-8") != stamp:
            return 0  # a later write scheduled its own sync
    except OSError:
        return 0
    from neuralmemory.sync import indexer, service

    # a failure is recorded as last_error; `nmem sync status` shows it
    with config.using_home(home), contextlib.suppress(NmemError):
        if service.run_queued(brain) is not None:  # it synced: build what its pull left
            indexer.drain(brain)  # this process is the background already
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
