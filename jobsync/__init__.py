"""jobsync: completed jobs in a job management system become Xero invoices, exactly once."""

__version__ = "0.1.0"
