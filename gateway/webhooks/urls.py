"""Which webhook URLs the gateway will call: https to public addresses only.

A webhook is a request the gateway makes on a customer's behalf, to a URL the customer
chose. Without a policy that is server-side request forgery: a URL naming
``http://169.254.169.254/`` (cloud metadata), ``https://10.0.0.5/`` (an internal
service) or a name that resolves to one of those would make the gateway probe its own
network. So:

- the scheme must be ``https`` and the URL may carry no user name or password;
- every address the host resolves to must be globally routable: private, loopback,
  link-local, multicast, reserved, shared (CGNAT) and unspecified addresses are refused,
  for IPv4 and IPv6, including IPv4 addresses embedded in IPv6 (``::ffff:10.0.0.1``,
  NAT64 ``64:ff9b::…``, 6to4 and Teredo);
- the check runs when the endpoint is created or re-enabled, and again on every send,
  because DNS can change in between (a rebinding attack points the name elsewhere after
  the first check). At send time the check and the connection use the *same* answer:
  :class:`CheckedResolver` is the resolver of the HTTP client's connector, so aiohttp
  connects to exactly the addresses that passed, never to a second lookup's. aiohttp
  does not ask the resolver about IP literals, so :func:`check_send_url` checks those.

``BUDSTIKKE_WEBHOOK_ALLOW_PRIVATE`` lifts the address rule (and allows ``http``) for a
closed network or tests; multicast and unspecified addresses stay refused even then,
since no webhook receiver can live there (``0.0.0.0`` would reach this host).

URLs are parsed with yarl, the parser aiohttp itself uses, so that the host checked is
the host connected to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from gateway.errors import InvalidInput

MAX_URL_LENGTH = 2048
# A lookup that takes longer than this is treated as a failure at creation time.
RESOLVE_TIMEOUT_SECONDS = 5.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"),)


class AddressRefused(OSError):
    """A webhook host is, or resolves to, an address the policy refuses."""


def parse_url(url: str, *, allow_private: bool) -> URL:
    """The URL, parsed, or InvalidInput naming what is wrong with its form."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url: at most {MAX_URL_LENGTH} characters (got {len(url)})")
    try:
        parsed = URL(url)
    except ValueError as exc:
        raise InvalidInput(f"url: not a URL ({exc})") from exc
    schemes = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in schemes:
        wanted = " or ".join(f"{scheme}://" for scheme in schemes)
        raise InvalidInput(f"url: must start with {wanted} (got {parsed.scheme or 'no'} scheme)")
    if not parsed.host:
        raise InvalidInput("url: names no host")
    if parsed.user is not None or parsed.password is not None:
        raise InvalidInput(
            "url: must not carry a user name or password; the signature authenticates us"
        )
    try:
        _ = parsed.port
    except ValueError as exc:
        raise InvalidInput(f"url: bad port ({exc})") from exc
    return parsed


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why the policy refuses ``address`` (e.g. ``"loopback"``), or None if allowed.

    An IPv4 address inside an IPv6 one is judged first, since that is where the packets
    go (``::ffff:127.0.0.1`` is loopback, not merely "reserved").
    """
    for embedded in _embedded_ipv4(address):
        reason = _refusal_of_one(embedded, allow_private=allow_private)
        if reason is not None:
            return f"{reason} (IPv4 {embedded})"
    return _refusal_of_one(address, allow_private=allow_private)


def _refusal_of_one(address: IPAddress, *, allow_private: bool) -> str | None:
    # Multicast first: 224.0.0.0/4 counts as "global" in the ipaddress module.
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if allow_private:
        return None
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _embedded_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """IPv4 addresses an IPv6 address leads to: mapped, NAT64, 6to4, Teredo."""
    if not isinstance(address, ipaddress.IPv6Address):
        return ()
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if any(address in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return tuple(found)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_address(host: str, address: str, *, allow_private: bool) -> None:
    """Raise AddressRefused when ``address`` (one of ``host``'s) breaks the policy."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError as exc:
        raise AddressRefused(f"{host}: unreadable address {address!r}") from exc
    reason = refusal(parsed, allow_private=allow_private)
    if reason is not None:
        shown = host if host == address else f"{host} resolves to {address}, which"
        raise AddressRefused(f"{shown} is {reason}; webhooks go to public addresses only")


async def check_url(url: str, *, allow_private: bool) -> URL:
    """Check a URL before it is stored: its form, and every address its host has now.

    InvalidInput says what to fix: the scheme, a private address, a name that does not
    resolve.
    """
    parsed = parse_url(url, allow_private=allow_private)
    host = parsed.host
    assert host is not None
    if _literal(host) is not None:
        addresses = [host]
    else:
        addresses = await _lookup(host, parsed.port or 443)
    for address in addresses:
        try:
            check_address(host, address, allow_private=allow_private)
        except AddressRefused as exc:
            raise InvalidInput(f"url: {exc}") from exc
    return parsed


async def _lookup(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
        )
    except (TimeoutError, OSError) as exc:
        raise InvalidInput(f"url: the host {host} does not resolve; check the name") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise InvalidInput(f"url: the host {host} has no address")
    return addresses


def check_send_url(url: str, *, allow_private: bool) -> URL:
    """Check a stored URL again just before a send; AddressRefused when it may not go.

    Names are checked by :class:`CheckedResolver` as the connection is made; here the
    form (the settings may have changed since the URL was stored) and IP literals,
    which aiohttp connects to without asking a resolver.
    """
    try:
        parsed = parse_url(url, allow_private=allow_private)
    except InvalidInput as exc:
        raise AddressRefused(exc.detail) from exc
    host = parsed.host
    assert host is not None
    if _literal(host) is not None:
        check_address(host, host, allow_private=allow_private)
    return parsed


class CheckedResolver(AbstractResolver):
    """An aiohttp resolver that refuses a host when any of its addresses is refused.

    Refusing the whole answer, not filtering it, is deliberate: a name with one public
    and one private address is a misconfiguration or an attack, and connecting to "the
    good one" would hide it.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The host's addresses, each checked; AddressRefused (an OSError) otherwise."""
        results = await self._inner.resolve(host, port, family)
        for result in results:
            check_address(host, result["host"], allow_private=self._allow_private)
        return results

    async def close(self) -> None:
        await self._inner.close()
