"""The factscan pages in a real headless Chromium (Debian's chromium), driven over the DevTools protocol.

It renders; the maps and charts are there and visible (coloured pixels in the screenshot of the map); the console
shows no errors; no request leaves the machine (every request the page makes is file: or data:, and Chromium runs
with every host name mapped to nothing); it prints to PDF. The screenshots are kept in var/test-artifacts/.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from wup_pipeline.resources.settings import REPO_DIR
from wup_pipeline_tests.test_reports_demo import BINNENSTAD, SMALL_BUURT, demo_outputs

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_DIR / "var" / "test-artifacts"

requires_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                       reason="needs Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory, request):
    return demo_outputs(tmp_path_factory, request)


class Chromium:
    """A headless Chromium and one page, over the DevTools protocol (websockets' sync client)."""

    def __init__(self, profile: Path):
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--remote-allow-origins=*", "--window-size=1100,1400", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = self._devtools_url()
        from websockets.sync.client import connect

        self.ws = connect(url, max_size=None, open_timeout=30)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def _devtools_url(self) -> str:
        deadline = time.monotonic() + 60
        seen = b""
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            seen += line
            match = re.search(rb"DevTools listening on (ws://\S+)", line)
            if match:
                return match.group(1).decode()
            if not line and self.process.poll() is not None:
                break
        raise RuntimeError(f"chromium did not start: {seen.decode(errors='replace')[-2000:]}")

    def call(self, method: str, session: bool = False, timeout: float = 60, **params) -> dict:
        message_id = next(self.ids)
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise TimeoutError(method)

    def open(self, path: Path) -> None:
        self.events.clear()
        self.call("Page.navigate", session=True, url=path.as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, clip: dict | None = None, full_page: bool = False) -> bytes:
        params = {"format": "png", "captureBeyondViewport": full_page or clip is not None}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", session=True, **params)["data"])

    def errors(self) -> list[str]:
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(str(params.get("exceptionDetails")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Chromium(tmp_path_factory.mktemp("chromium_profile"))
    yield chromium
    chromium.close()


def read_png(data: bytes) -> tuple[int, int, int, list[bytearray]]:
    """Width, height, bytes per pixel and the unfiltered rows of an 8-bit RGB(A) PNG (pure Python, no Pillow)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (2, 6), (depth, colour, interlace)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    raw = zlib.decompress(b"".join(idat))
    stride, rows, prev = width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def colour_stats(png: bytes) -> tuple[float, int]:
    """Share of pixels that are not (near) white, and the number of distinct strong colours."""
    width, height, bpp, rows = read_png(png)
    coloured, colours = 0, set()
    for line in rows:
        for x in range(0, width * bpp, bpp):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if min(r, g, b) < 235:
                coloured += 1
                if max(r, g, b) - min(r, g, b) > 60:
                    colours.add((r >> 4, g >> 4, b >> 4))
    return coloured / (width * height), len(colours)


def box(browser: Chromium, selector: str) -> dict:
    return browser.evaluate(f"""(() => {{ const r = document.querySelector({json.dumps(selector)})
        .getBoundingClientRect(); return {{x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width,
        height: r.height}}; }})()""")


@requires_chromium
def test_buurt_page_renders_offline_with_visible_map_and_charts(demo, browser):
    page = demo.gemeente / "factscan" / f"{BINNENSTAD}.html"
    browser.open(page)
    state = browser.evaluate("""(() => ({
        title: document.title,
        maps: [...document.querySelectorAll('svg.map')].map(s => s.getBoundingClientRect().width),
        charts: [...document.querySelectorAll('svg.chart')].filter(s => s.getBoundingClientRect().height > 0).length,
        cells: document.querySelectorAll('svg.map rect.cell').length,
        figures: document.querySelectorAll('[data-figure-id]').length,
        sections: [...document.querySelectorAll('section > h2')].map(h => h.textContent),
        hidden: getComputedStyle(document.querySelector('#map-labels')).visibility,
    }))()""")
    assert state["title"] == "Factscan Binnenstad (BU99990101)"
    assert len(state["maps"]) == 2 and min(state["maps"]) > 200
    assert state["charts"] >= 6 and state["cells"] >= 20 and state["figures"] > 100 and state["hidden"] == "visible"
    assert state["sections"] == ["1 Verkenning", "2 Koppelkansen", "3 De balans", "4 Participatie",
                                 "5 Bronnen en kwaliteit"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"factscan_{BINNENSTAD}.png").write_bytes(browser.screenshot(full_page=True))
    map_box = box(browser, "#map-labels svg")
    coloured, colours = colour_stats(browser.screenshot(clip=map_box))
    assert coloured > 0.3 and colours >= 3  # cells in several classes over the boundary, not a blank box
    chart_box = box(browser, "svg.chart")
    assert colour_stats(browser.screenshot(clip=chart_box))[0] > 0.03
    assert browser.errors() == []
    outside = [url for url in browser.requests() if not url.startswith(("file:", "data:", "about:"))]
    assert outside == []


def test_the_html_names_no_external_resource(demo):
    for page in (demo.gemeente / "factscan").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"https?://", html), page
        assert not re.search(r"<(script|link|img|iframe)\b", html), page


@requires_chromium
def test_overview_and_suppressed_page_render_and_print(demo, browser):
    index = demo.gemeente / "factscan" / "index.html"
    browser.open(index)
    state = browser.evaluate("""(() => ({
        rows: document.querySelectorAll('#ranking tbody tr').length,
        areas: document.querySelectorAll('#map-gemeente path.focus').length,
        map: document.querySelector('#map-gemeente svg').getBoundingClientRect().height }))()""")
    assert state == {"rows": 12, "areas": 12, "map": state["map"]} and state["map"] > 200
    (ARTIFACTS / "factscan_index.png").write_bytes(browser.screenshot(full_page=True))
    assert colour_stats(browser.screenshot(clip=box(browser, "#map-gemeente svg")))[1] >= 2
    pdf = base64.b64decode(browser.call("Page.printToPDF", session=True, printBackground=True)["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    browser.open(demo.gemeente / "factscan" / f"{SMALL_BUURT}.html")
    assert browser.evaluate("document.querySelector('#privacy-suppressed') !== null")
    assert browser.evaluate("document.querySelectorAll('span.v.suppressed').length") > 20
    assert browser.errors() == []
    assert [u for u in browser.requests() if not u.startswith(("file:", "data:", "about:"))] == []
