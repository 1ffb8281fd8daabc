"""`python -m jobsync`: the same command line as the `jobsync` script."""

from jobsync.cli.main import main

main()
