"""Station backend fixtures: a packer, and the real sandbox with fast client settings."""

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def packer(db):
    return get_user_model().objects.create_user("packer", password="x")


@pytest.fixture
def amazon(sandbox_settings, settings):
    """The real sandbox over HTTP; client limits and retries fast (no test here is about them)."""
    settings.AMAZON_RATE_LIMITS = {"*": "1000/1000"}
    settings.AMAZON_RETRY_ATTEMPTS = 2
    settings.AMAZON_RETRY_INITIAL_WAIT_SECONDS = 0.01
    settings.AMAZON_RETRY_MAX_WAIT_SECONDS = 0.05
    return sandbox_settings
