"""A network namespace of the test's own, for what loopback alone cannot show: a monitor
whose host has no IPv6 at all.

`NetworkNamespace(ipv6=False)` is an `unshare --net` namespace with its loopback up and IPv6
switched off by sysctl inside it (so ::1 is gone, as on a host with IPv6 disabled);
`loopback=False` leaves it without any route; `run("iptables", ...)` shapes its traffic. While
`entered()`, the calling thread lives in it: servers started then (their threads too) and
subprocesses spawned then (`uptime-sla run`, `probe`) see only that namespace's loopback.
Needs root (CAP_SYS_ADMIN), unshare and nsenter (util-linux), ip (iproute2), sysctl (procps),
iptables.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
_TOOLS = ("unshare", "nsenter", "ip", "sysctl", "iptables", "ip6tables")
_libc = ctypes.CDLL(None, use_errno=True)


def netns_unavailable_reason() -> str | None:
    """Why no network namespace can be made here, or None when one can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed (util-linux, iproute2, procps, iptables)"
    return None


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


class NetworkNamespace:
    """See the module docstring. Use `with`, or close() to end the namespace."""

    def __init__(self, *, ipv6: bool = True, loopback: bool = True) -> None:
        self._holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"])
        self.path = f"/proc/{self._holder.pid}/ns/net"
        own = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while os.readlink(self.path) == own:  # until unshare has made it
            if time.monotonic() > deadline or self._holder.poll() is not None:
                self.close()
                raise RuntimeError("unshare --net did not make a network namespace")
            time.sleep(0.01)
        if loopback:  # down, the namespace has no route at all, not even to 127.0.0.1
            self.run("ip", "link", "set", "lo", "up")
        if not ipv6:
            self.switch_ipv6(on=False)

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace; fail with its output if it fails."""
        result = subprocess.run(
            ["nsenter", f"--net={self.path}", "--", *command],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"{command} in the namespace: {result.stdout}{result.stderr}")
        return result

    def switch_ipv6(self, *, on: bool) -> None:
        """IPv6 on or off for every interface of the namespace (loopback's ::1 included)."""
        value = "0" if on else "1"
        self.run(
            "sysctl", "-q", "-w",
            *(f"net.ipv6.conf.{i}.disable_ipv6={value}" for i in ("all", "default", "lo")),
        )  # fmt: skip

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """The calling thread inside the namespace, and back in its own afterwards."""
        with open("/proc/thread-self/ns/net", "rb") as own, open(self.path, "rb") as inside:
            _setns(inside.fileno())
            try:
                yield
            finally:
                _setns(own.fileno())

    def close(self) -> None:
        if self._holder.poll() is None:
            self._holder.kill()
        self._holder.wait(timeout=10)

    def __enter__(self) -> NetworkNamespace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
