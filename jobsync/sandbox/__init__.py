"""Local emulators of Xero and the job systems, on loopback, for the demo and the tests.

Nothing here imports the rest of jobsync: an emulator that shares code with the
client it checks would prove nothing.
"""
