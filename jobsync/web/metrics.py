"""What `/metrics` shows, in Prometheus text (prometheus-client), on a registry of the service's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
