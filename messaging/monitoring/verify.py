"""Times the data-action verify view and records its outcome: one decorator, so no return path is missed.

    @csrf_exempt
    @observe_verify
    def verify(request): ...  # on the 200 path: return VerifyAnswer(data, verified=result.verified)

Any answer but 200 (401, 405, 413, 415, 400, 429) is `refused`; a 200 is `verified` when it is a VerifyAnswer
with `verified` true, else `unverified`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import metrics


class VerifyAnswer(JsonResponse):
    """The verify view's answer to a well-formed request: its JSON, and whether it verified the member (what
    the metrics count; never sent)."""

    def __init__(self, data: dict[str, Any], *, verified: bool) -> None:
        super().__init__(data)
        self.verified = verified


def outcome_of(response: HttpResponse) -> metrics.VerifyOutcome:
    if response.status_code != 200:
        return metrics.VerifyOutcome.REFUSED
    verified = isinstance(response, VerifyAnswer) and response.verified
    return metrics.VerifyOutcome.VERIFIED if verified else metrics.VerifyOutcome.UNVERIFIED


def observe_verify(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def observed(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        started = time.perf_counter()
        response = view(request, *args, **kwargs)
        metrics.verify_answered(outcome_of(response), time.perf_counter() - started)
        return response

    return observed
