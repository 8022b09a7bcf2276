"""Hostile label and invoice sources in front of the real sandbox (see sources.py)."""

import pytest
from django.contrib.auth import get_user_model

from .sources import HostileAmazon, Listener

LABEL_DEADLINE_SECONDS = 3


@pytest.fixture
def hostile(sandbox_settings, settings):
    """Packbench talks to the sandbox through a HostileAmazon; client retries fast, label downloads
    get LABEL_DEADLINE_SECONDS in all."""
    proxy = HostileAmazon(sandbox_settings.url)
    settings.AMAZON_ENDPOINT = proxy.url
    settings.AMAZON_RATE_LIMITS = {"*": "1000/1000"}
    settings.AMAZON_RETRY_ATTEMPTS = 2
    settings.AMAZON_RETRY_INITIAL_WAIT_SECONDS = 0.01
    settings.AMAZON_RETRY_MAX_WAIT_SECONDS = 0.05
    settings.AMAZON_LABEL_DOWNLOAD_SECONDS = LABEL_DEADLINE_SECONDS
    yield proxy
    proxy.close()


@pytest.fixture
def packer(db):
    return get_user_model().objects.create_user("packer", password="x")


@pytest.fixture
def printer_port():
    """A port where a label printer would listen: nothing from outside may ever connect to it."""
    listener = Listener()
    yield listener
    listener.close()
