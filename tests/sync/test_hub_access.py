"""Reaching a real `nmem serve` the ways a new user does (issue 17): a LAN host name, a hub with a
self-signed certificate, a key of the wrong account, a keyless device and a hub that needs keys.
Each device its own NMEM_HOME; the commands run in-process (the same exit codes and output),
but for one that reads SSL_CERT_FILE from the process environment."""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from helpers.devices import Hub
from helpers.nmem import cli, cli_json, nmem_json
from neuralmemory.protocol import PATH_REGISTER, DeviceInfo
from neuralmemory.sync.transport import HubClient

DEVICE = DeviceInfo(device_id="dev-access", name="test")


def register(hub: Hub, email: str) -> str:
    reply = httpx.post(hub.url + PATH_REGISTER, json={"email": email})
    assert reply.status_code == 201, reply.text
    key: str = reply.json()["api_key"]
    return key


# ---------------------------------------------------------------- a LAN host name


def test_a_lan_name_reaches_the_hub_at_its_resolved_address_resolved_once(
    keyed_hub: Hub,
) -> None:
    """`nas.test` exists only in the injected resolver (no DNS here), which answers with two
    loopback addresses: 127.0.0.2 refuses (the hub listens on 127.0.0.1 only), so the client
    must fall through to the second, and keep using it without asking again. (A keyed hub: a
    hub in local mode serves keyless requests only when the Host header names this machine.)"""
    key = register(keyed_hub, "lan@example.com")
    asked: list[str] = []

    def dns(host: str) -> list[str]:
        asked.append(host)
        return ["127.0.0.2", "127.0.0.1"]

    url = f"http://nas.test:{keyed_hub.port}"
    with HubClient(url, key, DEVICE, resolve=dns, max_attempts=1) as client:
        assert client.info().auth == "keys"
        assert client.status().usage.brains == 0
        assert client.brains() == []
    assert asked == ["nas.test"]


# ---------------------------------------------------------------- a self-signed hub


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost that signs itself, as `openssl req -x509` makes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nmem test hub")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "hub-cert.pem", folder / "hub-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_hub(tmp_path: Path) -> Iterator[Hub]:
    running = Hub(tmp_path / "thub.db", tmp_path / "thub.log", tls=self_signed(tmp_path))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_a_self_signed_hub_is_named_as_such_and_trusted_with_ca_cert_or_ssl_cert_file(
    tls_hub: Hub, tmp_path: Path
) -> None:
    assert tls_hub.tls is not None
    cert = str(tls_hub.tls[0])
    laptop = tmp_path / "laptop"
    cli(laptop, "remember", "The NAS backs up at 02:00")

    configured = cli_json(laptop, "sync", "config", "set", "--hub-url", tls_hub.url)
    assert (
        "The hub's TLS certificate is not trusted: self-signed certificate"
        in (configured["warning"])
    )
    failed = cli(laptop, "sync", "full")
    assert failed.returncode == 1
    assert "Error: The hub's TLS certificate is not trusted: self-signed certificate" in (
        failed.stderr
    )
    assert "--ca-cert FILE" in failed.stderr and "SSL_CERT_FILE" in failed.stderr
    assert "Cannot reach" not in failed.stderr
    status = cli_json(laptop, "sync", "status")
    assert status["hub"]["code"] == "tls_error" and not status["hub"]["reachable"]

    configured = cli_json(laptop, "sync", "config", "set", "--ca-cert", cert)
    assert configured["ca_cert"] == cert and configured["warning"] is None
    assert configured["hub_auth"] == "local" and configured["enabled"]
    synced = cli_json(laptop, "sync", "full")
    assert synced["pushed"] == 1 and synced["verified"] is True

    desktop = tmp_path / "desktop"  # no --ca-cert: the standard variable instead
    cli_json(desktop, "sync", "config", "set", "--hub-url", tls_hub.url)
    # a process: the variable is read from its environment
    pulled = nmem_json(desktop, "sync", "full", env={"SSL_CERT_FILE": cert})
    assert pulled["pulled"] == 1 and pulled["verified"] is True


def test_a_ca_cert_that_is_not_a_certificate_is_refused_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    for path in (junk, tmp_path / "missing.pem"):
        done = cli(tmp_path / "home", "sync", "config", "set", "--ca-cert", str(path))
        assert done.returncode == 1
        assert f"cannot use {path} as a CA certificate" in done.stderr
    assert not (tmp_path / "home" / "config.toml").exists()


# ---------------------------------------------------------------- keys and accounts


