from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from messaging.monitoring.scrape import refusal as metrics_refusal

from .probes import run_probes


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so a database outage never restarts workers."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, cache, a Genesys token and the data action's credentials, each reported; 503 when
    any fails. The public sees only which passed; the details (vendor, cache class, error texts) go to whom may
    read the metrics (`Authorization: Bearer <METRICS_TOKEN>`, or loopback while it is unset)."""
    ok, checks = run_probes()
    if metrics_refusal(request) is not None:
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503)
