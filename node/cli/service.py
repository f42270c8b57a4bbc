"""``infernet-node install-service``: write a systemd unit for this installation.

The unit runs the ``infernet-node`` next to the running interpreter (so a venv
install keeps its venv), with the absolute config path, as the given user, in
the given working directory. ``deploy/infernet-node.service`` is this
renderer's output for the default layout (a test keeps them equal).
"""

from __future__ import annotations

import argparse
import getpass
import grp
import math
import os
import pwd
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from node.cli.doctor import load_or_report
from node.cli.run import add_config_option
from node.config.schema import Config

DEFAULT_UNIT_PATH = "/etc/systemd/system/infernet-node.service"
DEFAULT_WATCHDOG_SEC = 60
# Before READY=1: opening the job store, connecting to the chain, starting the actors
# (workflow images are pulled and containers started afterwards, in the background).
DEFAULT_START_TIMEOUT_SEC = 300
STOP_TIMEOUT_MARGIN = 30  # seconds beyond gunicorn's own graceful timeout
_HOME_ROOTS = ("/home", "/root", "/run/user")
_TMP_ROOTS = ("/tmp", "/var/tmp")


@dataclass(frozen=True)
class UnitSettings:
    executable: tuple[str, ...]  # argv prefix that runs infernet-node
    config_path: str
    working_dir: str
    user: str
    group: str
    stop_timeout: int
    writable: tuple[str, ...]  # paths the node writes: working dir, data dir, log dir
    watchdog_sec: int = DEFAULT_WATCHDOG_SEC
    docker_group: str = "docker"
    description: str = "Infernet Node"


def stop_timeout_for(config: Config) -> int:
    """Longer than the node's own shutdown: job drain, container stops, then a margin."""
    from node.server.gunicorn_app import CONTAINER_STOP_MARGIN

    graceful = math.ceil(config.server.graceful_timeout + CONTAINER_STOP_MARGIN)
    return graceful + STOP_TIMEOUT_MARGIN


def writable_paths(config: Config, working_dir: str) -> tuple[str, ...]:
    """Directories the node writes to, as absolute paths, the working dir first."""
    paths = [working_dir]
    candidates = [config.store.data_dir]
    if config.log.path:
        candidates.append(str(Path(config.log.path).parent))
    for candidate in candidates:
        path = os.path.normpath(os.path.join(working_dir, candidate))
        if not any(path == p or path.startswith(p.rstrip("/") + "/") for p in paths):
            paths.append(path)
    return tuple(paths)


def default_executable() -> tuple[str, ...]:
    """The ``infernet-node`` script of this interpreter's environment, else ``python -m node``."""
    beside = Path(sys.executable).parent / "infernet-node"
    if beside.is_file() and os.access(beside, os.X_OK):
        return (str(beside),)
    found = shutil.which("infernet-node")
    if found:
        return (os.path.abspath(found),)
    return (os.path.abspath(sys.executable), "-m", "node")


def _escape(value: str) -> str:
    """``%`` starts a specifier in unit files."""
    return value.replace("%", "%%")


def _quote(value: str) -> str:
    """A word of a space-separated unit setting, quoted when it holds whitespace."""
    value = _escape(value)
    if any(ch.isspace() for ch in value) or '"' in value:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _under(roots: tuple[str, ...], paths: tuple[str, ...]) -> bool:
    return any(p == root or p.startswith(root + "/") for p in paths for root in roots)


def render_unit(s: UnitSettings) -> str:
    exec_start = " ".join(_quote(word) for word in (
        *s.executable, "run", "--config", s.config_path))
    # ProtectHome=yes hides /home entirely; an install living there needs read-only instead.
    used = (*s.executable, s.config_path, *s.writable)
    protect_home = "read-only" if _under(_HOME_ROOTS, used) else "yes"
    # A private /tmp would hide an installation that lives in the host's /tmp.
    private_tmp = "no" if _under(_TMP_ROOTS, used) else "yes"
    env_lines = "".join(f"Environment={_quote(e)}\n" for e in (
        f"INFERNET_CONFIG_PATH={s.config_path}", "PYTHONUNBUFFERED=1"))
    # Optional, for secrets kept out of the config (the leading "-" allows it to be absent).
    env_file = _escape(str(Path(s.config_path).parent / "infernet-node.env"))
    writable = " ".join(_quote(p) for p in s.writable)
    return f"""\
# Written by `infernet-node install-service`; see docs/operations.md.
[Unit]
Description={s.description}
After=network-online.target docker.service
Wants=network-online.target docker.service
StartLimitIntervalSec=600
StartLimitBurst=5

[Service]
# The node sends READY=1 once its actors run, WATCHDOG=1 while healthy and
# STOPPING=1 on shutdown. The gunicorn worker (a child) sends, hence NotifyAccess=all.
Type=notify
NotifyAccess=all
WatchdogSec={s.watchdog_sec}
TimeoutStartSec={DEFAULT_START_TIMEOUT_SEC}
# Longer than the node's graceful drain plus container stops.
TimeoutStopSec={s.stop_timeout}
Restart=on-failure
RestartSec=5
# SIGTERM to gunicorn's master only: it drains its worker; SIGKILL to all on timeout.
KillMode=mixed
User={s.user}
Group={s.group}
# Managing workflow containers means talking to /run/docker.sock (group docker).
SupplementaryGroups={s.docker_group}
WorkingDirectory={_escape(s.working_dir)}
{env_lines}EnvironmentFile=-{env_file}
ExecStart={exec_start}
LimitNOFILE=65536
UMask=0027

# Hardening that still allows the Docker socket: connecting to a Unix socket is
# allowed on a read-only mount, and the node needs no capabilities of its own.
NoNewPrivileges=yes
PrivateTmp={private_tmp}
ProtectSystem=strict
ReadWritePaths={writable}
ProtectHome={protect_home}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
CapabilityBoundingSet=
AmbientCapabilities=
# Not set on purpose: PrivateDevices (nvidia-smi needs /dev/nvidia* for GPU stats)
# and MemoryDenyWriteExecute (libffi callbacks in the chain libraries need it off).

[Install]
WantedBy=multi-user.target
"""


