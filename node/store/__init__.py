"""Durable job records: an embedded SQLite store and a shared Redis store."""
