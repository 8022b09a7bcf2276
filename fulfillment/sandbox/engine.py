"""The sandbox runsandbox serves: the shared core (`core`) with every API it imitates.

    from fulfillment.sandbox.engine import Sandbox
    box = Sandbox(seed_number=5, count=15, orders=8)
    box.external_fulfillment   SmartConnect shipments (external_fulfillment/)
    box.orders                 MFN orders, Orders API v0 and 2026-01-01 (orders/)
    box.merchant_fulfillment   label purchase, Merchant Fulfillment API v0 (merchant_fulfillment/)

Operation names, usage plans, faults and the call log are the core's (core/); what each API
enforces is written at the top of its package.
"""

from __future__ import annotations

from .core.sandbox import Sandbox as CoreSandbox
from .external_fulfillment.engine import ExternalFulfillmentApi
from .merchant_fulfillment.engine import MerchantFulfillmentApi
from .orders.engine import OrdersApi

APIS = (ExternalFulfillmentApi, OrdersApi, MerchantFulfillmentApi)


class Sandbox(CoreSandbox):
    apis = APIS
