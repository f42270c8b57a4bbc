"""JSON-lines logging: one event per line, the event's fields as keys.

Call sites log a short event name and put ids in ``extra`` (``job_id``,
``subscription_id``, ``container``...). Keys that name secrets are replaced
before anything is written, whatever the call site passed.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from typing import Any, TextIO

import msgspec

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName",
}
_SECRET_WORDS = ("private_key", "password", "bearer", "authorization", "secret", "token")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


def is_secret_key(key: str) -> bool:
    k = key.lower()
    return any(word in k for word in _SECRET_WORDS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): ("***" if is_secret_key(str(k)) else _jsonable(v))
                for k, v in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            event[key] = "***" if is_secret_key(key) else _jsonable(value)
        if record.exc_info and record.exc_info[0] is not None:
            event["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(event).decode()


def configure_logging(
    level: str = "info",
    *,
    path: str | None = None,
    max_bytes: int = 1 << 30,
    backup_count: int = 2,
    stream: TextIO | None = None,
) -> None:
    """Send JSON lines to stdout (journald-friendly) and, if ``path`` is set, a rotating file."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    formatter = JsonFormatter()
    console = logging.StreamHandler(stream or sys.stdout)
    console.setFormatter(formatter)
    root.addHandler(console)
    if path:
        rotating = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        rotating.setFormatter(formatter)
        root.addHandler(rotating)
    root.setLevel(LEVELS.get(level.lower(), logging.INFO))
    # pykka logs every ask exception at INFO with a traceback; ours are reported once already.
    logging.getLogger("pykka").setLevel(logging.WARNING)
