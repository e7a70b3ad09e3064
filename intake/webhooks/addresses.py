"""Where a webhook may go: no request forgery into the clinic's own network (S-webhook).

With ``INTAKE_WEBHOOK_ALLOW_PRIVATE`` off (always in production) a subscriber URL must be https
and every address its host resolves to must be a public one: not private, loopback, link-local,
multicast, reserved, unspecified or shared (IPv4 and IPv6, an IPv4-mapped IPv6 address judged
as the IPv4 address inside it). The check runs when an admin saves the URL and again at every
delivery, since DNS can change; the delivery then connects to the very address it checked
(``Destination.address``), so a name that resolves differently a moment later (DNS rebinding)
cannot redirect it. With the setting on (development, tests) http and private addresses pass,
but the delivery still connects to the address resolved here."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from intake.display import lazy_gettext as _l

URL_MAX = 500


class AddressRefused(ValueError):
    """A subscriber URL that may not be used; the message says why, plainly (staff text)."""


@dataclass(frozen=True)
class Destination:
    """A checked URL: its parts, and the address to connect to."""

    scheme: str
    host: str
    port: int
    address: str
    target: str  # path and query

    @property
    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        shown = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{shown}:{self.port}{self.target}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def refusal(address: str) -> str | None:
    """Why an IP address may not receive webhooks in production, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return str(_l("this computer (loopback)"))
    if ip.is_unspecified:
        return str(_l("an unspecified address"))
    if ip.is_link_local:
        return str(_l("a link-local address (used inside a local network and by cloud metadata)"))
    if ip.is_multicast:
        return str(_l("a multicast address"))
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return str(_l("a private or reserved network"))
    return None


def split_url(url: str, *, allow_private: bool) -> tuple[str, str, int, str]:
    """The scheme, host, port and path of a well-formed subscriber URL; refused otherwise."""
    url = (url or "").strip()
    if len(url) > URL_MAX:
        raise AddressRefused(_l("Keep the address under %(max)d characters.", max=URL_MAX))
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise AddressRefused(_l("Enter a full address starting https://"))
    if parts.username or parts.password:
        raise AddressRefused(_l("Leave the user name and password out of the address."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise AddressRefused(
            _l("The port in this address is not a number from 1 to 65535.")
        ) from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, target


def resolve(url: str, *, allow_private: bool) -> Destination:
    """Check ``url`` and its host's addresses now; the destination to connect to, or refused."""
    scheme, host, port, target = split_url(url, allow_private=allow_private)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise AddressRefused(
            _l(
                "The name %(host)s could not be found. Check the address for typing mistakes.",
                host=host,
            )  # fmt: skip
        ) from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise AddressRefused(
                    _l(
                        "Webhooks cannot go to %(host)s: it leads to %(reason)s (%(address)s). "
                        "Use an address on the public internet.",
                        host=host,
                        reason=reason,
                        address=address,
                    )  # fmt: skip
                )
    return Destination(scheme=scheme, host=host, port=port, address=addresses[0], target=target)
