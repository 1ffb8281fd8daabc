"""The one outbound HTTP layer: sessions with timeouts, User-Agent and proxies from the environment, and the
retry policies built on tenacity.
"""
