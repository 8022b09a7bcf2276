"""Seeded data of every imitated API, deterministic from one seed number.

Each API's reset seeds from the sandbox's seed number (runsandbox --seed); this module gathers
the seeding functions and the seller they share (core.catalogue: locations, marketplaces,
catalogue), for callers that build data the way the sandbox does.
"""

from .core.catalogue import (  # noqa: F401
    CATALOGUE,
    LOCATIONS,
    MARKETPLACE_BY_ID,
    MARKETPLACES,
    PEOPLE,
    PRODUCTS,
    Marketplace,
    Product,
)
from .core.timefmt import iso  # noqa: F401
from .external_fulfillment.seed import (  # noqa: F401
    PROGRAMMES,
    SeededShipment,
    build_shipment,
    charge,
    seed_shipments,
)
from .orders.seed import build_order, seed_orders  # noqa: F401
