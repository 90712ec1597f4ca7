"""This machine's LAN addresses, found without sending anything: for `nmem serve --lan`.

Addresses come from the network interfaces themselves (Linux: one ioctl per interface; elsewhere
what this machine's own name resolves to); `lan_addresses` keeps the ones a LAN device can use.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable

from neuralmemory.networks import is_lan_ip

SIOCGIFADDR = 0x8915  # Linux: the IPv4 address of one interface
IFNAMSIZ = 16


def lan_addresses(candidates: Iterable[str]) -> list[str]:
    """The private IPv4 addresses among `candidates`, each once, in the order given.

    Only what a device accepts plain http from (networks.LAN_NETWORKS), less loopback and
    link-local (169.254/16, no stable address): a public address has no business serving a keyed
    LAN hub without TLS, and a documentation or reserved one (192.0.2.0/24, which Python's
    `is_private` admits) would print a pairing line every device refuses.
    """
    found: list[str] = []
    for text in candidates:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        local = address.is_loopback or address.is_link_local
        if address.version == 4 and is_lan_ip(text) and not local and text not in found:
            found.append(text)
    return found


def interface_addresses() -> list[str]:
    """The IPv4 addresses of this machine's interfaces (loopback included); where they cannot be
    listed (not Linux), what its host name resolves to."""
    return _by_interface() or _by_host_name()


def _by_interface() -> list[str]:
    try:
        import fcntl
    except ImportError:  # Windows
        return []
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[: IFNAMSIZ - 1])
            try:
                packed = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:  # no IPv4 address, or not Linux's ioctl
                continue
            found.append(socket.inet_ntoa(packed[20:24]))
    return found


def _by_host_name() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]
