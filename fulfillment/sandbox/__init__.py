"""The local Amazon sandbox (`manage.py runsandbox`): Amazon's paths, JSON, rules and limits.

    core/                   shared: LWA, usage plans and 429s, faults, call log, /_sandbox/ control
    external_fulfillment/   SmartConnect shipments, invoices and labels
    orders/                 MFN orders: Orders API v0 and 2026-01-01
    merchant_fulfillment/   labels bought through Merchant Fulfillment

Each package's docstring says what the sandbox enforces for that API.
"""
