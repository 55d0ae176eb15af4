"""The verify view's decorator records one outcome per answer, with its time."""

from __future__ import annotations

import pytest
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory
from prometheus_client import REGISTRY

from messaging.monitoring.verify import VerifyAnswer, observe_verify


def count(outcome: str) -> float:
    return REGISTRY.get_sample_value("messaging_verify_requests_total", {"outcome": outcome})


def answering(status: int, verified: bool | None = None):
    @observe_verify
    def view(request):
        if status != 200:
            return HttpResponse(status=status)
        return JsonResponse({}) if verified is None else VerifyAnswer({}, verified=verified)

    return view


@pytest.mark.parametrize(
    ("status", "verified", "outcome"),
    [
        (200, True, "verified"),
        (200, False, "unverified"),
        (200, None, "unverified"),
        (401, None, "refused"),
        (429, None, "refused"),
        (400, None, "refused"),
        (405, None, "refused"),
    ],
)
def test_each_answer_counts_once_under_its_outcome(status, verified, outcome):
    before = {name: count(name) for name in ("verified", "unverified", "refused")}
    response = answering(status, verified)(RequestFactory().post("/messaging/genesys/verify"))
    assert response.status_code == status
    after = {name: count(name) for name in before}
    assert {name: after[name] - before[name] for name in before} == {
        name: 1 if name == outcome else 0 for name in before
    }
