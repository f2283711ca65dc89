"""Service processes and the guarantee that nothing we start outlives us."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sangsaeng_devstack._util import free_port
from sangsaeng_devstack.processes import REGISTRY, ProcessGroup, ServiceExited, ServiceProcess

STUB = '''
import os, signal, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

command = sys.argv[1]
print("stub", command, "env", os.environ.get("STUB_MARK"), flush=True)
if command == "serve":
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/ready" and not os.path.exists(os.environ.get("NOT_READY_FILE", "/nonexistent"))
            self.send_response(200 if ok else 503)
            self.end_headers()
        def log_message(self, *a):
            pass
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    HTTPServer(("127.0.0.1", int(os.environ["HTTP_PORT"])), H).serve_forever()
elif command == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print("grandchild", child.pid, flush=True)
    time.sleep(600)
elif command == "crash":
    sys.exit(3)
'''


@pytest.fixture
def stub_env(tmp_path: Path) -> dict[str, str]:
    pkg = tmp_path / "src" / "devstack_stub"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text(STUB)
    return {"PYTHONPATH": str(tmp_path / "src"), "STUB_MARK": "hello"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


async def test_serve_wait_ready_and_terminate(stub_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    proc = ServiceProcess(
        "devstack_stub", env={**stub_env, "HTTP_PORT": str(port)}, log_dir=tmp_path / "logs"
    ).start()
    try:
        assert proc.name == "devstack_stub" and proc in list(REGISTRY)
        waited = await proc.wait_ready(timeout=20)
        assert waited < 20 and proc.running and proc.returncode is None
        assert os.getpgid(proc.pid) == proc.pid  # its own process group
        assert "stub serve env hello" in proc.log_path.read_text()
    finally:
        rc = proc.terminate(timeout=5)
    assert rc == 0 and not proc.running and proc not in list(REGISTRY)


async def test_wait_ready_waits_for_200(stub_env: dict[str, str], tmp_path: Path) -> None:
    flag = tmp_path / "not-ready"
    flag.touch()
    port = free_port()
    env = {**stub_env, "HTTP_PORT": str(port), "NOT_READY_FILE": str(flag)}
    with ServiceProcess("devstack_stub", env=env, log_dir=tmp_path) as proc:
        with pytest.raises(TimeoutError, match="HTTP 503"):
            await proc.wait_ready(timeout=1.5)
        flag.unlink()
        await proc.wait_ready(timeout=5)
    assert not proc.running


async def test_wait_ready_reports_a_crash(stub_env: dict[str, str], tmp_path: Path) -> None:
    proc = ServiceProcess("devstack_stub", "crash", env={**stub_env, "HTTP_PORT": "1"}, log_dir=tmp_path)
    assert proc.name == "devstack_stub-crash"
    proc.start()
    with pytest.raises(ServiceExited, match="status 3"):
        await proc.wait_ready(timeout=20)
    assert proc.returncode == 3
    proc.terminate()


async def test_kill_signal_restart(stub_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    proc = ServiceProcess("devstack_stub", env={**stub_env, "HTTP_PORT": str(port)}, log_dir=tmp_path).start()
    try:
        await proc.wait_ready(timeout=20)
        proc.signal(signal.SIGSTOP)
        with pytest.raises(TimeoutError):
            await proc.wait_ready(timeout=0.5)
        proc.signal(signal.SIGCONT)
        await proc.wait_ready(timeout=5)
        first = proc.pid
        assert proc.kill() == -signal.SIGKILL
        proc.restart()
        assert proc.pid != first
        await proc.wait_ready(timeout=20)
        assert proc.log_path.read_text().count("--- devstack: starting") == 2  # appended
    finally:
        proc.terminate()


def test_terminate_escalates_and_sweeps_the_group(stub_env: dict[str, str], tmp_path: Path) -> None:
    proc = ServiceProcess("devstack_stub", "stubborn", env=stub_env, log_dir=tmp_path).start()
    deadline = time.monotonic() + 20
    while "grandchild" not in proc.log_path.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(proc.log_path.read_text().split("grandchild ")[1].split()[0])
    started = time.monotonic()
    assert proc.terminate(timeout=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 5
    assert _wait_gone([grandchild]) == []


def test_process_group_stops_everything(stub_env: dict[str, str], tmp_path: Path) -> None:
    with ProcessGroup() as group:
        procs = [
            ServiceProcess("devstack_stub", "stubborn", env=stub_env, log_dir=tmp_path, name=f"s{i}").start()
            for i in range(3)
        ]
        for p in procs:
            group.add(p)
    assert all(not p.running for p in procs)


DRIVER = '''
import json, os, sys, time
from sangsaeng_devstack.broker import Broker
from sangsaeng_devstack.postgres import Postgres
from sangsaeng_devstack.processes import ServiceProcess
broker = Broker().start()
pg = Postgres().start()
svc = ServiceProcess("devstack_stub", "stubborn", log_dir=sys.argv[2]).start()
print(json.dumps({"pids": [broker.pid, pg.pid, svc.pid], "pgdir": str(pg.base_dir)}), flush=True)
if sys.argv[1] == "raise":
    raise RuntimeError("boom")
time.sleep(600)
'''


@pytest.mark.integration
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "raise", "SIGKILL"])
def test_nothing_outlives_the_parent(how: str, stub_env: dict[str, str], tmp_path: Path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(DRIVER))
    parent = subprocess.Popen(
        [sys.executable, str(driver), how, str(tmp_path / "logs")],
        env={**os.environ, **stub_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = parent.stdout.readline()
        assert line, parent.stderr.read()
        info = json.loads(line)
        if how != "raise":
            parent.send_signal(getattr(signal, how))
        rc = parent.wait(30)
        assert rc != 0
        assert _wait_gone(info["pids"]) == [], f"survivors after {how}"
        if how != "SIGKILL":  # atexit ran: the data dir is gone too
            assert not Path(info["pgdir"]).exists()
        else:  # nothing could run: the next Postgres.start() sweeps such dirs after 5 min
            shutil.rmtree(info["pgdir"], ignore_errors=True)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
