"""gunicorn embedded as a library: one gthread worker that owns the actor system.

Why one worker: the actors hold the node's state (queues, in-flight jobs,
container lifecycles); a second process would run a second node. HTTP
concurrency comes from gthread threads instead. The actor system starts in
``post_worker_init`` — never in the master and never under ``preload_app`` —
so a forked child never inherits live threads.

Shutdown: SIGTERM and SIGINT both drain (gunicorn's default makes SIGINT a
quick exit). The worker stops accepting, lets in-flight requests finish, then
``worker_exit`` drains jobs for up to ``server.graceful_timeout`` seconds and
stops actors and managed containers. Exit status 0.

Escalation: when the supervisor gives up, the worker exits with gunicorn's
APP_LOAD_ERROR status, which makes the master halt with that status, so
systemd (Restart=on-failure) or Docker restarts the whole node.

systemd (Type=notify): gunicorn's own READY=1 comes when the master has bound
its socket, before any actor runs, so the application takes NOTIFY_SOCKET out
of the environment and the worker sends READY=1 itself once the actor system
has started, WATCHDOG=1 while the node is healthy, and STOPPING=1 on shutdown.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger

from node.config import LoadedConfig
from node.jsonlog import JsonFormatter, configure_logging
from node.server.gthread_worker import NodeThreadWorker
from node.server.late_service import LateService
from node.server.sd_notify import Notifier, WatchdogPinger, watchdog_interval
from node.stats.exposition import LateMetrics, board_metrics

log = logging.getLogger(__name__)

ESCALATION_EXIT = Arbiter.APP_LOAD_ERROR  # the master halts with this status


def _expected_start_errors() -> tuple[type[Exception], ...]:
    from actors.chain_system import ChainStartError
    from actors.supervisor import ChildStartError
    from node.containers.docker_errors import DockerEngineUnavailable
    from node.store.base import StoreError

    return (ChainStartError, ChildStartError, DockerEngineUnavailable, StoreError, OSError)
CONTAINER_STOP_MARGIN = 30.0  # seconds beyond the job drain for stopping containers


class JsonGunicornLogger(Logger):  # type: ignore[misc]
    """gunicorn's own messages as JSON lines like everything else."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())


class DrainingArbiter(Arbiter):  # type: ignore[misc]
    def handle_int(self) -> None:
        self.handle_term()

    def handle_term(self) -> None:
        # Tell systemd at once; the worker's drain may take a while.
        notifier = getattr(self.app, "notifier", None)
        if isinstance(notifier, Notifier):
            notifier.stopping("stopping: draining jobs")
        super().handle_term()


class NodeApplication(BaseApplication):  # type: ignore[misc]
    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        log_level: str | None = None,
        on_ready: Callable[[Any], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.log_level = log_level or loaded.config.log.level
        self.on_ready = on_ready
        self.service = LateService()
        self.metrics = LateMetrics()
        self.system: Any = None
        self.notifier = Notifier.from_environ(unset=True)
        self._watchdog: WatchdogPinger | None = None
        super().__init__()

    def load_config(self) -> None:
        server = self.loaded.config.server
        settings: dict[str, Any] = {
            "bind": [f"{server.host}:{server.port}"],
            "workers": 1,
            "worker_class": NodeThreadWorker,  # gthread with a cheaper event loop
            "threads": server.threads,
            "max_requests": 0,
            "preload_app": False,
            "timeout": 120,
            "keepalive": 75,
            "graceful_timeout": math.ceil(server.graceful_timeout + CONTAINER_STOP_MARGIN),
            "accesslog": None,
            "errorlog": "-",
            "loglevel": self.log_level,
            "logger_class": JsonGunicornLogger,
            "proc_name": "infernet-node",
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from node.api.app import ApiDeps, create_app

        crash = self._crash_actor if os.environ.get("INFERNET_FAULT_INJECTION") == "1" else None
        return create_app(ApiDeps(service=self.service, server=self.loaded.config.server,
                                  metrics=self.metrics, crash_actor=crash))

    def run(self) -> None:
        DrainingArbiter(self).run()

    # --- worker hooks (run in the worker process) -----------------------------

    def _post_worker_init(self, worker: Any) -> None:
        from actors.system import NodeSystem
        from node.server import json_errors

        json_errors.install()

        config = self.loaded.config
        configure_logging(self.log_level, path=config.log.path,
                          max_bytes=config.log.max_file_size,
                          backup_count=config.log.backup_count)
        for warning in self.loaded.warnings:
            log.warning("config warning", extra={"detail": warning})
        self.notifier.status("starting actors and containers")
        self.system = NodeSystem(config, on_escalate=self._escalate)
        try:
            self.service.bind(self.system.start())
        except Exception as exc:
            # `systemctl status` shows why, not only gunicorn's "Worker failed to boot".
            self.notifier.status(f"failed to start: {exc}")
            # One clear event; a traceback only for what is not a known operating problem.
            log.error("node failed to start", extra={"error": str(exc)},
                      exc_info=not isinstance(exc, _expected_start_errors()))
            try:
                self.system.stop()
            except Exception:
                log.exception("cleanup after a failed start failed")
            raise SystemExit(Arbiter.WORKER_BOOT_ERROR) from exc
        self.metrics.bind(board_metrics(self.system.board, node_id=self.system.node_id,
                                        chain_enabled=config.chain.enabled))
        if self.on_ready is not None:
            self.on_ready(self.system)
        self._notify_ready()

    def _notify_ready(self) -> None:
        if not self.notifier.enabled:
            return
        server = self.loaded.config.server
        self.notifier.ready(f"serving on {server.host}:{server.port} with "
                            f"{len(self.loaded.config.containers)} container(s)")
        interval = watchdog_interval(os.environ, (os.getpid(), os.getppid()))
        if interval is not None:
            self._watchdog = WatchdogPinger(self.notifier, interval, self.service.health)
            self._watchdog.start()

    def _worker_exit(self, server: Any, worker: Any) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
        self.notifier.stopping("stopping: draining jobs")
        system = self.system
        if system is None:
            return
        system.drain(self.loaded.config.server.graceful_timeout)
        self.service.bind(None)
        self.metrics.bind(None)
        system.stop()

    def _crash_actor(self, name: str) -> bool:
        system = self.system
        return system is not None and bool(system.crash_actor(name))

    def _escalate(self, reason: str) -> None:
        log.critical("node exits so its process manager can restart it",
                     extra={"reason": reason, "exit_status": ESCALATION_EXIT})
        self.notifier.status(f"failed: {reason}")
        logging.shutdown()
        os._exit(ESCALATION_EXIT)
