"""`make run`'s process supervision (supervisord.conf): a process of the embedded station that dies
is started again while the others go on, and Ctrl-C (SIGTERM) still stops everything."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from fulfillment.printers.ipp import printer_state
from fulfillment.printers.scale import read_weight

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PROGRAMS = {"sandbox", "worker", "beat", "web", "printer", "scale", "docprinter"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Station:
    def __init__(self, tmp_path: Path):
        var = tmp_path / "var"
        var.mkdir()
        self.sandbox, self.web, self.printer, self.scale, self.docprinter = (
            f"127.0.0.1:{_free_port()}" for _ in range(5))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_", "DATABASE_", "AMAZON_"))},
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "PACKBENCH_ENV": "development",
            "PACKBENCH_VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{var / 'packbench.sqlite3'}",
            "SANDBOX_ADDR": self.sandbox, "SANDBOX_SEED": "40", "WEB_ADDR": self.web, "PRINTER_ADDR": self.printer,
            "SCALE_ADDR": self.scale, "DOCUMENT_PRINTER_ADDR": self.docprinter,
            "AMAZON_ENDPOINT": f"http://{self.sandbox}",
            "AMAZON_LWA_TOKEN_URL": f"http://{self.sandbox}/auth/o2/token",
        }
        self.log = tmp_path / "station.log"

    def ctl(self, *args) -> str:
        return subprocess.run([BIN / "supervisorctl", "-c", "supervisord.conf", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=30, check=False).stdout

    def status(self) -> dict[str, tuple[str, int]]:
        states = {}
        for line in self.ctl("status").splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[2] == "pid":
                states[parts[0]] = (parts[1], int(parts[3].rstrip(",")))
            elif parts:
                states[parts[0]] = (parts[1], 0)
        return states

    def wait_running(self, old_pids: dict | None = None, timeout: float = 90) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while True:
            states = self.status()
            running = {name: pid for name, (state, pid) in states.items() if state == "RUNNING"}
            fresh = all(running.get(name) != pid for name, pid in (old_pids or {}).items())
            if set(running) == PROGRAMS and fresh:
                return running
            assert time.monotonic() < deadline, (states, self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.5)


def _answers(url: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5).status_code
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"{url} does not answer"
            time.sleep(0.3)


def _orphans_of(station) -> list[int]:
    """Processes of this station (by their environment) that lost their parent."""
    marker = f"PACKBENCH_VAR_DIR={station.env['PACKBENCH_VAR_DIR']}".encode()
    time.sleep(1)  # an orphaned pool process notices its parent's death within a moment
    orphans = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or marker not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if ppid == 1:
            orphans.append(int(proc.name))
    return orphans


def _eventually(read, timeout: float = 30):
    """What `read` returns once the device answers (it raises until then)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return read()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_a_killed_process_of_the_embedded_station_comes_back(tmp_path):
    station = Station(tmp_path)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=station.env,
                   check=True, timeout=300)
    with station.log.open("wb") as log:
        supervisor = subprocess.Popen([BIN / "supervisord", "-n", "-c", "supervisord.conf"], cwd=ROOT,
                                      env=station.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            first = station.wait_running()
            assert _answers(f"http://{station.sandbox}/_sandbox/config") == 200
            host, _, port = station.scale.rpartition(":")
            # RUNNING means up for 2 s, not yet listening on a loaded machine: each is given a moment.
            assert _eventually(lambda: read_weight(host, int(port), timeout=5)).value == Decimal("0.420")  # the scale
            assert _eventually(lambda: printer_state(f"ipp://{station.docprinter}/ipp/print")).state == "idle"  # the printer

            # A worker and a web process die as a crash would kill them: no goodbye.
            for name in ("worker", "web"):
                os.kill(first[name], signal.SIGKILL)
            second = station.wait_running(old_pids={"worker": first["worker"], "web": first["web"]})
            assert {name: second[name] for name in ("sandbox", "beat", "printer")} == {
                name: first[name] for name in ("sandbox", "beat", "printer")}  # the others went on
            assert _answers(f"http://{station.web}/accounts/login/") == 200
            deadline = time.monotonic() + 60
            while " ready." not in station.log.read_text(errors="replace").split("exited: worker")[-1]:
                assert time.monotonic() < deadline, "the new worker never got ready"  # it consumes again
                time.sleep(0.5)
            assert "exited: worker (terminated by SIGKILL; not expected)" in station.log.read_text(errors="replace")
            # Its pool processes died with it: no orphan worker is left consuming beside the new one.
            assert _orphans_of(station) == []
        finally:
            supervisor.send_signal(signal.SIGTERM)  # what Ctrl-C on `make run` does
            try:
                supervisor.wait(90)
            except subprocess.TimeoutExpired:
                supervisor.kill()
                raise
    assert supervisor.returncode == 0
    text = station.log.read_text(errors="replace")
    for name in PROGRAMS:
        assert f"stopped: {name}" in text
    # One terminal for all of them: each process's lines say which it is (supervisord.conf's PACKBENCH_PROCESS).
    assert re.search(r"\[worker\] celery@\S+ ready\.", text), text[-3000:]
    assert re.search(r'\[web\] INFO django\.server "GET /accounts/login/ HTTP/1\.1" 200', text), text[-3000:]
