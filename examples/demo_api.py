"""A tiny stand-in for the Outfame API on loopback, so the monitor has something to watch offline.

Serves HTTPS (TLS 1.3 only, certificate from a local trustme CA written to DIR/ca.pem)
on 127.0.0.1 and [::1], or on the --listen addresses with a given --cert-file and --key-file
(then it needs nothing but the standard library, e.g. inside a container):
  /v1/health   always {"status":"ok"}
  /v1/flaky    HTTP 503 about one time in three
  /v1/search   HTTP 429 with Retry-After: 10 one time in five (counts as up by default)
"""

from __future__ import annotations

import argparse
import random
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST_NAME = "demo.outfame.test"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/v1/flaky" and random.random() < 1 / 3:
            self._send(503, b'{"status":"degraded"}')
        elif self.path == "/v1/search" and random.random() < 1 / 5:
            self._send(429, b'{"error":"rate limited"}', {"Retry-After": "10"})
        elif self.path in {"/v1/health", "/v1/flaky", "/v1/search"}:
            self._send(200, b'{"status":"ok"}')
        else:
            self._send(404, b'{"error":"not found"}')

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


class V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _server(address: str, port: int) -> ThreadingHTTPServer:
    """On "::" Linux also accepts IPv4 (as ::ffff:a.b.c.d): one socket for both families."""
    kind = V6Server if ":" in address else ThreadingHTTPServer
    return kind((address, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=Path("demo-data"))
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--listen", action="append", help="address (repeatable; default loopback)")
    parser.add_argument("--cert-file", type=Path, help="certificate chain (PEM) to serve")
    parser.add_argument("--key-file", type=Path, help="its private key (PEM)")
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    ca = None
    if args.cert_file:
        context.load_cert_chain(args.cert_file, args.key_file)
    else:
        import trustme  # noqa: PLC0415 (only for a certificate of its own: stdlib otherwise)

        ca = trustme.CA()
        ca.issue_cert(HOST_NAME).configure_cert(context)
    addresses = args.listen or ["127.0.0.1", "::1"]
    servers = []
    for address in addresses:
        try:
            servers.append(_server(address, args.port))
        except OSError as exc:  # the port is taken, or the address is not this machine's
            shown = f"[{address}]" if ":" in address else address
            sys.exit(f"demo API: cannot listen on {shown}:{args.port}: {exc.strerror or exc}")
    for server in servers:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    if ca is not None:
        # Written (whole, by rename) once every port serves TLS: its presence is the signal
        # that the API is up, for scripts/demo.sh and the tests; a bound port is not.
        args.dir.mkdir(parents=True, exist_ok=True)
        partial = args.dir / "ca.pem.partial"
        ca.cert_pem.write_to_path(str(partial))
        partial.replace(args.dir / "ca.pem")
    shown = ", ".join(f"[{a}]" if ":" in a else a for a in addresses)
    print(f"demo API on https://{HOST_NAME}:{args.port} ({shown})", file=sys.stderr)
    threading.Event().wait()


if __name__ == "__main__":
    main()
