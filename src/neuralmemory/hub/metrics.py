"""`GET /metrics`: the hub's counters in Prometheus' text format, off unless `--metrics` is given.

Requests by route and status, their latency, versions accepted by pushes and 429s. Counters are
per process (a registry of the app's own, never the library's global one): with several hub
processes on one PostgreSQL, scrape each. The endpoint is served keyless only to a program on this
machine (the loopback rule of local mode); from anywhere else it needs the bearer token the
operator gave with `--metrics-token-file`, so a hub's traffic figures never leak to the network.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from neuralmemory.hub.loopback import from_this_machine

#: latency buckets in seconds: a no-op pull is ~1 ms, a full push of 500 records ~30 ms
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: the label of a request that matched no route, so random paths cannot grow the label set
UNMATCHED = "unmatched"


class Metrics:
    """The counters of one hub app."""

    def __init__(self, token: str | None = None) -> None:
        # imported here: a hub started without --metrics never loads prometheus_client (about a
        # tenth of a second of every `nmem serve` start)
        from prometheus_client import CollectorRegistry, Counter, Histogram
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        self.token = token
        self.content_type = CONTENT_TYPE_LATEST
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "nmem_hub_requests",
            "Requests answered, by route template, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "nmem_hub_request_duration_seconds",
            "Time from the request's arrival to the end of its reply, by route template.",
            ("route",),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.pushed = Counter(
            "nmem_hub_records_pushed",
            "Versions accepted by pushes (unchanged retries and conflicts not counted).",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "nmem_hub_rate_limited",
            "Requests refused with 429.",
            registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if status == 429:
            self.rate_limited.inc()

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    def may_read(
        self, peer: str | None, headers: Iterable[tuple[str, str]], authorization: str | None
    ) -> bool:
        """A program on this machine, or anyone with the operator's metrics token."""
        if self.token is not None and authorization is not None:
            scheme, _, presented = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                presented.strip().encode(), self.token.encode()
            ):
                return True
        return from_this_machine(peer, headers)
