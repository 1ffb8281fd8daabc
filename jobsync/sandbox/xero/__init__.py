"""A Xero stand-in on loopback: the Accounting API, identity and consent, limits, faults and arithmetic."""
