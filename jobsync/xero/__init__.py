"""Everything that talks to Xero: the gateway interface, its xero-python adapter, and auth."""
