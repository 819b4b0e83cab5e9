"""Fixtures for the command-line and demo tests: a cluster, a clean database, background commands (see helpers.cli)."""

from __future__ import annotations

from helpers.cli import cluster_url, fresh_db, spawn  # noqa: F401  (fixtures)
