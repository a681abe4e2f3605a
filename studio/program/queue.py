"""The run-down as the operator sees it: each product's place and status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProductStatus(StrEnum):
    DONE = "done"
    ON_AIR = "on air"
    NEXT = "next"
    QUEUED = "queued"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class QueueEntry:
    product_id: str
    name: str
    price_text: str
    status: ProductStatus
    pinned: bool = False
