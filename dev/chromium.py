"""Open a page in the system's headless Chromium and drive it over the DevTools protocol.

Development tooling, not part of the installed package: the report's browser
test and the README screenshots use it. Chromium is started with
``--remote-debugging-port`` on 127.0.0.1; the DevTools protocol runs over a
WebSocket, spoken with ``websocket-client`` (the ``dev`` extra).

Example::

    >>> with HeadlessChromium() as browser:
    ...     page = browser.open("file:///tmp/report.html")
    ...     page.errors                     # console errors and uncaught exceptions
    []
    ...     page.screenshot("shot.png", "#health")
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from novacrm_spark.errors import NovaCrmError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
)
START_LIMIT_SECONDS = 60  # a bound on waiting, not an assertion: a cold start on a busy machine is slow
REPLY_LIMIT_SECONDS = 120


class BrowserError(NovaCrmError):
    """Chromium is missing, did not start, or a DevTools command failed."""


def find_chromium() -> str | None:
    """The path of an installed Chromium/Chrome, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Page:
    """One browser tab driven over DevTools; collects console errors as they arrive."""

    def __init__(self, ws_url: str) -> None:
        # No Origin header: Chromium refuses WebSocket clients from other origins.
        self.ws = websocket.create_connection(ws_url, timeout=REPLY_LIMIT_SECONDS, suppress_origin=True)
        self.next_id = 0
        self.errors: list[str] = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def _receive(self) -> dict[str, Any]:
        """The next DevTools message; console errors among events are recorded."""
        try:
            message = json.loads(self.ws.recv())
        except (websocket.WebSocketException, OSError) as exc:
            raise BrowserError(f"the DevTools connection failed: {exc!r}") from exc
        error = console_error(message)
        if error is not None:
            self.errors.append(error)
        return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result."""
        self.next_id += 1
        try:
            self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        except (websocket.WebSocketException, OSError) as exc:
            raise BrowserError(f"DevTools {method} could not be sent: {exc!r}") from exc
        while True:
            message = self._receive()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise BrowserError(f"DevTools {method} failed: {message['error'].get('message')}")
                return message.get("result", {})

    def wait_for(self, event: str) -> dict[str, Any]:
        """Block until the browser sends ``event`` (e.g. Page.loadEventFired)."""
        while True:
            message = self._receive()
            if message.get("method") == event:
                return message.get("params", {})

    def evaluate(self, expression: str, await_promise: bool = False) -> Any:
        """Run JavaScript in the page and return its (JSON-serialisable) value."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=await_promise
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"page script failed: {result['exceptionDetails'].get('text')}: {expression[:80]}")
        return result.get("result", {}).get("value")

    def settle(self) -> None:
        """Wait two animation frames, so that layout and drawing queued at load have happened."""
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))", await_promise=True)

    def set_viewport(self, width: int, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
        )
        self.settle()

    def box(self, *selectors: str) -> dict[str, float]:
        """The page-coordinate rectangle covering every element matching ``selectors``."""
        boxes = []
        for selector in selectors:
            box = self.evaluate(
                f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
                " const r = e.getBoundingClientRect();"
                " return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; })()"
            )
            if box is None:
                raise BrowserError(f"no element matches {selector!r} on the page")
            boxes.append(box)
        left, top = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
        right = max(b["x"] + b["width"] for b in boxes)
        bottom = max(b["y"] + b["height"] for b in boxes)
        return {"x": left, "y": top, "width": right - left, "height": bottom - top}

    def screenshot(self, path: str | Path, *selectors: str) -> Path:
        """Save a PNG of the area covering ``selectors`` (default: the whole page) to ``path``."""
        clip = {**self.box(*(selectors or ("html",))), "scale": 1}
        shot = self.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
        out = Path(path)
        out.write_bytes(base64.b64decode(shot["data"]))
        return out

    def close(self) -> None:
        self.ws.close()


def console_error(message: dict[str, Any]) -> str | None:
    """The error text of a DevTools event, or None when the event is not an error.

    Counts uncaught exceptions, ``console.error``/``console.assert`` calls and
    browser log entries of level error (failed loads, CSP and security errors).
    """
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        return (details.get("exception") or {}).get("description") or details.get("text", "exception")
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        args = params.get("args", [])
        return " ".join(str(a.get("value", a.get("description", ""))) for a in args) or params["type"]
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        return f"{entry.get('text')} ({entry.get('url', '')})"
    return None


class HeadlessChromium:
    """A headless Chromium process with remote debugging, stopped (with its children) on exit."""

    def __init__(self, binary: str | None = None, width: int = 1400, height: int = 900) -> None:
        self.binary = binary or find_chromium()
        if self.binary is None:
            raise BrowserError(f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)}); install `chromium`")
        self.width, self.height = width, height
        self.process: subprocess.Popen | None = None
        self.profile: tempfile.TemporaryDirectory | None = None
        self.pages: list[Page] = []

    def __enter__(self) -> "HeadlessChromium":
        self.profile = tempfile.TemporaryDirectory(prefix="novacrm-chromium-")
        with open(self._log_path(), "wb") as log:  # a file, so a full pipe never blocks Chromium
            self.process = subprocess.Popen(
                [
                    self.binary, *FLAGS, f"--user-data-dir={self.profile.name}",
                    f"--window-size={self.width},{self.height}", "about:blank",
                ],
                stdout=log, stderr=log, start_new_session=True,  # own process group: stop it with its children
            )
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for page in self.pages:
            page.close()
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.profile is not None:
            self.profile.cleanup()

    def _log_path(self) -> Path:
        return Path(self.profile.name) / "chromium.log"

    def _port(self) -> int:
        """Chromium writes its DevTools port to DevToolsActivePort in the profile once it listens."""
        port_file = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + START_LIMIT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self._log_path().read_text(errors="replace")[-500:]
                raise BrowserError(f"Chromium exited with code {self.process.returncode}: {log}")
            lines = port_file.read_text().splitlines() if port_file.exists() else []
            if lines and lines[0].strip().isdigit():
                return int(lines[0])
            time.sleep(0.1)
        raise BrowserError(f"Chromium did not open its DevTools port within {START_LIMIT_SECONDS}s")

    def open(self, url: str) -> Page:
        """Load ``url`` in the first tab, wait for the load event and for drawing to settle."""
        port = self._port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=REPLY_LIMIT_SECONDS) as reply:
            targets = json.load(reply)
        tab = next((t for t in targets if t.get("type") == "page"), None)
        if tab is None:
            raise BrowserError("Chromium has no open tab to drive")
        page = Page(tab["webSocketDebuggerUrl"])
        self.pages.append(page)
        page.set_viewport(self.width, self.height)
        page.call("Page.navigate", url=url)
        page.wait_for("Page.loadEventFired")
        page.settle()
        return page
