"""Streamed response bodies that always release the producer.

The WSGI server calls ``close()`` on the body iterable when the client goes away
or the body is done; closing our generator closes the producer's iterator, which
is how the service learns that a stream ended early.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

log = logging.getLogger(__name__)


def stream_body(chunks: Iterable[bytes], first: bytes | None = None) -> Iterator[bytes]:
    try:
        if first is not None:
            # Its own chunk: the official client takes the first chunk received as the id.
            yield first
        for chunk in chunks:
            # An empty chunk would read as the end of a chunked body.
            if chunk:
                yield chunk
    except Exception:
        # Headers are gone already: all we can do is end the body (like the original).
        log.exception("streamed response failed")
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
