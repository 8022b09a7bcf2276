import pytest
from django.core.exceptions import ImproperlyConfigured

from fulfillment.amazon.endpoints import LWA_TOKEN_URL, resolve_endpoint


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("na", "https://sellingpartnerapi-na.amazon.com"),
        ("EU", "https://sellingpartnerapi-eu.amazon.com"),
        ("fe", "https://sellingpartnerapi-fe.amazon.com"),
        ("sandbox-na", "https://sandbox.sellingpartnerapi-na.amazon.com"),
        ("sandbox-eu", "https://sandbox.sellingpartnerapi-eu.amazon.com"),
        ("sandbox-fe", "https://sandbox.sellingpartnerapi-fe.amazon.com"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001"),
    ],
)
def test_endpoint_names_and_urls(endpoint, url):
    assert resolve_endpoint(endpoint) == url


def test_unknown_endpoint_is_refused_with_its_name():
    with pytest.raises(ImproperlyConfigured, match="mars"):
        resolve_endpoint("mars")
    assert LWA_TOKEN_URL == "https://api.amazon.com/auth/o2/token"
