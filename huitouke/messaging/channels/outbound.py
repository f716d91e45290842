"""Outbound safety: where a channel may send.

Staff set the addresses the dispatcher connects to (an SMS gateway's endpoint, a webhook or robot URL, an SMTP
server). Left open, such a setting reaches into the machine or the shop's network (a local admin port, a cloud
metadata service at 169.254.169.254). So a destination on a loopback, private, link-local, shared, multicast,
reserved or unspecified address is refused, unless the operator allows it in settings:

- HUITOUKE_OUTBOUND_ALLOW_PRIVATE = true: every address is allowed (a gateway on the same machine or LAN);
- HUITOUKE_OUTBOUND_ALLOWED_NETWORKS = 10.1.2.0/24,fd00::/8: just these networks are allowed as well.

The check runs when the setting is saved (a literal address or a local name: the form or API names the field) and
again before every connection, on every address the name resolves to (so a public name pointing at a private
address is caught at send time); HttpClient then connects to the very address it checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from huitouke.messaging.channels.base import ChannelConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolve = Callable[[str, int], Sequence[str]]

#: names that always mean this machine, whatever the resolver says
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


KIND_LABELS = {
    "loopback": _("loopback"),
    "link-local": _("link-local"),
    "unspecified": _("unspecified"),
    "multicast": _("multicast"),
    "shared": _("shared (carrier-grade NAT)"),
    "private": _("private"),
    "reserved": _("reserved"),
}


class OutboundAddressError(ChannelConfigError):
    """The destination is on an address the operator has not allowed (names the setting)."""


def address_kind(ip: IPAddress) -> str:
    """Why `ip` is not a public destination ("" when it is): loopback, private, link-local, … (pure)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_kind(ip.ipv4_mapped)
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.IPv4Network("100.64.0.0/10"):
        return "shared"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return ""


def refusal(ip: IPAddress, *, allow_private: bool, allowed: Iterable[Network]) -> str:
    """The reason `ip` may not be connected to under the operator's rules, "" when it may (pure)."""
    kind = address_kind(ip)
    if not kind or allow_private:
        return ""
    plain = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
    if any(plain.version == net.version and plain in net for net in allowed):
        return ""
    return kind


def literal_address(host: str) -> IPAddress | None:
    """The address a host name spells literally, including the short and numeric forms the C resolver accepts
    (127.1, 2130706433, 0x7f.0.0.1), else None (pure: no DNS)."""
    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except (OSError, ValueError):
        return None


def is_local_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return name in LOCAL_NAMES or name.endswith(".localhost")


def operator_rules() -> tuple[bool, list[Network]]:
    """HUITOUKE_OUTBOUND_ALLOW_PRIVATE and HUITOUKE_OUTBOUND_ALLOWED_NETWORKS as parsed values."""
    allowed = [ipaddress.ip_network(n.strip(), strict=False) for n in settings.HUITOUKE_OUTBOUND_ALLOWED_NETWORKS]
    return bool(settings.HUITOUKE_OUTBOUND_ALLOW_PRIVATE), allowed


def _message(setting: str, host: str, ip: str, kind: str) -> str:
    return _(
        "%(setting)s: %(host)s is a %(kind)s address (%(ip)s). Sending there is off unless the operator allows "
        "it (HUITOUKE_OUTBOUND_ALLOW_PRIVATE or HUITOUKE_OUTBOUND_ALLOWED_NETWORKS)."
    ) % {"setting": setting, "host": host, "kind": KIND_LABELS.get(kind, kind), "ip": ip}


def host_check_saved(host: str, *, setting: str) -> None:
    """Check a destination when it is saved, without DNS: a literal address or a name that always means this
    machine. Raises OutboundAddressError naming `setting`."""
    allow_private, allowed = operator_rules()
    if allow_private or not host:
        return
    ip = literal_address(host)
    if ip is None and is_local_name(host):
        ip = ipaddress.ip_address("127.0.0.1")
    if ip is not None:
        kind = refusal(ip, allow_private=False, allowed=allowed)
        if kind:
            raise OutboundAddressError(_message(setting, host, str(ip), kind), setting=setting)


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def host_resolve_checked(host: str, port: int, *, setting: str, resolve: Resolve = _getaddrinfo) -> str | None:
    """Resolve `host` at send time and check every address it has: the first address to connect to, or None
    when the operator allows everything (connect by name as usual). Raises OutboundAddressError when any
    address is refused (a name that mixes public and private addresses is refused as a whole), OSError when the
    name does not resolve."""
    allow_private, allowed = operator_rules()
    if allow_private:
        return None
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
    if is_local_name(host):
        addresses.append(ipaddress.ip_address("127.0.0.1"))
    for ip in addresses:
        kind = refusal(ip, allow_private=False, allowed=allowed)
        if kind:
            raise OutboundAddressError(_message(setting, host, str(ip), kind), setting=setting)
    if not addresses:
        raise OSError(f"{host} has no address")
    return str(addresses[0])


def url_host(url: str) -> str:
    return urlsplit(url.strip()).hostname or ""
