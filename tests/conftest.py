"""Shared test setup: no network, quiet TensorFlow, deterministic seeds, tiny fixtures."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import pathlib
import socket

import numpy as np
import pytest

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared"
IMAGENET_ASSETS = SHARED / "imagenet_assets"
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "")


class NetworkBlocked(RuntimeError):
    """A test tried to reach the network."""


def _is_loopback(host) -> bool:
    return host is None or str(host) in _LOOPBACK or str(host).startswith("127.")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail at once, instead of hanging, when code under test reaches for the network."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(host):
            raise NetworkBlocked(f"tests may not open network connections (to {address!r})")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            raise NetworkBlocked(f"tests may not resolve host names ({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: getaddrinfo(host)[0][4][0])


@pytest.fixture
def imagenet_assets():
    """The folder of real ImageNet assets, or skip when this checkout has none beside it."""
    if not IMAGENET_ASSETS.is_dir():
        pytest.skip(f"{IMAGENET_ASSETS} is absent (read-only shared data beside the project)")
    return IMAGENET_ASSETS


@pytest.fixture
def rng():
    return np.random.default_rng(0)
