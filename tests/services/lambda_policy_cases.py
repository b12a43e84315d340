"""The hair Lambda's address policy as a table of expected verdicts, checkable on any Python.

    python tests/services/lambda_policy_cases.py 09-serverless    # prints {"python", "checked", "wrong"}

Standard library only, so the same table runs under the repo's Python 3.11 (the tests) and
under 3.13 (the Lambda image, or any local 3.13): ``test_lambda_policy.py`` does both. The
blocks are written out here from IANA's IPv4 and IPv6 special-purpose address registries
and RFC 6052/3056/4291 (embedded IPv4; Teredo, RFC 4380, is refused whole), independently of the Lambda's own table
(``09-serverless/address_policy.py``).
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import sys

# every IPv4 block that must be refused
V4_BLOCKS = [
    "0.0.0.0/8",  # this network
    "10.0.0.0/8",
    "100.64.0.0/10",  # shared (CGN)
    "127.0.0.0/8",
    "169.254.0.0/16",  # link-local, cloud metadata
    "172.16.0.0/12",
    "192.0.0.0/24",  # IETF protocol assignments (192.0.0.9, .10 included)
    "192.0.2.0/24",
    "192.31.196.0/24",  # AS112
    "192.52.193.0/24",  # AMT
    "192.88.99.0/24",  # 6to4 relay anycast
    "192.168.0.0/16",
    "192.175.48.0/24",  # AS112 direct delegation
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, broadcast
]
# every IPv6 block refused whatever it holds (embedded IPv4 forms are below)
V6_BLOCKS = [
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",  # local-use NAT64
    "100::/64",  # discard-only
    "100:0:0:1::/64",  # dummy prefix
    "2001::/32",  # Teredo: refused whatever IPv4 addresses it carries (issue 18)
    "2001:2::/48",  # benchmarking
    "2001:db8::/32",  # documentation
    "2001:20::/28",  # ORCHIDv2 (inside 2001::/23)
    "2001:1::/32",  # inside 2001::/23
    "2001:100::/24",  # the rest of 2001::/23 past Teredo
    "2620:4f:8000::/48",  # AS112
    "3fff::/20",  # documentation
    "5f00::/16",  # SRv6 SIDs
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local, deprecated
    "ff00::/8",  # multicast
    "4000::/3",  # reserved: outside global unicast 2000::/3
    "8000::/3",
    "e000::/4",
    "400::/6",
    "200::/7",
]
PUBLIC_V4 = [
    "8.8.8.8",
    "1.1.1.1",
    "151.101.1.1",
    "52.95.110.1",
    "9.255.255.255",  # neighbours of refused blocks
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "126.255.255.255",
    "128.0.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.0",
    "192.0.3.0",
    "192.88.98.255",
    "192.88.100.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "198.51.99.255",
    "203.0.112.255",
    "203.0.114.0",
    "223.255.255.255",
]
PUBLIC_V6 = [
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001:81d::200e",
    "2001:200::1",  # just past 2001::/23
    "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:db9::",
    "3ffe:ffff::1",
    "2000::1",
]


def embeddings(v4: str) -> list[tuple[str, str]]:
    """(form, IPv6 address) for every form that carries ``v4``."""
    n = int(ipaddress.IPv4Address(v4))
    hi, lo = n >> 16, n & 0xFFFF
    forms = [
        ("IPv4-mapped", f"::ffff:{v4}"),
        ("IPv4-translated", f"::ffff:0:{v4}"),
        ("NAT64", f"64:ff9b::{v4}"),
        ("6to4", f"2002:{hi:x}:{lo:x}::1"),
        # Teredo: server, then the client stored inverted; the other one is 8.8.8.8
        ("Teredo server", f"2001:0:{hi:x}:{lo:x}::f7f7:f7f7"),
        ("Teredo client", f"2001:0:808:808::{hi ^ 0xFFFF:x}:{lo ^ 0xFFFF:x}"),
    ]
    if n > 1:  # ::0.0.0.0 and ::0.0.0.1 are the unspecified and loopback addresses
        forms.append(("IPv4-compatible", f"::{v4}"))
    return forms


def _samples(block: str) -> list[str]:
    net = ipaddress.ip_network(block)
    middle = net.network_address + net.num_addresses // 2
    return [str(net.network_address), str(middle), str(net.broadcast_address)]


def cases() -> list[tuple[str, str, bool]]:
    """(what, address, refused?) for every block, its edges, and every embedded form."""
    out: list[tuple[str, str, bool]] = []
    for block in V4_BLOCKS + V6_BLOCKS:
        out += [(block, ip, True) for ip in _samples(block)]
    out += [("public", ip, False) for ip in PUBLIC_V4 + PUBLIC_V6]
    for block in V4_BLOCKS:
        for ip in _samples(block):
            out += [(f"{form} of {block}", v6, True) for form, v6 in embeddings(ip)]
    for ip in ("8.8.8.8", "151.101.1.1"):
        # a Teredo address tunnels to wherever its relay forwards: refused even when both
        # of its IPv4 addresses are public
        out += [(f"{form} of public", v6, "Teredo" in form) for form, v6 in embeddings(ip)]
    out += [("Teredo of public (RFC 4380's example)", "2001:0:4136:e378:8000:63bf:3ffe:fdd2", True)]
    out += [("local-use NAT64 of public", "64:ff9b:1:808:8:800::", True)]
    return out


def wrong_verdicts(refusal) -> list[tuple[str, str, bool]]:
    """The cases ``refusal(ip) -> reason | None`` gets wrong."""
    return [(what, ip, want) for what, ip, want in cases() if (refusal(ip) is not None) != want]


def main(argv: list[str]) -> int:
    sys.path.insert(0, argv[0])  # the folder holding address_policy.py
    policy = importlib.import_module("address_policy")
    wrong = wrong_verdicts(policy.refusal)
    print(json.dumps({"python": sys.version.split()[0], "checked": len(cases()), "wrong": wrong}))
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
