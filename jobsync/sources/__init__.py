"""Job-system connectors: each turns one platform's API or export into `Job` values."""
