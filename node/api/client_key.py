"""Who is asking: the client key used for job namespaces, allowed_ips and rate limits.

The key is the TCP peer address. ``X-Forwarded-For`` is only believed when the
peer is one of our configured trusted proxies: then the right-most entry that is
not itself a trusted proxy is the client (entries further left were written by
the client and may be forged).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Deliberate fix: the original also admitted 192.168.0.0/16, i.e. a whole LAN. Docker
# bridge networks live in 172.16.0.0/12, loopback covers callers on this host.
_LOCAL_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("172.16.0.0/12"),
)


def parse_ip(text: str) -> IPAddress | None:
    """An address, with IPv4-mapped IPv6 (``::ffff:a.b.c.d``) folded to IPv4."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_local(client: str) -> bool:
    """True for callers on this host or on a Docker bridge network."""
    ip = parse_ip(client)
    return ip is not None and any(ip in net for net in _LOCAL_NETWORKS)


class ClientKeyResolver:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        """``trusted_proxies``: CIDR strings or plain addresses. Raises ValueError on junk."""
        self._trusted = tuple(
            ipaddress.ip_network(p.strip(), strict=False) for p in trusted_proxies
        )

    def _is_trusted(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self._trusted)

    def resolve(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client key, or None when the peer address is unknown."""
        if not peer:
            return None
        peer_ip = parse_ip(peer)
        if peer_ip is None:
            return peer
        if not self._trusted or not forwarded_for or not self._is_trusted(peer_ip):
            return str(peer_ip)
        client = peer_ip
        for entry in reversed(forwarded_for.split(",")):
            hop = parse_ip(entry)
            if hop is None:
                # Junk written by someone we cannot vouch for: stop at the last known hop.
                break
            client = hop
            if not self._is_trusted(hop):
                break
        return str(client)
