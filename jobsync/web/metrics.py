"""What `/metrics` shows, in Prometheus text (prometheus-client), on a registry of the service's own."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from jobsync.runtime import tally


class _XeroCalls(Collector):
    """Xero calls and Xero's 429s, as counted by the client for the life of the process."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        seen = tally.snapshot()
        yield CounterMetricFamily(
            "jobsync_xero_calls", "HTTP requests sent to Xero (each attempt)", value=seen.get(tally.XERO_CALLS, 0)
        )
        yield CounterMetricFamily(
            "jobsync_xero_rate_limited",
            "Answers of 429 (rate limited) from Xero",
            value=seen.get(tally.XERO_RATE_LIMITED, 0),
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "jobsync_webhook_events_received", "Events accepted into the inbox", ["source"], registry=r
        )
        self.rejected = Counter("jobsync_webhook_rejected", "Requests refused", ["source", "reason"], registry=r)
        self.replayed = Counter(
            "jobsync_webhook_events_replayed", "Events seen before (de-duplicated)", ["source"], registry=r
        )
        self.synced = Counter("jobsync_jobs_synced", "Invoices created by the service's passes", registry=r)
        self.event_to_invoice = Histogram(
            "jobsync_event_to_invoice_seconds",
            "From an event's arrival to the end of the pass that synced it",
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900),
            registry=r,
        )
        self.inbox = Gauge("jobsync_inbox_events", "Inbox events by state", ["state"], registry=r)
        self.jobs_waiting = Gauge(
            "jobsync_jobs_waiting", "Jobs not invoiced: held for a person, or failed and retried", ["kind"], registry=r
        )
        r.register(_XeroCalls())
