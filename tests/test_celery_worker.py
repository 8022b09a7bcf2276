"""The Celery worker's process set-up (fulfillment/celery.py): connections across tasks, preloading."""

import os
import subprocess
import sys
import time
import weakref
from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun, worker_init
from django.db import connection

from fulfillment.celery import app


def _task(eager: bool):
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


def test_celerys_django_fixup_does_not_close_the_connection_around_every_task():
    fixup = DjangoWorkerFixup(app)
    assert fixup.db_reuse_max and fixup.db_reuse_max >= 100


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("signal", [task_prerun, task_postrun])
def test_a_task_boundary_keeps_a_young_connection_and_closes_an_old_one(signal):
    connection.ensure_connection()
    kept = connection.connection
    signal.send(sender=None, task=_task(eager=False))
    assert connection.connection is kept

    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    signal.send(sender=None, task=_task(eager=False))
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_leaves_the_callers_connection_alone():
    connection.ensure_connection()
    kept = connection.connection
    connection.close_at = time.monotonic() - 1
    task_postrun.send(sender=None, task=_task(eager=True))
    assert connection.connection is kept


def test_the_worker_builds_what_each_step_needs_before_its_pool_forks():
    from fulfillment.celery import _preload_documents

    assert any(_receiver(ref) is _preload_documents for _key, ref in worker_init.receivers)
    # A fresh interpreter: in this one an earlier test may have imported the stack already.
    check = (
        "import sys, django; django.setup(); import fulfillment.celery as c; "
        "from fulfillment.amazon import auth, contract_schema; from django.db import connection; "
        "names = ('fulfillment.documents.rendering', 'fulfillment.documents.zpl', 'weasyprint'); "
        "built = lambda: [auth._cipher_for.cache_info().currsize, contract_schema.named_operations.cache_info().currsize]; "
        "before = [n in sys.modules for n in names] + built(); c._preload_documents(); "
        "print(before, [n in sys.modules for n in names] + built(), connection.connection)"
    )
    answer = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "fulfillment.settings"})
    # No database connection opened before the fork (its socket would be shared by every process).
    assert answer.stdout.strip() == "[False, False, False, 0, 0] [True, True, True, 1, 1] None", answer.stderr[-2000:]


def _receiver(ref):
    return ref() if isinstance(ref, weakref.ReferenceType) else ref
