"""How long the station waits for its documents: invoice → PDF for every shape Amazon sends, label
format detection, label → printable PDF, the packing slip, and a ZPL job stored by the virtual printer.

    .venv/bin/python bench/bench_documents.py [--runs 30] [--warmup 3]

Inputs are fixed (the sandbox's document builders, Amazon's static sandbox invoice), so runs compare.
Prints p50/p95 per case in milliseconds and a one-line summary.
"""

import argparse
import base64
import json
import logging
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillment.settings")

import django

django.setup()
logging.getLogger("weasyprint").setLevel(logging.WARNING)  # its progress lines are INFO
logging.getLogger("fulfillment.printers").setLevel(logging.WARNING)

from fulfillment.documents import rendering
from fulfillment.printers.virtual import VirtualPrinter
from fulfillment.printers.zebra import send_zpl
from fulfillment.sandbox import documents as sandbox

SHIPMENT = {
    "id": "BENCH-SHIP-1",
    "marketplaceAttributes": {"marketplaceId": "A21TJRUUN4KGV", "channelName": "EASY_SHIP"},
    "shipmentInfo": {"buyerOrderId": "402-1234567-7654321"},
    "shipmentRequirements": {"invoice": {"requirement": "REQUIRED"}},
    "shippingInfo": {"shipToAddress": {"name": "Asha Rao", "addressLine1": "12 MG Road", "city": "Bengaluru",
                                       "postalCode": "560001", "countryCode": "IN"}},
    "lineItems": [
        {"shipmentLineItemId": f"L{n}", "merchantSku": f"SKU-{n:04d}", "numberOfUnits": 1 + n % 3,
         "charges": [{"chargeType": "PRODUCT", "totalCharge": {"netAmount": {"value": "499.00", "currencyCode": "INR"}}}]}
        for n in range(12)
    ],
    "charges": [{"chargeType": "TOTAL", "totalCharge": {"netAmount": {"value": "5988.00", "currencyCode": "INR"}}}],
}
PACKAGE = {"id": "BENCH-PKG-1", "weight": {"value": "1.2", "weightUnit": "KG"}}
LABEL = {"carrierName": "ATSPL", "trackingId": "343284200328"}


def amazon_static_invoice() -> dict:
    model = json.loads((ROOT / "fulfillment/amazon/contract/externalFulfillmentShipments_2024-09-11.json").read_text())
    operation = model["paths"]["/externalFulfillment/2024-09-11/shipments/{shipmentId}/invoice"]["post"]
    return operation["responses"]["200"]["x-amzn-api-sandbox"]["static"][0]["response"]["document"]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def measure(function, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def cases(printer: VirtualPrinter):
    invoices = {shape: sandbox.invoice_document(SHIPMENT, "INV-BENCH-1", shape) for shape in sandbox.INVOICE_SHAPES}
    invoices["amazon_static_png"] = amazon_static_invoice()
    long_text = "\n".join(f"{n:>4}  SKU-{n:04d}{' ' * 40}499.00 INR" for n in range(400))
    invoices["text_8_pages"] = {"format": "PLAIN_TEXT", "content": base64.b64encode(long_text.encode()).decode()}
    for name, document in invoices.items():
        yield f"invoice {name}", lambda d=document: rendering.invoice_to_pdf(d["content"], d["format"])

    labels = {fmt: sandbox.label_content(fmt, SHIPMENT, PACKAGE, LABEL) for fmt in sandbox.LABEL_FORMATS}
    for fmt, content in labels.items():
        content_type = sandbox.LABEL_CONTENT_TYPES[fmt]
        yield f"label detect {fmt}", lambda c=content, t=content_type: rendering.detect_label_format(c, t)
    for fmt in ("PNG", "PDF"):
        yield f"label to PDF {fmt}", lambda c=labels[fmt], t=sandbox.LABEL_CONTENT_TYPES[fmt]: \
            rendering.label_to_printable_pdf(c, t)

    port, stored = printer.server_address[1], printer.out_dir

    def print_and_store():
        before = len(list(stored.iterdir()))
        send_zpl("127.0.0.1", port, labels["ZPL"], timeout=5)
        while len(list(stored.iterdir())) == before:
            time.sleep(0.0005)

    yield "label ZPL sent+stored", print_and_store
    yield "packing slip", lambda: rendering.packing_slip_pdf({**SHIPMENT, "packages": []})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        printer = VirtualPrinter(("127.0.0.1", 0), folder)
        threading.Thread(target=printer.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        results = []
        print(f"{'case':<28}{'runs':>6}{'p50 ms':>10}{'p95 ms':>10}{'load':>6}")
        for name, function in cases(printer):
            samples = measure(function, args.runs, args.warmup)
            p50, p95 = percentile(samples, 50), percentile(samples, 95)
            results.append((name, p50, p95))
            print(f"{name:<28}{args.runs:>6}{p50:>10.2f}{p95:>10.2f}{os.getloadavg()[0]:>6.2f}", flush=True)
        printer.shutdown()
        printer.server_close()

    invoices = [r for r in results if r[0].startswith("invoice")]
    slowest = max(invoices, key=lambda r: r[2])
    p95 = {name: high for name, _, high in results}
    print(f"summary: {len(results)} cases x {args.runs} runs; invoice->PDF p95 worst {slowest[2]:.1f} ms "
          f"({slowest[0].removeprefix('invoice ')}); label PNG->PDF p95 {p95['label to PDF PNG']:.1f} ms; "
          f"ZPL stored p95 {p95['label ZPL sent+stored']:.1f} ms (figures only, no target); load "
          f"{os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
