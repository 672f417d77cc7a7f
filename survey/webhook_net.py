"""Where a webhook may go, and the request that takes it there.

HTTPS only, and never to a private, loopback, link-local or otherwise non-public address: the
app runs inside the province's network, and a webhook must not become a way to reach the
machines beside it. Every address a host name resolves to is checked (IPv4 and IPv6, also an
IPv4 address carried inside an IPv6 one), at registration and again before every delivery
(DNS may change), and the request goes to the very address that was checked, so a name that
resolves differently a moment later cannot send it elsewhere. Redirects are never followed.

`SURVEY_WEBHOOK_ALLOW_PRIVATE` (comma-separated host names, addresses or networks) lets
listed private targets through, e.g. a receiver on loopback in tests; a host listed by its
name or literal address may also be reached over plain http://.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
TIMEOUT = 10.0  # seconds to connect, and again for each read of the answer
MAX_URL = 500


class AddressRefused(ValueError):
    """A webhook address that may not be used; `reason` names why, `detail` the culprit."""

    def __init__(self, reason: str, detail: str = "", address: str = "") -> None:
        said = f"{detail} {address}" if address and address != detail else detail
        super().__init__(f"address refused ({reason}): {said}".rstrip(": "))
        self.reason, self.detail, self.address = reason, detail, address or detail


@dataclass(frozen=True)
class Target:
    """A checked address: where to connect, and what to ask for there."""

    scheme: str
    host: str
    port: int
    path: str
    address: str  # the IP address that was checked, connected to as is


def allow_list(setting: str | None) -> tuple[str, ...]:
    """SURVEY_WEBHOOK_ALLOW_PRIVATE as lower-case entries (empty: nothing private allowed)."""
    return tuple(p.strip().lower().strip("[]") for p in (setting or "").split(",") if p.strip())


def internal(ip: IP) -> bool:
    """Whether `ip` is not a public address, looking inside IPv4-in-IPv6 forms."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return internal(embedded)
    return not ip.is_global or ip.is_multicast


def _listed(ip: IP, allowed: Iterable[str]) -> bool:
    for entry in allowed:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue  # a host name
    return False


def resolve(host: str, port: int) -> list[IP]:
    """Every address `host` resolves to (a literal address resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused("unresolvable", host) from exc
    found = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in found:
            found.append(ip)
    return found


def check(url: str, *, allowed: tuple[str, ...]) -> Target:
    """The target of `url` if a webhook may go there; else AddressRefused."""
    if len(url) > MAX_URL:
        raise AddressRefused("too-long", url[:40])
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise AddressRefused("malformed", url[:80]) from exc
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        raise AddressRefused("scheme", parts.scheme)
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("credentials", host)
    if parts.scheme == "http" and host not in allowed:
        raise AddressRefused("scheme", "http")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port)
    for ip in addresses:
        if internal(ip) and host not in allowed and not _listed(ip, allowed):
            raise AddressRefused("private", host, str(ip))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, str(addresses[0]))


class _PinnedHTTP(http.client.HTTPConnection):
    """Plain HTTP to the checked address (allowed private hosts only)."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the checked address; the certificate is checked against the host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, allowed: tuple[str, ...]) -> int:
    """POST `body` to `url` after checking it again; the HTTP status (redirects not followed).

    Raises AddressRefused, OSError (timeouts, refused connections, TLS) or HTTPException."""
    target = check(url, allowed=allowed)
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = kind(target, TIMEOUT)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        reply = connection.getresponse()
        reply.read(4096)  # the answer's body is not used; read a little so the server is done
        return reply.status
    finally:
        connection.close()
