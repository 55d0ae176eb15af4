"""Times the data-action verify view and records its outcome: one decorator, so no return path is missed.

    @csrf_exempt
    @observe_verify
    def verify(request): ...  # on the 200 path: response.verified = result.verified

Any answer but 200 (401, 405, 413, 415, 400, 429) is `refused`; a 200 is `verified` when the view marked the
response `verified = True`, else `unverified`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .. import metrics


def outcome_of(response: HttpResponse) -> metrics.VerifyOutcome:
    if response.status_code != 200:
        return metrics.VerifyOutcome.REFUSED
    return metrics.VerifyOutcome.VERIFIED if getattr(response, "verified", False) else metrics.VerifyOutcome.UNVERIFIED


def observe_verify(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def observed(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        started = time.perf_counter()
        response = view(request, *args, **kwargs)
        metrics.verify_answered(outcome_of(response), time.perf_counter() - started)
        return response

    return observed
