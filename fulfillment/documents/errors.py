"""What can go wrong turning Amazon's documents into something a packer can print.

Every error carries `.packer_message`: what happened and what to do, in plain words, safe to
show on the station screen. `str(error)` is the same text; `.detail` says more for the log.
"""

# What the packer can do about a document Packbench cannot read: Amazon may send a good copy next time.
TRY_AGAIN = ("Ask Amazon for it again; if it still cannot be shown, download it from Seller Central "
             "and tell your supervisor.")


class DocumentError(Exception):
    """A document cannot be turned into a printable PDF."""

    def __init__(self, packer_message: str, *, detail: str = ""):
        super().__init__(packer_message)
        self.packer_message = packer_message
        self.detail = detail


class UnreadableDocument(DocumentError):
    """The bytes are not a PDF, image, ZPL or text Packbench can read (empty, damaged, cut off, garbage)."""
