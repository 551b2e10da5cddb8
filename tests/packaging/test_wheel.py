"""The wheel is what a store installs: built with the web app inside, installed into a fresh
virtual environment without the test, Spark or evaluation extras, it runs `kefu demo`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kefu.loadtest.servers import free_port
from kefu.testing import in_ci

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as r:  # loopback only
        return r.status, r.read()


def test_the_wheel_installs_into_a_fresh_venv_and_runs_the_demo(tmp_path: Path) -> None:
    if not (REPO / "web" / "dist" / "index.html").exists() or shutil.which("make") is None:
        if in_ci():
            pytest.fail("web/dist is not built (make setup builds it)")
        pytest.skip("web app not built")
    subprocess.run(["make", "-s", "wheel"], cwd=REPO, check=True, capture_output=True)
    [wheel] = sorted((REPO / "dist").glob("kefu-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    kefu = venv / "bin" / "kefu"
    version = subprocess.run([str(kefu), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("kefu ")
    # no extra came along: the base install has neither PySpark nor implicit nor pytest
    freeze = subprocess.run([*pip[:3], "freeze"], capture_output=True, text=True).stdout.lower()
    assert "pyspark" not in freeze and "implicit" not in freeze and "pytest" not in freeze

    port = free_port()
    work = tmp_path / "store"
    work.mkdir()
    proc = subprocess.Popen(
        [str(kefu), "demo", "--port", str(port), "--days", "1", "--buyers", "30"],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "KEFU_WEB_DIST": ""},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        status = 0
        while time.monotonic() < deadline:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/app/")
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(1)
        assert status == 200, proc.stdout.read().decode() if proc.poll() is not None else ""
        assert b'id="app"' in body  # the packaged web app
        status, spec = _get(f"http://127.0.0.1:{port}/openapi.json")
        assert status == 200 and b'"openapi"' in spec
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
