"""`make test` on a machine without Debian's chromium (issue 9, defect 10): the README's command failed
with 17 errors. Run as root it installs what is missing itself; anyone else is stopped within a second,
before anything is installed or run, and told the one command to run."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOBODY = "65534"


@pytest.fixture
def checkout(tmp_path):
    """The Makefile in a directory an ordinary user may read (the clone itself may be root's alone)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run make as an ordinary user")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for path in (tmp_path, *tmp_path.parents):
        if path == Path("/"):
            break
        path.chmod(path.stat().st_mode | 0o005)
    return tmp_path


def _as_nobody(checkout, *command):
    """`command` as an ordinary user (setpriv) in `checkout`, with make's variables given."""
    started = time.monotonic()
    done = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command],
                          check=False, cwd=checkout, capture_output=True, text=True, timeout=30,
                          env={"PATH": os.environ["PATH"], "HOME": "/nonexistent", "LANG": "C.UTF-8"})
    return done, time.monotonic() - started


def test_without_chromium_make_test_stops_at_once_naming_the_command_to_run(checkout):
    done, took = _as_nobody(checkout, "make", "test", "CHROMIUM=/nonexistent/chromium", "PYTHON=/nonexistent/python3")
    assert done.returncode != 0
    assert took < 1.5, took
    assert "Run this once, then make test again:  sudo apt-get install -y chromium" in done.stderr
    # Stopped before anything else: no virtualenv made (PYTHON would fail), no pytest run.
    assert "/nonexistent/python3" not in done.stdout + done.stderr and "pytest" not in done.stdout


def test_with_everything_installed_the_check_passes_silently(checkout):
    done, _ = _as_nobody(checkout, "make", "--no-print-directory", "system-packages")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_ci_runs_exactly_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert script.rstrip().splitlines()[-1] == "make test"
    assert "apt-get" not in script  # the packages are make test's own business now
