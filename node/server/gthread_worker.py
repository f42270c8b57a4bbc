"""gunicorn's gthread worker with a cheaper event loop.

The node's worker process is bound by one core, and gunicorn's loop thread
competes for it with every request. Per turn of its loop, stock gthread
touches the heartbeat file (a system call), asks whether its parent is alive
(another), and runs ``concurrent.futures.wait`` over every request in flight,
which locks each of them. Under load the loop turns once or twice per
request. Here the heartbeat and the parent check run at most once a second
(the arbiter's timeout is minutes), and a request's future leaves the
in-flight set by itself when it completes, so the loop never scans it.

Request handling, keep-alive, limits and shutdown are gunicorn's own.
"""

from __future__ import annotations

import selectors
import time
from concurrent import futures
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

HOUSEKEEPING_SECONDS = 1.0


class NodeThreadWorker(ThreadWorker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.futures: set[futures.Future[Any]] = set()  # in flight only
        self._housekept = 0.0

    def _wrap_future(self, fs: futures.Future[Any], conn: Any) -> None:
        fs.conn = conn  # type: ignore[attr-defined]  # gunicorn's finish_request reads it
        self.futures.add(fs)
        fs.add_done_callback(self.futures.discard)
        fs.add_done_callback(self.finish_request)

    def run(self) -> None:
        for sock in self.sockets:
            sock.setblocking(False)
            # The listener's name may be gone during a graceful shutdown; take it now.
            acceptor = partial(self.accept, sock.getsockname())
            self.poller.register(sock, selectors.EVENT_READ, acceptor)

        while self.alive:
            now = time.monotonic()
            if now - self._housekept >= HOUSEKEEPING_SECONDS:
                self._housekept = now
                self.notify()
                if not self.is_parent_alive():
                    break
            if self.nr_conns < self.worker_connections:
                for key, _ in self.poller.select(1.0):
                    key.data(key.fileobj)
            else:  # at the connection limit: wait for a request to finish
                futures.wait(list(self.futures), timeout=1.0,
                             return_when=futures.FIRST_COMPLETED)
            self.murder_keepalived()

        self.tpool.shutdown(False)
        self.poller.close()
        for sock in self.sockets:
            sock.close()
        futures.wait(list(self.futures), timeout=self.cfg.graceful_timeout)
