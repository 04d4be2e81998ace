"""A PDF statement fetches nothing: an image, a stylesheet, a font, an @import, a
background, a file: or data: URL in the page are all refused, and the page still prints.

A local HTTP server counts what reaches it; the same page printed with WeasyPrint's own
fetcher shows that it would have been fetched (so the count of 0 means something)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader
from weasyprint import HTML

from monitor.reports.pdf import render_pdf

PNG = bytes.fromhex(  # 1 x 1 red pixel
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)


class Counter:
    """Plain HTTP on 127.0.0.1, answering every GET with what its path asks for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                counter.paths.append(self.path)
                kind, body = ("image/png", PNG)
                if self.path.endswith(".css"):
                    kind, body = ("text/css", b"body { color: #d00 }")
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def counter() -> Iterator[Counter]:
    server = Counter()
    yield server
    server.close()


def hostile_page(url: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{url}/linked.css">
<style>
@import url("{url}/imported.css");
@font-face {{ font-family: Remote; src: url("{url}/font.woff2") format("woff2"); }}
body {{ font-family: Remote, sans-serif; background: url("{url}/background.png"); }}
</style></head><body>
<h1>Statement 2026-03</h1><p>Credits owed: 100.00 USD.</p>
<img src="{url}/image.png" alt="chart"><img src="file:///etc/hostname" alt="local file">
<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">
</body></html>"""


def test_a_pdf_fetches_nothing_and_still_prints(counter: Counter) -> None:
    HTML(string=hostile_page(counter.url)).write_pdf()  # WeasyPrint's own fetcher...
    assert len(counter.paths) >= 4  # ... fetches the page's resources
    counter.paths.clear()

    pdf = render_pdf(hostile_page(counter.url))

    assert counter.paths == []
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Statement 2026-03" in text
    assert "Credits owed: 100.00 USD." in text
