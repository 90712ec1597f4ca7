"""What the MCP server keeps for its whole life: the current brain, open across tool calls
(core/live.py), and its debounced auto-sync after writes (started by the first write, drained
and stopped by server.serve when the client hangs up)."""

from __future__ import annotations

from neuralmemory.core.live import LiveBrain
from neuralmemory.sync import service
from neuralmemory.sync.auto import AutoSync

LIVE = LiveBrain()
AUTO_SYNC: AutoSync = service.auto_scheduler()
