"""Every supervisor tab of `kefu demo`, timed in a real browser (issue #19: each < 1 s).

    .venv/bin/python bench/supervisor_tabs.py [--days 14] [--buyers 600] [--rounds 3]

Starts `kefu demo` (its defaults: 14 days, 600 buyers, ~52 k events) on a scratch SQLite
database, opens the printed supervisor link in Debian's chromium and clicks each tab in
turn, `--rounds` times (each round on a freshly loaded page). A tab's time runs from the
click until the last API request it started has finished and the page has painted the
result (no request in flight for 150 ms);
the figure printed per tab is the median over the rounds after the first, next to the
first visit (which pays for compiling the report's SQL when the warm-up had not done it).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

TABS = ("monitor", "performance", "guide", "urge", "handoff", "faq", "traffic", "keywords")
KEFU = Path(__file__).resolve().parents[1] / ".venv/bin/kefu"

# Time (ms, the page's clock) of the last API response that started after `since`, and
# whether a request is still in flight.
_LAST_END = """(since) => {
  const api = performance.getEntriesByType('resource')
    .filter((e) => e.startTime >= since && e.name.includes('/api/'))
  return api.length ? Math.max(...api.map((e) => e.responseEnd)) : since
}"""
_PENDING = "() => window.__kefuPending || 0"
_TRACK = """() => {
  if (window.__kefuTracked) return
  window.__kefuTracked = true
  window.__kefuPending = 0
  const orig = window.fetch
  window.fetch = async (...args) => {
    window.__kefuPending++
    try { return await orig(...args) } finally { window.__kefuPending-- }
  }
}"""


def start_demo(folder: Path, days: int, buyers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = 8700 + os.getpid() % 200
    log = folder / "demo.log"
    cmd = [str(KEFU), "demo", "--db", f"sqlite:///{folder / 'demo.db'}", "--port", str(port),
           "--days", str(days), "--buyers", str(buyers), "--fresh"]  # fmt: skip
    env = {**os.environ, "COLUMNS": "400"}
    proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.time() + 900
    while time.time() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        found = re.search(r"^\s+supervisor \(.*?\): (http://\S+)$", text, re.M)
        if found:
            return proc, found.group(1)
        if proc.poll() is not None:
            raise SystemExit(text)
        time.sleep(1)
    proc.kill()
    raise SystemExit("kefu demo printed no supervisor link")


def settle(page: object, since: float) -> float:
    """Wait until no request has been in flight for 150 ms; ms from `since` to the last end."""
    quiet_since = None
    deadline = time.time() + 60
    while time.time() < deadline:
        busy = page.evaluate(_PENDING)  # type: ignore[attr-defined]
        now = time.time()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= 0.15:
            break
        time.sleep(0.02)
    end = page.evaluate(_LAST_END, since)  # type: ignore[attr-defined]
    painted = page.evaluate(  # type: ignore[attr-defined]
        "() => new Promise((r) => requestAnimationFrame(() => r(performance.now())))"
    )
    return max(end, min(painted, end + 50)) - since


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--buyers", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--wait", type=float, default=20.0, help="seconds after start (warm-up)")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="kefu-tabs-"))
    t0 = time.time()
    proc, url = start_demo(folder, args.days, args.buyers)
    print(f"demo ready in {time.time() - t0:.0f} s; waiting {args.wait:.0f} s for its warm-up")
    time.sleep(args.wait)
    times: dict[str, list[float]] = {t: [] for t in TABS}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.add_init_script(f"({_TRACK})()")
            for _ in range(args.rounds):  # each round a fresh page: nothing kept in the page
                page.goto(url)
                page.get_by_test_id("tab-monitor").wait_for()
                settle(page, 0.0)
                for tab in TABS:
                    since = page.evaluate("performance.now()")
                    page.get_by_test_id(f"tab-{tab}").click()
                    times[tab].append(settle(page, since))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(20)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores; ms from click to result:")
    print(f"{'tab':<12} {'first':>8} {'median later':>13}")
    for tab, ms in times.items():
        later = statistics.median(ms[1:]) if len(ms) > 1 else float("nan")
        print(f"{tab:<12} {ms[0]:>8.0f} {later:>13.0f}")


if __name__ == "__main__":
    main()
