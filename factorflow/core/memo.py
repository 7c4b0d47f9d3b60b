"""A request's memory of exact answers: work done once per request, reused within it.

The pipeline opens a memo around an endpoint's warm-up and its unit of work (see
``Endpoint.warm_up``); code that is asked the same question twice in that span answers
the second time from :func:`remembered`. Outside a memo nothing is remembered.

Only answers that cannot change within the request belong here: an argon2
verification of a (stored hash, secret) pair, or what the user store said about a
login a few milliseconds earlier (the same staleness a user-lookup cache accepts).
Keys are tuples whose first item names the kind of answer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_MEMO: ContextVar[dict[Hashable, Any] | None] = ContextVar("factorflow_request_memo", default=None)


@contextmanager
def request_memo() -> Iterator[None]:
    """Remember answers (in this context only) until the block ends."""
    reset = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(reset)


def forget(kind: str) -> None:
    """Drop the current memo's answers of ``kind`` (the first item of their keys): the
    request changed what they were computed from."""
    memo = _MEMO.get()
    if memo is not None:
        for key in [key for key in memo if isinstance(key, tuple) and key[:1] == (kind,)]:
            del memo[key]


def remembered(key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or its earlier answer for ``key`` within the current memo.

    An exception is not remembered: the next call computes again.
    """
    memo = _MEMO.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[no-any-return]
