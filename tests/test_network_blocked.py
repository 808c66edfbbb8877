import socket

import pytest
from conftest import NetworkBlocked


def test_dns_is_blocked():
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("tfhub.dev", 443)


def test_connect_is_blocked():
    with socket.socket() as s, pytest.raises(NetworkBlocked):
        s.connect(("8.8.8.8", 443))


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
