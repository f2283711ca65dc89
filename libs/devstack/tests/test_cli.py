"""`sangsaeng-dev run` and the development users."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from sangsaeng_devstack._util import port_in_use
from sangsaeng_devstack.cli import SERVICES, runnable_services
from sangsaeng_devstack.issuer import DEV_PASSWORD
from sangsaeng_devstack.tokens import AGENCIES
from sangsaeng_devstack.users import DEV_USERS

STUB = '''
import asyncio, json, os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
import asyncpg

async def check():
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS t (x int)")
        return await conn.fetchval("SELECT current_user")
    finally:
        await conn.close()

print("user", asyncio.run(check()), "service", os.environ["SERVICE_NAME"],
      "kafka", os.environ["KAFKA_BOOTSTRAP_SERVERS"],
      "issuer", os.environ["AUTH_ISSUER"], "audience", os.environ["AUTH_AUDIENCE"], flush=True)

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers()
    def log_message(self, *a):
        pass

signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
HTTPServer(("127.0.0.1", int(os.environ["HTTP_PORT"])), H).serve_forever()
'''


def test_services_and_ports_are_the_documented_ones() -> None:
    assert SERVICES == {"intake": 8001, "visits": 8002, "loans": 8003, "referrals": 8004, "audit": 8005, "districts": 8007,
                        "console": 8006}


def test_dev_users_cover_every_role_and_agency() -> None:
    roles = [u.role for u in DEV_USERS]
    assert roles.count("planner") >= 2 and roles.count("staff") >= 2 and roles.count("loan_officer") >= 2
    assert {"auditor", "operator"} <= set(roles)
    assert sorted(u.agency for u in DEV_USERS if u.role == "agency") == sorted(AGENCIES)
    assert len({u.subject for u in DEV_USERS}) == len(DEV_USERS)


def _stub_path(tmp_path: Path, name: str) -> Path:
    pkg = tmp_path / "stubs" / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text(STUB)
    return tmp_path / "stubs"


def test_runnable_services_needs_a_main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stubs = _stub_path(tmp_path, "devstack_runnable")
    (stubs / "devstack_no_main").mkdir()
    (stubs / "devstack_no_main" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(stubs))
    candidates = {"devstack_runnable": 1, "devstack_no_main": 2, "devstack_absent": 3}
    assert runnable_services(candidates) == {"devstack_runnable": 1}


@pytest.mark.integration
def test_run_starts_everything_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    if port_in_use(SERVICES["referrals"]):
        pytest.skip("port 8004 is in use (a `make run` is up?)")
    stubs = _stub_path(tmp_path, "referrals")
    env = {**os.environ, "PYTHONPATH": str(stubs), "COLUMNS": "200", "TERM": "dumb"}
    for var in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "AUTH_ISSUER"):
        env.pop(var, None)
    log_dir = tmp_path / "logs"
    cmd = [sys.executable, "-m", "sangsaeng_devstack.cli", "run", "--service", "referrals",
           "--broker-port", "0", "--issuer-port", "0", "--log-dir", str(log_dir)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
    reader.start()
    output = ""
    try:
        # Read with a deadline (a blocking readline would hang the test if the CLI hung).
        deadline = time.monotonic() + 90
        while "Ctrl-C stops everything" not in output:
            try:
                output += lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"sangsaeng-dev not up after 90 s (exit status {proc.poll()}):\n{output}")
        # The service's environment, for its command line against the running stack: its own, readable by us only.
        env_file = tmp_path / "env" / "referrals.env"
        assert env_file.stat().st_mode & 0o777 == 0o600
        sourced = subprocess.run(["bash", "-c", f"set -a; . {env_file}; set +a; echo \"$SERVICE_NAME $DATABASE_URL\"; echo \"$AUTH_ISSUER\""],
                                 capture_output=True, text=True, check=True).stdout.splitlines()
        issuer = re.search(r"local issuer (http://127\.0\.0\.1:\d+)", output).group(1)
        assert sourced[0].startswith("referrals postgresql://sangsaeng_referrals:") and sourced[1] == issuer
        # The printed way to get a token works: the issuer answers the password grant with a JWT naming the user.
        assert f"curl -s {issuer}/token -d grant_type=password -d username=S-1001 -d password={DEV_PASSWORD}" in output
        answer = json.loads(urllib.request.urlopen(f"{issuer}/token", data=urllib.parse.urlencode(
            {"grant_type": "password", "username": "S-1001", "password": DEV_PASSWORD}).encode(), timeout=10).read())
        claims = json.loads(base64.urlsafe_b64decode(answer["access_token"].split(".")[1] + "=="))
        assert (claims["iss"], claims["sub"], claims["role"], claims["aud"]) == (issuer, "S-1001", "staff", "sangsaeng")
        # What a terminal's Ctrl-C does; under `uv run` it arrives twice (uv forwards it).
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(30) == 0, output
        reader.join(10)
        while not lines.empty():
            output += lines.get()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "http://127.0.0.1:8004/docs" in output
    assert "G-KBIZ" in output
    assert re.search(r"ready in \d+\.\d+s", output)
    assert "stopped." in output
    assert not env_file.exists()  # the database password it held is gone with the stack
    broker_port = int(re.search(r"broker \(Kafka protocol\): 127\.0\.0\.1:(\d+)", output).group(1))
    pg_port = int(re.search(r"postgresql://postgres(?::[\w-]+)?@127\.0\.0\.1:(\d+)/postgres", output).group(1))
    service_log = (log_dir / "referrals.log").read_text()
    assert f"user sangsaeng_referrals service referrals kafka 127.0.0.1:{broker_port} issuer {issuer} audience sangsaeng" in service_log
    issuer_port = int(issuer.rsplit(":", 1)[1])
    for port in (8004, broker_port, pg_port, issuer_port):
        assert not port_in_use(port), f"port {port} still answers after Ctrl-C"
