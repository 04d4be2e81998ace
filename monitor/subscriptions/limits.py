"""Requests per client address: a sliding window, in memory, of bounded size.

Kept in memory on purpose: the addresses of people who merely visited are never
written anywhere. An IPv6 client is counted by its /64, the block one host is given.
"""

from __future__ import annotations

import ipaddress
import math
import threading
from collections import OrderedDict, deque


def client_key(address: str | None) -> str:
    """The unit a limit counts: an IPv4 address, an IPv6 /64."""
    if not address:
        return "-"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class SlidingWindow:
    """At most `limit` hits per key within `window` seconds; remembers `keys` keys at most
    (the least recently seen are forgotten first)."""

    def __init__(self, limit: int, window: float, keys: int = 100_000) -> None:
        self._limit = limit
        self._window = window
        self._keys = keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> float | None:
        """Count a hit; None when allowed, else the seconds until one would be."""
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self._window:
                hits.popleft()
            self._hits[key] = hits
            while len(self._hits) > self._keys:
                self._hits.popitem(last=False)
            if len(hits) >= self._limit:
                return max(1.0, math.ceil(hits[0] + self._window - now))
            hits.append(now)
            return None
