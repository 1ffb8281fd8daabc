"""Process plumbing every layer may use: crash and pause points, stop requests, the private-file writer, logging,
the last-resort error log.
"""
