"""Rows for test_names_and_kinds, in the samples' standard CSV layout."""

from datetime import UTC, datetime

NOW = datetime(2026, 11, 25, tzinfo=UTC)
_JOB = "J1,1,Completed,25/11/2026 10:00,C1,Client One,c1@example.com,"
LABOUR_ROW = _JOB + ",labour,,Labour,2,90.00,,,"
SUB_ROW = _JOB + ",Sub-contractor,,Tiler on site,1,400.00,,,"
