"""Rules that involve more than one field: chain requirements, managed images,
unique container ids and free ports."""

from __future__ import annotations

from node.config.report import Report, index_path, key_path
from node.config.schema import Config


def check_cross_fields(config: Config, report: Report) -> None:
    _check_chain(config, report)
    _check_managed_containers(config, report)
    _check_unique_ids(config, report)
    _check_ports(config, report)


def _require(report: Report, path: str, present: bool, hint: str = "") -> None:
    if not present and not report.failed(path):
        report.error(path, f"must be set when chain.enabled is true{hint}")


def _check_chain(config: Config, report: Report) -> None:
    chain = config.chain
    if not chain.enabled:
        return
    _require(report, "chain.rpc_url", bool(chain.rpc_url))
    _require(report, "chain.registry_address", bool(chain.registry_address))
    _require(report, "chain.wallet", chain.wallet is not None, " (or set INFERNET_PRIVATE_KEY)")
    if chain.wallet is not None:
        _require(
            report,
            "chain.wallet.private_key",
            bool(chain.wallet.private_key),
            " (or set INFERNET_PRIVATE_KEY)",
        )


def _check_managed_containers(config: Config, report: Report) -> None:
    if not config.manage_containers:
        return
    for i, container in enumerate(config.containers):
        path = index_path("containers", i)
        if not container.image and not report.failed(key_path(path, "image")):
            report.error(key_path(path, "image"), "must be set when manage_containers is true")
        if container.url:
            report.warn(
                key_path(path, "url"),
                "set while manage_containers is true; requests go to this url, "
                "not to the managed container",
            )
        if container.bearer:
            report.warn(
                key_path(path, "bearer"),
                "set while manage_containers is true; it is sent to the managed container",
            )


def _check_unique_ids(config: Config, report: Report) -> None:
    first_index: dict[str, int] = {}
    for i, container in enumerate(config.containers):
        path = key_path(index_path("containers", i), "id")
        if report.failed(path):
            continue
        if container.id in first_index:
            report.error(
                path,
                f'duplicate id "{container.id}" (also containers[{first_index[container.id]}].id)',
            )
        else:
            first_index[container.id] = i


def _uses_port(config: Config, index: int) -> bool:
    # A container reached through its url listens on no local port of ours,
    # unless the node also starts it.
    return config.manage_containers or not config.containers[index].url


def _check_ports(config: Config, report: Report) -> None:
    owners: dict[int, str] = {}
    if not report.failed("server.port"):
        owners[config.server.port] = "server.port"
    for i, container in enumerate(config.containers):
        path = key_path(index_path("containers", i), "port")
        if report.failed(path) or not _uses_port(config, i):
            continue
        if container.port in owners:
            report.error(path, f"port {container.port} is also used by {owners[container.port]}")
        else:
            owners[container.port] = path
