"""What the MCP server keeps for its whole life: the current brain, open across tool calls
(core/live.py), its debounced auto-sync after writes (started by the first write, drained and
stopped by server.serve when the client hangs up), and the hub client those syncs and nmem_sync
share (sync/kept.py, closed by server.serve)."""

from __future__ import annotations

from neuralmemory.core.live import LiveBrain
from neuralmemory.sync import service
from neuralmemory.sync.auto import AutoSync

LIVE = LiveBrain()
HUB = service.kept_hub()
AUTO_SYNC: AutoSync = service.auto_scheduler(HUB)
