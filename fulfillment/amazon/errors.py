"""What can go wrong when Packbench talks to Amazon, in words a packer can act on.

Every error carries Amazon's error list and `x-amzn-RequestId` (for Seller Support),
`.packer_message` (what happened and what to do) and `.outcome_unknown`: True when a write
timed out or failed with a 5xx, so Amazon may or may not have done it and the caller must
re-read the shipment before trying again.
"""

from __future__ import annotations

from collections.abc import Sequence

from .schemas import Error


class AmazonError(Exception):
    """Base of every Amazon client error."""

    #: Set when the request never reached Amazon (connection refused, no access token): safe to resend.
    not_sent = False
    #: The seller account whose call failed (set by the client), for messages that must name it.
    seller_account = ""
    default_message = "Amazon could not complete this step. Try again; if it keeps failing, tell your supervisor."

    def __init__(
        self,
        status: int | None = None,
        errors: Sequence[Error] | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        *,
        outcome_unknown: bool = False,
        detail: str | None = None,
    ):
        self.status = status
        self.errors: list[Error] = list(errors or [])
        self.request_id = request_id
        self.operation = operation
        self.outcome_unknown = outcome_unknown
        self.detail = detail
        super().__init__(self._summary())

    def _summary(self) -> str:
        parts = [type(self).__name__]
        if self.operation:
            parts.append(f"in {self.operation}")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.amazon_message:
            parts.append(f"- {self.amazon_message}")
        elif self.detail:
            parts.append(f"- {self.detail}")
        if self.request_id:
            parts.append(f"(request {self.request_id})")
        if self.outcome_unknown:
            parts.append("[outcome unknown]")
        if self.seller_account:
            parts.append(f"[seller account {self.seller_account}]")
        return " ".join(parts)

    def __str__(self) -> str:
        return self._summary()  # the client names the seller account after construction

    @property
    def error_code(self) -> str:
        return self.errors[0].code if self.errors else ""

    @property
    def amazon_message(self) -> str:
        """Amazon's own words, all errors joined."""
        return "; ".join(
            f"{error.message}{f' ({error.details})' if error.details else ''}" for error in self.errors if error.message
        )

    @property
    def packer_message(self) -> str:
        message = self.default_message
        if self.outcome_unknown:
            message = (
                "Amazon did not answer clearly, so this step may or may not have been done. "
                "Refresh the shipment to see its current step before trying again."
            )
        if self.request_id:
            message += f" (Amazon request {self.request_id})"
        return message


class AmazonBadRequest(AmazonError):
    @property
    def packer_message(self) -> str:
        said = f" Amazon says: {self.amazon_message}." if self.amazon_message else ""
        return f"Amazon did not accept the details sent.{said} Check them and try again."


class AmazonForbidden(AmazonError):
    #: True when Amazon refused a freshly fetched access token too: re-trying will not help.
    token_replaced = False

    @property
    def packer_message(self) -> str:
        account = f"seller account {self.seller_account!r}" if self.seller_account else "this seller account"
        again = ", even with a new access token" if self.token_replaced else ""
        return (
            f"Amazon refused access for {account}{again}. Ask your supervisor or admin to check that "
            "account's Amazon authorisation (its app roles and seller consent)."
        )


class AmazonNotFound(AmazonError):
    @property
    def packer_message(self) -> str:
        return "Amazon does not know this shipment or package. Refresh the shipment list; it may have moved."


class AmazonConflict(AmazonError):
    @property
    def packer_message(self) -> str:
        said = f" ({self.amazon_message})" if self.amazon_message else ""
        return (
            f"Amazon says this step does not fit the shipment's current status{said}. "
            "Refresh the shipment and continue from its current step."
        )


class AmazonUnprocessable(AmazonError):
    @property
    def packer_message(self) -> str:
        said = f": {self.amazon_message}" if self.amazon_message else ""
        return f"Amazon could not process this step{said}. Check the package details and try again."


