"""The servers scripts/setup-services.sh and setup-schedulers.sh start listen on loopback only
(docs/host-facts.md, "Servers for tests"). xrootd 5.5 cannot (no listen-address directive): it listens on
every address and drops clients that are not this host (xrd.allow), which docs/test-setup.md says."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess

import pytest

from tests.services import endpoints


def listening_addresses(port: int) -> list[str]:
    argv = ["ss", "--no-header", "--listening", "--tcp", "--numeric", f"sport = :{port}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout
    # "LISTEN 0 244 127.0.0.1:5432 0.0.0.0:*": the local address is the 4th column, "[::1]:22" for IPv6
    return [line.split()[3].rsplit(":", 1)[0].strip("[]") for line in out.splitlines()]


@pytest.mark.parametrize(
    ("service", "port"),
    [
        pytest.param("postgresql", 5432, id="postgresql"),
        pytest.param("mariadb", 3306, id="mariadb"),
        pytest.param("ssh", 2222, id="sshd"),
        pytest.param(None, 6819, id="slurmdbd"),  # set up by setup-schedulers.sh, no endpoint file
    ],
)
def test_listens_on_loopback_only(service: str | None, port: int) -> None:
    if shutil.which("ss") is None:
        pytest.skip("no ss (iproute2) here")
    if service is not None:
        try:
            assert endpoints.endpoint(service)["port"] == port
        except endpoints.ServiceUnavailable as reason:
            pytest.skip(str(reason))
    elif shutil.which("slurmdbd") is None:
        pytest.skip("no slurmdbd here (scripts/setup-schedulers.sh)")
    addresses = listening_addresses(port)
    assert addresses, f"nothing listens on port {port}"
    assert all(ipaddress.ip_address(address).is_loopback for address in addresses), addresses
