"""The order in which a transaction locks a shipment and its rows (packages, lines, documents).

The sync locks the shipment (FOR UPDATE), then writes its lines and packages. A transaction that
writes a child row first, and whose foreign keys PostgreSQL checks only at commit (FOR KEY SHARE of
the shipment, after the child is written), takes the two locks the other way round: the two deadlock.
Such a transaction locks the shipment first (`lock_shipment`), so both wait in the same order.
"""

from ..models import Shipment


def lock_shipment(shipment_id: int) -> None:
    """Lock the shipment's row for the rest of the transaction (FOR NO KEY UPDATE: inserts of its
    children by others still pass)."""
    list(Shipment.objects.select_for_update(no_key=True).filter(pk=shipment_id).values_list("pk"))
