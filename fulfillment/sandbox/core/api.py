"""What every imitated API plugs into the core: its operations, state, settings and seeding.

Each API package also has a control.py with its /_sandbox/ endpoints (urls.py lists them all).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import bad_request
from .model import Model

if TYPE_CHECKING:
    from .sandbox import Sandbox


@dataclass
class Call:
    """One SP-API request as an operation handler sees it."""

    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)  # the last value of each parameter
    lists: dict[str, list[str]] = field(default_factory=dict)  # every value of each parameter
    body: Any = None
    base_url: str = ""
    seller: str = ""  # the selling partner the access token acts for (auth.seller_key; "" if unknown)

    def require_body(self) -> Any:
        if self.body is None:
            raise bad_request("The request body is required.")
        return self.body


class Api:
    """Base of each imitated API: its operations' handlers, its part of the settings and state."""

    name: ClassVar[str]
    # (model, operationId) -> handler(api, Call): (status, JSON body or None); methods will do
    handlers: ClassVar[dict[tuple[Model, str], Callable]] = {}
    # the plan of operations whose model states none (EF: 1 request/s, guide 003)
    default_plan: ClassVar[tuple[float, int]] = (1.0, 1)
    # settings this API adds to /_sandbox/config, with their start-up values
    config_defaults: ClassVar[dict[str, Any]] = {}
    # how much it seeds: the reset/runsandbox size it reads (e.g. "count") and its default
    size_key: ClassVar[str | None] = None
    default_size: ClassVar[int] = 0

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    # shared state, read through the sandbox
    @property
    def lock(self) -> threading.RLock:
        return self.sandbox.lock

    @property
    def config(self) -> dict:
        return self.sandbox.config

    @property
    def rng(self) -> random.Random:
        return self.sandbox.rng

    def now(self) -> datetime:
        return self.sandbox.now()

    # hooks
    def check_config(self, key: str, value: Any) -> Any:
        """The validated value of one of this API's settings; ValueError says what is wrong."""
        return value

    @property
    def size(self) -> int:
        return self.sandbox.sizes[self.size_key] if self.size_key else 0

    def reset(self) -> int:
        """Fresh seeded state from sandbox.seed_number (and self.size); how many items it seeded."""
        return 0

    def static_case(self, operation_id: str, call: Call) -> tuple[int, Any] | None:
        return None

    def call_ids(self, operation_id: str, call: Call) -> dict:
        """The ids the call log records for this request (shipment_id, package_id, order_id)."""
        return {}

    def live_tick(self) -> dict:
        return {}
