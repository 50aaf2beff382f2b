"""Shared wire shapes: pages of results and the query parameters that ask for them."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from litestar.params import Parameter

T = TypeVar("T")
# A route's opt key: its answers are about a kilobyte (a check-in's: ~1 kB, two with photos and
# flags), where gzip saves no round trip, so the compression middleware skips the route without
# building a compressor for each answer (3% of a check-in: bench_web.py; see app.py).
UNCOMPRESSED = "uncompressed"


class Page(msgspec.Struct, Generic[T], kw_only=True):
    items: list[T]
    total: int
    page: int
    page_size: int


class PageRequest(msgspec.Struct, frozen=True, kw_only=True):
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def provide_page(
    page: Annotated[int, Parameter(ge=1, le=100_000, default=1, description="页码，从 1 开始")] = 1,
    page_size: Annotated[int, Parameter(ge=1, le=200, default=50, description="每页条数 (1–200)")] = 50,
) -> PageRequest:
    return PageRequest(page=page, page_size=page_size)


# Handlers declare `paging: Paging` to receive the validated page request.
Paging = NamedDependency[PageRequest]


def client_ip(request: Request) -> str:
    """The caller's address, as the audit log records it."""
    return request.client.host if request.client else ""
