"""The Amazon client: one class over the shared call machinery (`base`), with one module of
operations per Amazon API. `get_client` is how the rest of Packbench gets one."""

from __future__ import annotations

from ..auth import Credentials
from .base import AmazonRequestInvalid, BaseClient, RetryPolicy
from .external_fulfillment import (
    MAX_EMPTY_PAGES_IN_A_ROW,
    MAX_PACKAGE_IDS_PER_LABEL_CALL,
    ExternalFulfillmentOperations,
    FetchedLabel,
    ShipmentsPage,
    UnreadableShipment,
)
from .merchant_fulfillment import (
    EligibleServices,
    LabelFile,
    MerchantFulfillmentOperations,
    MfnShipment,
    ShippingService,
)
from .orders import ConfirmedPackage, Order, OrderItem, OrdersOperations, OrdersPage

__all__ = [
    "MAX_EMPTY_PAGES_IN_A_ROW", "MAX_PACKAGE_IDS_PER_LABEL_CALL", "AmazonClient", "AmazonRequestInvalid",
    "ConfirmedPackage", "EligibleServices", "FetchedLabel", "LabelFile", "MfnShipment", "Order", "OrderItem",
    "OrdersPage", "RetryPolicy", "ShipmentsPage", "ShippingService", "UnreadableShipment", "get_client",
]


class AmazonClient(ExternalFulfillmentOperations, OrdersOperations, MerchantFulfillmentOperations, BaseClient):
    """Every Amazon operation Packbench uses, over one login, rate limiter, retry policy and call log."""


def get_client(account=None, **kwargs) -> AmazonClient:
    """A client for `account`: None (the settings' account), a SellerAccount or Credentials.

    `background=True` marks work no packer is waiting for (the sync, a refresh a page asked for):
    its calls yield their rate-limit turn to any packer's step that is queued."""
    if account is None:
        credentials = Credentials.from_settings()
    elif isinstance(account, Credentials):
        credentials = account
    else:
        credentials = Credentials.from_account(account)
    return AmazonClient(credentials, **kwargs)