class AmazonThrottled(AmazonError):
    def __init__(self, *args, retry_after: float | None = None, **kwargs):
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)

    @property
    def packer_message(self) -> str:
        return "Amazon is busy right now (too many requests). Wait a few seconds and try again."


class AmazonServerError(AmazonError):
    @property
    def packer_message(self) -> str:
        if self.outcome_unknown:
            return (
                "Amazon had a problem and may or may not have done this step. "
                "Refresh the shipment to see its current step before trying again."
            )
        return "Amazon is having a problem right now. Wait a minute and try again."


class AmazonTimeout(AmazonError):
    @property
    def packer_message(self) -> str:
        if self.outcome_unknown:
            return (
                "Amazon did not answer in time, so this step may or may not have been done. "
                "Refresh the shipment to see its current step before trying again."
            )
        return "Amazon did not answer in time. Try again in a moment."


class AmazonConnectionError(AmazonError):
    @property
    def packer_message(self) -> str:
        return "Packbench cannot reach Amazon. Check the station's internet connection and try again."


class AmazonAuthConfigurationError(AmazonError):
    @property
    def packer_message(self) -> str:
        account = f"seller account {self.seller_account!r}" if self.seller_account else "this seller account"
        return (
            f"Amazon rejected the login credentials of {account}. Ask your admin to re-authorise the "
            "seller account in Packbench; retrying will not help."
        )


class AmazonUnexpectedResponse(AmazonError):
    """Amazon answered with something that does not match its own model."""

    @property
    def packer_message(self) -> str:
        return (
            "Amazon sent an answer Packbench could not read. Refresh the shipment; "
            "if it keeps happening, tell your supervisor."
        )


class LabelUrlExpired(AmazonError):
    @property
    def packer_message(self) -> str:
        return "The label link from Amazon has expired. Get the label again (regenerate) and print it."


class AmazonAnswerTooLarge(AmazonUnexpectedResponse):
    """Amazon's answer was longer than AMAZON_MAX_RESPONSE_BYTES; it was not read."""

    @property
    def packer_message(self) -> str:
        return (
            "Amazon sent an answer far larger than any shipment or invoice, so Packbench did not read it and "
            "stored nothing. If this was the invoice, download it from Seller Central; tell your supervisor."
        )


# --- Label downloads: the label file behind the link Amazon hands out ---------------------------------

_NOTHING_STORED = ("Nothing was stored and the label kept before (if any) stays. Press Retry to get the label "
                   "again; if it happens again, tell your supervisor.")


class LabelLinkRefused(AmazonError):
    """The label link (or a redirect) points somewhere Packbench never downloads from."""

    @property
    def packer_message(self) -> str:
        return f"Packbench did not download this label: the link Amazon sent {self.detail}. {_NOTHING_STORED}"


class LabelDownloadTooSlow(AmazonError):
    """The label download did not finish within AMAZON_LABEL_DOWNLOAD_SECONDS."""

    @property
    def packer_message(self) -> str:
        return (f"The label download did not finish in time ({self.detail}), so Packbench stopped it. "
                f"{_NOTHING_STORED}")


class LabelTooLarge(AmazonError):
    """The label file is longer than DOCUMENT_MAX_BYTES."""

    @property
    def packer_message(self) -> str:
        return f"The label file is larger than any shipping label ({self.detail}), so it was not downloaded. {_NOTHING_STORED}"


ERRORS_BY_STATUS: dict[int, type[AmazonError]] = {
    400: AmazonBadRequest,
    403: AmazonForbidden,
    404: AmazonNotFound,
    409: AmazonConflict,
    413: AmazonBadRequest,
    415: AmazonBadRequest,
    422: AmazonUnprocessable,
    429: AmazonThrottled,
}


def error_class_for(status: int) -> type[AmazonError]:
    if status >= 500:
        return AmazonServerError
    return ERRORS_BY_STATUS.get(status, AmazonError)
