"""Serving the node: gunicorn embedded, one worker that owns the actor system."""