def test_a_key_of_another_account_is_access_denied_not_unreachable(
    keyed_hub: Hub, tmp_path: Path
) -> None:
    mine, theirs = register(keyed_hub, "mine@example.com"), register(keyed_hub, "x@example.com")
    home = tmp_path / "dev"
    # auto-sync off: the explicit sync below is the one this test reads
    args = ("--hub-url", keyed_hub.url, "--api-key", mine, "--auto-sync", "off")
    cli_json(home, "sync", "config", "set", *args)
    cli(home, "remember", "The router's admin page is on port 8443")
    assert cli_json(home, "sync", "full")["verified"] is True

    cli_json(home, "sync", "config", "set", "--api-key", theirs)
    status = cli_json(home, "sync", "status")
    assert status["hub"]["reachable"] is True and status["hub"]["code"] == "access_denied"
    text = cli(home, "sync", "status").stdout
    assert "hub:         Access denied (the hub knows the key, but this brain belongs" in text
    assert "unreachable" not in text
    failed = cli(home, "sync", "full")
    assert failed.returncode == 1 and "Access denied" in failed.stderr

    cli_json(home, "sync", "config", "set", "--api-key", "nmk_" + "r3v0k3d" * 6)
    status = cli_json(home, "sync", "status")
    assert status["hub"]["code"] == "invalid_key" and "make a new key" in status["hub"]["error"]


def test_sync_status_fits_80_columns_its_last_sync_a_time_and_a_summary(
    keyed_hub: Hub, tmp_path: Path
) -> None:
    home = tmp_path / "dev"
    key = register(keyed_hub, "wide@example.com")
    # auto-sync off: on a loaded machine remember's detached auto-sync child could push first,
    # and the explicit sync, the last one, would show "pushed 0"
    args = ("--hub-url", keyed_hub.url, "--api-key", key, "--auto-sync", "off")
    cli_json(home, "sync", "config", "set", *args)
    cli(home, "remember", "The backup drive is the blue one in the second drawer")
    assert cli_json(home, "sync", "full")["verified"] is True

    text = cli(home, "sync", "status").stdout
    last = next(line for line in text.splitlines() if line.startswith("last sync:"))
    assert re.fullmatch(
        r"last sync:   \d{4}-\d\d-\d\d \d\d:\d\d UTC, full: in sync \(pulled 0, pushed 1\)", last
    ), last
    assert max(len(line) for line in text.splitlines()) <= 80, text


def test_a_keyless_device_is_told_the_hub_requires_a_key(keyed_hub: Hub, tmp_path: Path) -> None:
    home = tmp_path / "dev"
    configured = cli_json(home, "sync", "config", "set", "--hub-url", keyed_hub.url)
    assert configured["enabled"] is False and configured["hub_auth"] == "keys"
    assert configured["warning"].startswith("This hub requires an API key: set one with")
    setup = cli_json(home, "sync", "config", "setup")
    assert setup["stage"] == "no_key"
    assert setup["steps"][0].startswith(f"This hub ({keyed_hub.url}) requires an API key")
    failed = cli(home, "sync", "full")
    assert failed.returncode == 1 and "Error: This hub requires an API key" in failed.stderr
    assert "sync:        off: This hub requires an API key" in cli(home, "sync", "status").stdout

    key = register(keyed_hub, "me@example.com")
    configured = cli_json(home, "sync", "config", "set", "--api-key", key)
    assert configured["enabled"] is True and configured["warning"] is None
    assert cli_json(home, "sync", "config", "setup")["stage"] == "ready"


def test_a_keyless_401_says_a_key_is_required_not_invalid(tmp_path: Path) -> None:
    """Configured while the hub was down (so it could not be asked), then the hub starts
    requiring keys: the first sync says what is missing."""
    hub = Hub(tmp_path / "hub.db", tmp_path / "hub.log", keys=True)
    home = tmp_path / "dev"
    configured = cli_json(home, "sync", "config", "set", "--hub-url", hub.url)
    assert configured["enabled"] is True and configured["hub_auth"] is None
    assert configured["warning"].startswith("could not ask the hub whether it needs a key")
    setup = cli_json(home, "sync", "config", "setup")
    assert "the hub did not answer" in setup["steps"][0]
    hub.start()
    try:
        failed = cli(home, "sync", "full")
        status = cli_json(home, "sync", "status")
    finally:
        hub.stop()
    assert failed.returncode == 1
    assert "Error: This hub requires an API key" in failed.stderr
    assert "Invalid or expired" not in failed.stderr
    assert status["hub"]["code"] == "invalid_key" and status["hub"]["reachable"] is True
