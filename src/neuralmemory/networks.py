"""Which addresses are the user's own network: loopback and private LAN, one list for everyone.

Devices allow plain http only to these (sync/transport.py), and `nmem serve --lan` serves only on
one of them (hub/lan.py), so a pairing line the hub prints is one a device accepts.
"""

from __future__ import annotations

import ipaddress

# CGNAT (100.64.0.0/10) is left out on purpose: on a carrier network it is shared with the
# carrier's other customers, so it is not "your LAN" (a Tailscale hub, which lives there too, can
# use its https MagicDNS name). Listed explicitly rather than ipaddress.is_private, which also
# admits documentation, benchmark and reserved ranges.
LAN_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "127.0.0.0/8",  # loopback
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",  # link-local
        "::1/128",
        "fc00::/7",  # unique local (ULA)
        "fe80::/10",  # link-local
    )
)


def is_lan_ip(address: str) -> bool:
    """True for a loopback or private LAN address (LAN_NETWORKS); False for anything else,
    including a host name."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: drop the zone
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:8.8.8.8 is 8.8.8.8
    return any(ip in net for net in LAN_NETWORKS)