def default_layout_unit() -> str:
    """The unit for the documented layout (``deploy/infernet-node.service``)."""
    config = Config()
    working_dir = "/var/lib/infernet-node"
    return render_unit(UnitSettings(
        executable=("/opt/infernet-node/venv/bin/infernet-node",),
        config_path="/etc/infernet-node/config.json", working_dir=working_dir,
        user="infernet", group="infernet", stop_timeout=stop_timeout_for(config),
        writable=writable_paths(config, working_dir)))


def _default_user() -> str:
    return os.environ.get("SUDO_USER") or getpass.getuser()


def _primary_group(user: str) -> str:
    try:
        return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    except KeyError:
        return user


def settings_from_args(args: argparse.Namespace, config: Config, config_path: str) -> UnitSettings:
    working_dir = os.path.abspath(args.working_dir or os.path.dirname(config_path))
    user = args.user or _default_user()
    executable = (os.path.abspath(args.executable),) if args.executable else default_executable()
    return UnitSettings(
        executable=executable, config_path=config_path, working_dir=working_dir,
        user=user, group=args.group or _primary_group(user),
        stop_timeout=stop_timeout_for(config), writable=writable_paths(config, working_dir),
        watchdog_sec=args.watchdog_sec, docker_group=args.docker_group,
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "install-service", help="write a systemd unit that runs this node",
        description="Write a systemd unit (Type=notify, watchdog, restart on failure, "
                    "hardened) for this installation and config.")
    add_config_option(p)
    p.add_argument("--user", default=None, help="user to run as (default: $SUDO_USER or you)")
    p.add_argument("--group", default=None, help="group to run as (default: the user's group)")
    p.add_argument("--working-dir", default=None,
                   help="working directory: relative data and log paths resolve here "
                        "(default: the config's directory)")
    p.add_argument("--executable", default=None,
                   help="infernet-node to run (default: the one beside this Python)")
    p.add_argument("--docker-group", default="docker",
                   help="group owning the Docker socket (default: docker)")
    p.add_argument("--watchdog-sec", type=int, default=DEFAULT_WATCHDOG_SEC,
                   help=f"systemd watchdog timeout (default: {DEFAULT_WATCHDOG_SEC})")
    p.add_argument("--output", "-o", default=DEFAULT_UNIT_PATH,
                   help=f"where to write the unit (default: {DEFAULT_UNIT_PATH})")
    p.add_argument("--dry-run", action="store_true", help="print the unit instead of writing it")
    p.set_defaults(handler=_install)


def _install(args: argparse.Namespace) -> int:
    if args.watchdog_sec <= 0:
        print("error: --watchdog-sec must be a positive number of seconds", file=sys.stderr)
        return 2
    loaded = load_or_report(args.config)
    if loaded is None:
        return 1
    config_path = os.path.abspath(loaded.path)
    settings = settings_from_args(args, loaded.config, config_path)
    if settings.executable[1:2] == ("-m",):
        print("warning: no infernet-node script beside this Python; the unit runs "
              "`python -m node`, which works only if the package is installed "
              "(pip install .) for that interpreter", file=sys.stderr)
    unit = render_unit(settings)
    if args.dry_run:
        sys.stdout.write(unit)
        return 0
    output = Path(args.output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(unit, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {output}: {exc.strerror or exc} "
              "(run with sudo, or use --output/--dry-run)", file=sys.stderr)
        return 1
    name = output.name
    print(f"wrote {output}\nnext: sudo systemctl daemon-reload && "
          f"sudo systemctl enable --now {name}\nlogs: journalctl -u {name} -f")
    return 0
