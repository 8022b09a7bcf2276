"""Who is running a step: a lock that dies with its process, and a heartbeat while it runs.

The worker running a step holds the step's lock for as long as it works on it: on PostgreSQL a
session advisory lock (it ends with the worker's database connection), on SQLite, the embedded
station's one machine, an OS file lock (it ends with the process). So a second run of a step never
starts beside a live one, and a RUNNING step nobody holds a lock on belongs to a dead worker.

While the step runs, a thread renews its `heartbeat_at` every third of the lease: a live step never
looks stale however long Amazon takes, and a dead worker's step is stale one lease after its last
beat. The reconciler hands on steps that are stale and held by nobody.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

import filelock
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from ..models import ShipmentStep

logger = logging.getLogger(__name__)

STEP_LOCK_NAMESPACE = 0x5042


def lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "SHIPMENT_STEP_LEASE_SECONDS", 30))


def _advisory() -> bool:
    return connection.vendor == "postgresql"


def _lock_key(step_id: int) -> int:
    return step_id % 2**31


def _lock_dir() -> Path:
    folder = Path(getattr(settings, "SHIPMENT_STEP_LOCK_DIR", None) or Path(settings.BASE_DIR) / "var" / "step-locks")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _file_lock(step_id: int) -> filelock.FileLock:
    # No soft fallback: a lock file that outlives its process would hold the step for ever.
    return filelock.FileLock(_lock_dir() / f"{step_id}.lock", fallback_to_soft=False)


class StepLock:
    """The lock on one step for as long as this process works on it: `acquire()` (never waits)."""

    def __init__(self, step_id: int):
        self.step_id = step_id
        self._file = None if _advisory() else _file_lock(step_id)

    def acquire(self) -> bool:
        if self._file is not None:
            try:
                self._file.acquire(timeout=0)
            except filelock.Timeout:
                return False
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [STEP_LOCK_NAMESPACE, _lock_key(self.step_id)])
            return bool(cursor.fetchone()[0])

    def release(self) -> None:
        if self._file is not None:
            self._file.release()
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [STEP_LOCK_NAMESPACE, _lock_key(self.step_id)])
        except DatabaseError:  # the connection is gone, and its locks with it
            logger.warning("Could not release the lock of step %s", self.step_id, exc_info=True)


def held(step_ids) -> set[int]:
    """Of `step_ids`, the ones some live process holds the lock of now."""
    step_ids = list(step_ids)
    if not step_ids:
        return set()
    if _advisory():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid::bigint = %s AND objsubid = 2",
                [STEP_LOCK_NAMESPACE],
            )
            keys = {row[0] for row in cursor.fetchall()}
        return {pk for pk in step_ids if _lock_key(pk) in keys}
    busy = set()
    for pk in step_ids:
        probe = _file_lock(pk)
        try:
            probe.acquire(timeout=0)
        except filelock.Timeout:
            busy.add(pk)
        else:
            probe.release()
    return busy


def forget_finished_locks(older_than: timedelta = timedelta(hours=1)) -> int:
    """Remove the lock files of steps finished a while ago (file locks only; they are never taken
    again but by a stray duplicate message, which recreates the file and finds the step finished)."""
    if _advisory():
        return 0
    files = {int(path.stem): path for path in _lock_dir().glob("*.lock") if path.stem.isdigit()}
    if not files:
        return 0
    open_or_recent = set(ShipmentStep.objects.filter(pk__in=list(files)).exclude(
        status__in=[ShipmentStep.State.SUCCEEDED, ShipmentStep.State.FAILED],
    ).values_list("pk", flat=True)) | set(ShipmentStep.objects.filter(
        pk__in=list(files), finished_at__gte=timezone.now() - older_than).values_list("pk", flat=True))
    removed = 0
    for pk, path in files.items():
        if pk not in open_or_recent:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


class Heartbeat:
    """Renews a RUNNING step's `heartbeat_at` every third of the lease, from a thread of its own
    (with its own database connection), until stopped. Use as a context manager."""

    def __init__(self, step_id: int):
        self.step_id = step_id
        self.interval = max(lease().total_seconds() / 3, 0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"step-{step_id}-heartbeat", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    ShipmentStep.objects.filter(pk=self.step_id, status=ShipmentStep.State.RUNNING).update(
                        heartbeat_at=timezone.now())
                except DatabaseError:  # the next beat tries again; a lost beat only shortens the margin
                    logger.warning("Heartbeat of step %s failed", self.step_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection
