"""Shared fixtures and constants for the calendar tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC
H = timedelta(hours=1)
M = timedelta(minutes=1)
