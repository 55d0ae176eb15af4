"""gunicorn settings for the production profile (`gunicorn -c config/gunicorn.py config.wsgi`).

Every value can be set from the environment, so the Procfile stays one line.
"""

import multiprocessing
import os

from prometheus_client import multiprocess as prometheus_multiprocess

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}")  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# The data action's timeout is 20 s; nothing of ours should take half of that.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Access log off by default: Django logs what matters, and the load test would measure the log writer.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


# --- Prometheus multiprocess mode (messaging/metrics.py): with PROMETHEUS_MULTIPROC_DIR set, every worker (and the
# push worker, `manage.py deliver_pushes`) writes its metrics to files there, and /metrics sums them. ---
def on_starting(server: object) -> None:
    """The directory must exist before a worker imports prometheus-client. It is not emptied here: the push worker
    may be writing to it already (empty it when the host boots, e.g. a tmpfs; see README "Metrics")."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)


def child_exit(server: object, worker: object) -> None:
    """A worker ended: drop its live gauges (its counters and histograms stay in the sum, as they should)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prometheus_multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
