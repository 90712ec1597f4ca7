"""`nmem serve --lan`: which of this machine's addresses a LAN device can reach over plain http."""

from __future__ import annotations

from neuralmemory.hub.lan import interface_addresses, lan_addresses


def test_lan_addresses_are_the_private_ipv4_ones_in_order() -> None:
    found = lan_addresses(
        [
            "127.0.0.1",  # loopback
            "192.168.1.20",
            "169.254.3.4",  # link-local: no stable address
            "8.8.4.4",  # public: a keyed hub without TLS has no business there
            "10.0.0.7",
            "192.168.1.20",  # twice
            "0.0.0.0",
            "fd00::1",  # IPv6 is left out: a pairing line names one IPv4 host
            "not-an-address",
            "172.16.5.5",
        ]
    )
    assert found == ["192.168.1.20", "10.0.0.7", "172.16.5.5"]
    assert lan_addresses(["127.0.0.1", "::1"]) == []


def test_this_machine_lists_its_loopback_address_at_least() -> None:
    assert "127.0.0.1" in interface_addresses()
