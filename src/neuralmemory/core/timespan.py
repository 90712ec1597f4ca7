"""Points in time as people type them: `7d`-style spans back from now, or dates; and a wire
timestamp as the command line and the web UI show it (`short_time`).

`--since 7d` is seven days before now; `--since 2026-12-01` is that day's start (UTC), and
`--until 2026-12-01` its end, so a date given to both keeps that whole day. Full times
(`2026-12-01T09:30`, with an optional offset or Z) are taken as they are, UTC when no offset.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from neuralmemory.errors import InvalidInput

_SPAN = re.compile(r"^(\d{1,6})([mhdw])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
HINT = "a span back from now (30m, 12h, 7d, 2w) or a date (2026-12-01, 2026-12-01T09:30)"


def short_time(iso: str | None) -> str:
    """A wire timestamp (UTC) to the minute, as tables, status lines and pages show it."""
    return "never" if iso is None else iso[:16].replace("T", " ")


def parse_point(text: str, now_ms: int, *, end: bool = False) -> int:
    """Epoch ms for `text`; `end`: a bare date means the end of that day (for --until)."""
    value = text.strip()
    span = _SPAN.match(value)
    if span:
        return now_ms - int(span[1]) * _UNIT_MS[span[2]]
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return _ms(start + timedelta(days=1) if end else start)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{text!r} is not a time", hint=HINT) from None
    return _ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def parse_window(
    since: str | None, until: str | None, now_ms: int
) -> tuple[int | None, int | None]:
    """--since/--until as epoch ms (None: open)."""
    return (
        None if since is None else parse_point(since, now_ms),
        None if until is None else parse_point(until, now_ms, end=True),
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
