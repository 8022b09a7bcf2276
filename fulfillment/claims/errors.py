"""Why a packer may not act on a shipment."""


class ClaimError(Exception):
    packer_message = "This shipment cannot be worked on right now."


class ClaimedByOther(ClaimError):
    """Another user holds a live claim on the shipment."""

    def __init__(self, claim):
        self.claim = claim
        self.holder = claim.user
        super().__init__(self.packer_message)

    @property
    def packer_message(self):
        name = self.holder.get_full_name() or self.holder.get_username()
        return (
            f"{name} is working on this shipment. Pick another one from the queue, "
            f"or ask a supervisor to release it."
        )


class NotClaimed(ClaimError):
    """A renewal for a claim the user no longer holds (released by a supervisor or taken over after it lapsed)."""

    packer_message = "You no longer hold this shipment. Open it again from the queue to carry on."
