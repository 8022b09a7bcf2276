import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillment.settings")

app = Celery("fulfillment")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _preload_documents(**kwargs) -> None:
    """What each pool process would otherwise build at its first step, done once in the worker's
    main process before the pool forks: the document stack (WeasyPrint, pypdf, Pillow's file
    plugins, the ZPL converter: seconds of CPU), the access-token cipher (a key derivation, and the
    cryptography backend's import) and Amazon's models as read for checking requests. Nothing here
    opens a connection (a socket shared across the fork would be shared by every process)."""
    from PIL import Image

    from fulfillment.amazon import auth, contract_schema
    from fulfillment.documents import rendering, zpl  # noqa: F401

    Image.preinit()
    auth._cipher()
    contract_schema.named_operations()  # parses every model file, cached for the forks


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
