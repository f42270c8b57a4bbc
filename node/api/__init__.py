"""The REST API (falcon), compatible with Infernet Node v1.4.0."""
