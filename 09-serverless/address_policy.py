"""The hair Lambda's address policy: which IP addresses a URL may not reach (SSRF).

Library file of ``fetch.py`` (copied next to it into the container); standard library only.
It reads no environment and opens no connection, so ``tests/services/lambda_policy_cases.py``
checks its verdicts under any Python. It is this file's own table, not
``ipaddress.is_global``, whose verdicts differ between Python 3.11 (the tests) and 3.13
(the image).
"""

from __future__ import annotations

import ipaddress

# Every block of IANA's IPv4 and IPv6 special-purpose registries is refused, even the few
# anycast services it marks globally reachable: no image is served from them. The first
# matching row names the reason, so narrower blocks come before the ones holding them.
V4_REFUSED = [
    ("0.0.0.0/8", "'this network'"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata)"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.31.196.0/24", "AS112 DNS"),
    ("192.52.193.0/24", "AMT relays"),
    ("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
    ("192.168.0.0/16", "private"),
    ("192.175.48.0/24", "AS112 DNS"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # 255.255.255.255 (broadcast) included
]
V6_REFUSED = [
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),  # where it embeds IPv4 is the operator's choice
    ("100::/64", "discard-only"),
    ("100:0:0:1::/64", "dummy prefix"),
    # Teredo tunnels to whatever host its server relays to, so its embedded IPv4 addresses
    # (the server's and the client's NAT) say nothing about where a connection ends up
    ("2001::/32", "Teredo tunnelling"),
    ("2001:2::/48", "benchmarking"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("2620:4f:8000::/48", "AS112 DNS"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "SRv6 segment identifiers"),
    ("fc00::/7", "unique local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
]
V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_V4 = [(ipaddress.IPv4Network(net), why) for net, why in V4_REFUSED]
_V6 = [(ipaddress.IPv6Network(net), why) for net, why in V6_REFUSED]
_LOW32 = 0xFFFFFFFF


def _embedded_v4(addr: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 form carries, judged instead of the IPv6 address."""
    n = int(addr)
    if n >> 32 == 0xFFFF:
        form, v4 = "IPv4-mapped", n
    elif n >> 32 == 0xFFFF << 16:
        form, v4 = "IPv4-translated", n
    elif n >> 32 == 0x64FF9B << 64:
        form, v4 = "NAT64", n
    elif n >> 112 == 0x2002:
        form, v4 = "6to4", n >> 80
    elif n >> 32 == 0 and n > 1:
        form, v4 = "IPv4-compatible", n
    else:
        return None
    return form, ipaddress.IPv4Address(v4 & _LOW32)


def refusal(ip: str) -> str | None:
    """Why the function refuses to connect to ``ip``, or None for a public unicast address."""
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv4Address):
        return next((f"{why} {net}" for net, why in _V4 if addr in net), None)
    embedded = _embedded_v4(addr)
    if embedded:
        form, v4 = embedded
        why = refusal(str(v4))
        return f"{form} form of {v4}: {why}" if why else None
    for net, why in _V6:
        if addr in net:
            return f"{why} {net}"
    if addr not in V6_GLOBAL_UNICAST:
        return f"reserved (outside {V6_GLOBAL_UNICAST})"
    return None
