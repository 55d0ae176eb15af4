"""How many SQL queries the home page makes for a signed-in client, without and with Messenger configured."""

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

DEPLOYMENT_ID = "11111111-2222-4333-8444-555555555555"


def home_page_queries(client: Any, settings: Any) -> tuple[int, int]:
    """(queries without a deployment, queries with one) for GET / by `client`, after one warm-up page (the
    session's first page writes its grant)."""
    client.get("/")
    counts = []
    for deployment in ("", DEPLOYMENT_ID):
        settings.GENESYS_DEPLOYMENT_ID = deployment
        with CaptureQueriesContext(connection) as queries:
            client.get("/")
        counts.append(len(queries))
    return counts[0], counts[1]
