import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillment.settings")

app = Celery("fulfillment")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _preload_documents(**kwargs) -> None:
    """The document stack (WeasyPrint, pypdf, Pillow's file plugins, the ZPL converter) imported once
    in the worker's main process: the pool's processes are forked from it with these loaded, where
    each would otherwise import them (seconds of CPU) at its first invoice or label."""
    from PIL import Image

    from fulfillment.documents import rendering, zpl  # noqa: F401

    Image.preinit()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **kwargs) -> None:
    """Database connections live across tasks as they do across requests: closed when older than
    CONN_MAX_AGE or unusable (CONN_HEALTH_CHECKS), not before and after every task as Celery's Django
    fixup would (settings.CELERY_DB_REUSE_MAX) — a new PostgreSQL backend per step costs both sides.
    A step's advisory lock is released at its end (services/leases.py), never left on the connection."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # inside the caller's transaction (tests): its connection is the caller's
    from django.db import close_old_connections

    close_old_connections()
