"""Fetching image URLs for the server without opening a door into the operator's network.

Only ``http``/``https``; every address the host resolves to is checked at connect time (the
connection goes to the address that was checked, so DNS rebinding between check and connect
cannot slip through); loopback, link-local, private, multicast and reserved addresses are
refused unless ``allow_private``; redirects are followed by hand, each hop checked the same way;
a timeout bounds every network wait and the whole download, and a size cap bounds the body.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore

from visionflow.errors import RuntimeInputError

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class UrlPolicy:
    """What the operator allows (settings ``allow_private_urls``, ``url_timeout_s``, ...)."""

    allow_private: bool = False
    timeout_s: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 3


class UrlRefused(Exception):
    """The URL, or an address it resolves to, is not allowed."""


def address_allowed(address: str) -> bool:
    """True for a public unicast address (IPv4-mapped IPv6 is judged by its IPv4 part)."""
    ip: Any = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE)
    )


# carrier-grade NAT (RFC 6598) is not flagged private by every Python version
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, checks every address, then connects to a checked one."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise httpcore.ConnectError(f"cannot resolve '{host}': {error}") from error
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise httpcore.ConnectError(f"'{host}' has no address")
        if not self._allow_private:
            refused = [a for a in addresses if not address_allowed(a)]
            if refused:
                # every address must be public: a host with one private address is refused
                raise UrlRefused(
                    f"host '{host}' resolves to a non-public address ({refused[0]}); such "
                    "addresses are refused unless the server allows private URLs"
                )
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    address, port, timeout, local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as error:
                last = error
        assert last is not None
        raise last


def fetch_url(url: str, policy: UrlPolicy, *, loc: str = "inputs") -> bytes:
    """Download ``url`` under ``policy``; ``RuntimeInputError`` on any refusal or failure."""
    deadline = time.monotonic() + policy.timeout_s
    with httpcore.ConnectionPool(
        network_backend=_GuardedBackend(policy.allow_private), max_connections=1, retries=0
    ) as pool:
        current = url
        for _ in range(policy.max_redirects + 1):
            _check_url(current, loc)
            try:
                location, body = _get(pool, current, policy, deadline)
            except UrlRefused as error:
                raise _refused(loc, str(error)) from None
            except (httpcore.TimeoutException, TimeoutError) as error:
                raise _failed(loc, url, f"timed out after {policy.timeout_s:g} s") from error
            except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as error:
                raise _failed(loc, url, f"{type(error).__name__}: {error}") from error
            if location is None:
                return body
            current = urljoin(current, location)
    raise _failed(loc, url, f"more than {policy.max_redirects} redirects")


def _get(
    pool: httpcore.ConnectionPool, url: str, policy: UrlPolicy, deadline: float
) -> tuple[str | None, bytes]:
    remaining = max(0.01, deadline - time.monotonic())
    timeouts = {"connect": remaining, "read": remaining, "write": remaining, "pool": remaining}
    headers = [(b"User-Agent", b"visionflow"), (b"Accept", b"image/*")]
    with pool.stream("GET", url, headers=headers, extensions={"timeout": timeouts}) as response:
        if response.status in _REDIRECTS:
            location = _header(response.headers, b"location")
            if not location:
                raise httpcore.ProtocolError(f"redirect {response.status} without a Location")
            return location, b""
        if response.status >= 400:
            raise httpcore.ProtocolError(f"HTTP status {response.status}")
        declared = _header(response.headers, b"content-length")
        if declared and declared.isdigit() and int(declared) > policy.max_bytes:
            raise httpcore.ProtocolError(_too_big(policy.max_bytes))
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_stream():
            size += len(chunk)
            if size > policy.max_bytes:
                raise httpcore.ProtocolError(_too_big(policy.max_bytes))
            if time.monotonic() > deadline:
                raise TimeoutError
            chunks.append(chunk)
        return None, b"".join(chunks)


def _too_big(limit: int) -> str:
    return f"the image is larger than the limit of {limit} bytes (setting url_max_bytes)"


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _check_url(url: str, loc: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise _refused(loc, f"'{url}' is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise _refused(loc, f"only http and https URLs are allowed, got '{parts.scheme}:'")
    if not parts.hostname:
        raise _refused(loc, f"'{url}' has no host")
    if parts.username or parts.password:
        raise _refused(loc, "URLs with credentials are not allowed")


def _refused(loc: str, why: str) -> RuntimeInputError:
    return RuntimeInputError(f"image URL refused: {why}", code="input.source_refused", loc=loc)


def _failed(loc: str, url: str, why: str) -> RuntimeInputError:
    shown = url if len(url) <= 200 else url[:200] + "..."
    return RuntimeInputError(
        f"could not download the image at '{shown}': {why}",
        code="input.url_fetch_failed",
        loc=loc,
    )


__all__ = ["UrlPolicy", "address_allowed", "fetch_url"]
