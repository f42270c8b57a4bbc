"""Node and system figures: snapshots, Prometheus exposition and HTTP forwarding."""
