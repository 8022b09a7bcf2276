"""MFN orders: Amazon's Orders API v0 and 2026-01-01, as the sandbox plays them.

Paths, parameters, bodies and answers as fulfillment/amazon/contract/ordersV0.json and
orders_2026-01-01.json have them. Every order is seller-fulfilled (FulfillmentChannel MFN),
at one of the seller's locations (FulfillmentInstruction.FulfillmentSupplySourceId).

Operations (sandbox name, usage plan from the model: requests/s, burst):
    getOrders               GET  /orders/v0/orders                            0.0167, 20
    getOrder                GET  /orders/v0/orders/{orderId}                   0.5, 30
    getOrderItems           GET  /orders/v0/orders/{orderId}/orderItems        0.5, 30
    confirmShipment         POST /orders/v0/orders/{orderId}/shipmentConfirmation  2, 10
    updateShipmentStatus    POST /orders/v0/orders/{orderId}/shipment          5, 15
    searchOrders            GET  /orders/2026-01-01/orders                     0.0056, 20
    orders_2026-01-01.getOrder  GET /orders/2026-01-01/orders/{orderId}        0.5, 30
(The other v0 operations are not served: 404.)

Order states:
    Pending           placed, payment not authorized: no OrderTotal, getOrderItems shows no
                      prices; cannot be confirmed. -> Unshipped when payment clears (control
                      /authorize; in live mode after 5 minutes).
    Unshipped         ready to ship, nothing shipped yet.
    PartiallyShipped  some units confirmed shipped (or picked up).
    Shipped           every unit confirmed shipped (or picked up / refused at pickup).
    Canceled          by the buyer (control /cancel), only while Pending or Unshipped; or every
                      unit of a store pickup order refused.
  A buyer may instead only ask to cancel (request_only): every item shows BuyerRequestedCancel,
  the order stays as it is and can still be shipped.

confirmShipment (one package per call; 204, or 400 with errors[]; 404 for an unknown order):
  - the body must match ConfirmShipmentRequest; marketplaceId must be the order's;
  - packageReferenceId: a positive number (1, 2, ...), unique within the order;
  - carrierCode and trackingNumber not empty; carrierName required when carrierCode is Other;
  - shipDate ISO 8601, not before the order was placed, at the latest by the end of the next day;
  - orderItems: at least one, each an item of the order, once, quantity >= 1 and at most what
    is left (ordered minus confirmed in other packages);
  - refused for Pending, Canceled and store pickup orders;
  - the same packageReferenceId again is a correction: it must repeat exactly the items and
    quantities first confirmed (else 400); it may change carrier, tracking, ship date and
    method, and ships nothing more. Amazon's v0 never returns packageReferenceId: the seller
    must store it (the 2026-01-01 getOrder shows it under includedData=PACKAGES).
  Each new package adds to QuantityShipped and moves the order to PartiallyShipped / Shipped.

updateShipmentStatus (store pickup orders only, IsISPU true; else 400):
    ReadyForPickup  units not yet ready -> ready          (Unshipped / PartiallyShipped orders)
    PickedUp        ready units -> shipped (picked up)   PartiallyShipped / Shipped
    RefusedPickup   ready units -> refused               Shipped, or Canceled if none was picked up
  orderItems limits the step to those units (each at most what is available for that step);
  without it the step takes every available unit; nothing available -> 400.

getOrders / searchOrders: exactly one of CreatedAfter / LastUpdatedAfter (createdAfter /
lastUpdatedAfter); a ...Before must not precede it and must be at least two minutes old; without
one, orders changed in the last `orders_list_lag_seconds` (default 120, as Amazon) are not listed
yet, and the answer says the bound it used (CreatedBefore / LastUpdatedBefore). Filters: v0
MarketplaceIds (required), OrderStatuses, FulfillmentChannels, PaymentMethods, AmazonOrderIds,
SellerOrderId, BuyerEmail, IsISPU, StoreChainStoreId, ActualFulfillmentSupplySourceId (the
location), EasyShipShipmentStatuses (none are Easy Ship); 2026: marketplaceIds,
fulfillmentStatuses, fulfilledBy, includedData. Pages: MaxResultsPerPage / maxResultsPerPage
1-100 (default 100), NextToken / paginationToken only for the same filters. Arrays are
comma-separated. Answers show no buyer name, street or phone (those need a Restricted Data
Token): ShippingAddress has city, region, postcode and country only.

Settings: orders_list_lag_seconds. Control (/_sandbox/orders...): see orders.control.
Seeded (runsandbox --orders N, default 16): see orders.seed.COVERAGE - multi-item orders, one
with 2 units for two boxes, two store pickup orders, one Pending, one late, one partly shipped,
one cancelled, at the same locations and marketplaces as the SmartConnect shipments.
"""
