"""Prometheus metrics of messaging, and one small function per event so that each call site is one line.

Definitions only depend on prometheus-client (never on models or the Genesys client), so any module of messaging
may record, from the bottom layer (genesys/) to the top (views). Labels are closed sets (enums below) or route
templates with every id replaced: a label never carries a conversation id, a member, a token or a secret.

Processes: with PROMETHEUS_MULTIPROC_DIR set *before this module is imported* (gunicorn's workers and the push
worker in production), prometheus-client writes every value to files in that directory and /metrics sums them
(messaging.monitoring.scrape). Without it (development, tests) the values live in this process' default registry.

The outbox backlog is not recorded here: it is read from the database at scrape time (messaging.monitoring.backlog).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable

try:
    from prometheus_client import Counter, Histogram, disable_created_metrics
except ModuleNotFoundError as error:  # optional (extra `metrics`): without it every recording below is dropped
    if error.name != "prometheus_client":
        raise
    from .no_metrics import Counter, Histogram, disable_created_metrics  # type: ignore[assignment]

NAMESPACE = "messaging"

# No `_created` series beside every counter and histogram: they double the exposition and no alert uses them.
disable_created_metrics()


class VerifyOutcome(enum.StrEnum):
    """How the data action's verify call was answered."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"  # answered, but the token did not verify (anonymous, expired, forged, spent)
    REFUSED = "refused"  # not answered: bad credentials, rate-limited, or a malformed request


class PushEnd(enum.StrEnum):
    """The final states of a push."""

    DELIVERED = "delivered"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class TokenOutcome(enum.StrEnum):
    """How a client-credentials grant against the login host ended."""

    ISSUED = "issued"
    REFUSED = "refused"  # 4xx: wrong client id or secret, client without the grant
    RATE_LIMITED = "rate_limited"  # 429
    UNAVAILABLE = "unavailable"  # 5xx, or no answer at all


class CodeExchangeOutcome(enum.StrEnum):
    """Authenticated messaging: how an authorization code exchange ended."""

    EXCHANGED = "exchanged"
    REFUSED = "refused"
    FAILED = "failed"


# Seconds. Verify answers within the data action's 20 s; pushes may wait for retries (minutes).
class CardOutcome(enum.StrEnum):
    """How a request for the agents' member card was answered (agent_card/)."""

    MEMBER = "member"  # a verified member's card
    GUEST = "guest"  # "Guest, not verified"
    BAD_TOKEN = "bad_token"  # no, a wrong, an expired token, or one without a user (client credentials)
    NOT_ON_CONVERSATION = "not_on_conversation"  # the agent is not an agent participant of it
    UNKNOWN_CONVERSATION = "unknown_conversation"
    BAD_REQUEST = "bad_request"  # no or a malformed conversation id
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # Genesys could not be asked: nothing is shown unchecked


VERIFY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
PUSH_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
GENESYS_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
PACING_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

VERIFY_REQUESTS = Counter("verify_requests", "Data-action verify calls by outcome.", ["outcome"], namespace=NAMESPACE)
VERIFY_DURATION = Histogram(
    "verify_duration_seconds",
    "Time to answer a data-action verify call, by outcome.",
    ["outcome"],
    namespace=NAMESPACE,
    buckets=VERIFY_BUCKETS,
)
PUSHES_FINISHED = Counter("pushes_finished", "Pushes that reached a final state.", ["state"], namespace=NAMESPACE)
PUSH_LATENCY = Histogram(
    "push_latency_seconds",
    "Time from the push being recorded (the verify) to Genesys accepting it.",
    namespace=NAMESPACE,
    buckets=PUSH_LATENCY_BUCKETS,
)
GENESYS_REQUESTS = Counter(
    "genesys_requests",
    "Platform API calls by route template and final HTTP status.",
    ["route", "status"],
    namespace=NAMESPACE,
)
GENESYS_DURATION = Histogram(
    "genesys_request_duration_seconds",
    "Time of a Platform API call, retries included, by route template.",
    ["route"],
    namespace=NAMESPACE,
    buckets=GENESYS_BUCKETS,
)
GENESYS_RETRIES = Counter(
    "genesys_retries",
    "Platform API attempts repeated (by the HTTP layer or the client).",
    ["route", "reason"],
    namespace=NAMESPACE,
)
GENESYS_RATE_LIMITED = Counter(
    "genesys_rate_limited", "HTTP 429 answers from Genesys, retried or final.", ["route"], namespace=NAMESPACE
)
OAUTH_TOKEN_REQUESTS = Counter(
    "oauth_token_requests", "Client-credentials grants by outcome.", ["outcome"], namespace=NAMESPACE
)
PACING_WAIT = Histogram(
    "pacing_wait_seconds",
    "Time an API call waited for budget before it was admitted.",
    namespace=NAMESPACE,
    buckets=PACING_BUCKETS,
)
PACING_FAIL_FAST = Counter(
    "pacing_fail_fast", "API calls refused at once because no token had budget in time.", namespace=NAMESPACE
)
CODE_EXCHANGES = Counter(
    "code_exchanges",
    "Authenticated messaging: authorization code exchanges by outcome.",
    ["outcome"],
    namespace=NAMESPACE,
)

CARD_VIEWS = Counter("card_views", "Member card requests by outcome.", ["outcome"], namespace=NAMESPACE)
HTTP_RESPONSES = Counter(
    "http_responses", "Responses of the whole site by status class.", ["status_class"], namespace=NAMESPACE
)
for _status_class in ("2xx", "3xx", "4xx", "5xx"):
    HTTP_RESPONSES.labels(_status_class)

# Every series of a closed label set exists from the start (at 0), so rate() and ratios work before the first event
# and the exposition always names them. The children are bound once: a recording call is a dict lookup and an add.
_VERIFY = {o.value: (VERIFY_REQUESTS.labels(o.value), VERIFY_DURATION.labels(o.value)) for o in VerifyOutcome}
_PUSH_ENDS = {state.value: PUSHES_FINISHED.labels(state.value) for state in PushEnd}
_TOKENS = {o.value: OAUTH_TOKEN_REQUESTS.labels(o.value) for o in TokenOutcome}
_EXCHANGES = {o.value: CODE_EXCHANGES.labels(o.value) for o in CodeExchangeOutcome}
_CARDS = {o.value: CARD_VIEWS.labels(o.value) for o in CardOutcome}


def _child(children: dict, value: str, kind: type[enum.StrEnum]):  # noqa: ANN202 - a prometheus child
    try:
        return children[value]  # a StrEnum member hashes as its value
    except KeyError:
        raise ValueError(f"{value!r} is not a {kind.__name__} ({', '.join(children)})") from None


# Every metric family this module defines, by its exposed base name (alert rules are checked against it).
METRIC_NAMES: frozenset[str] = frozenset(
    f"{NAMESPACE}_{name}"
    for name in (
        "verify_requests_total",
        "verify_duration_seconds",
        "pushes_finished_total",
        "push_latency_seconds",
        "genesys_requests_total",
        "genesys_request_duration_seconds",
        "genesys_retries_total",
        "genesys_rate_limited_total",
        "oauth_token_requests_total",
        "pacing_wait_seconds",
        "pacing_fail_fast_total",
        "code_exchanges_total",
        "http_responses_total",
        "card_views_total",
    )
)

# A path segment that names something (a UUID, a number, a long hex or base64-ish id) becomes "{id}".
_ID_SEGMENT = re.compile(r"^(?:[0-9a-fA-F-]{16,}|\d+|[A-Za-z0-9_-]{32,})$")


@functools.lru_cache(maxsize=512)
def route_template(path: str) -> str:
    """The route of a path with its ids replaced and no query string: bounded label values, no personal data.
    A template already ("/api/v2/conversations/{conversationId}") is returned unchanged."""
    path = path.split("?", 1)[0]
    return "/".join("{id}" if _ID_SEGMENT.match(segment) else segment for segment in path.split("/"))


# --- recording: one line at each call site ---
def verify_answered(outcome: VerifyOutcome | str, seconds: float) -> None:
    """A verify call was answered (or refused) after `seconds`."""
    requests, duration = _child(_VERIFY, outcome, VerifyOutcome)
    requests.inc()
    duration.observe(max(0.0, seconds))


def push_finished(state: PushEnd | str, count: int = 1) -> None:
    """`count` pushes reached a final state (delivered, failed, superseded): an UPDATE's row count may be given."""
    if count:
        _child(_PUSH_ENDS, state, PushEnd).inc(count)


def push_delivered(seconds: float) -> None:
    """A push was delivered `seconds` after it was recorded: push_finished(DELIVERED) and push_latency(seconds)."""
    _PUSH_ENDS[PushEnd.DELIVERED].inc()
    PUSH_LATENCY.observe(max(0.0, seconds))


def push_latency(seconds: float) -> None:
    """A push was delivered `seconds` after it was recorded (push.delivered_at - push.created_at)."""
    PUSH_LATENCY.observe(max(0.0, seconds))


def genesys_call(route: str, status: int | None, seconds: float, retried_statuses: Iterable[int | None] = ()) -> None:
    """One Platform API call ended with `status` (None: no answer) after `seconds`, retries included.

    `retried_statuses` are the statuses of the attempts the HTTP layer repeated (`retry_statuses(response)`); each
    counts as a retry, each 429 among them and a final 429 as a rate limit. `route` may be a template or a path.
    """
    template = route_template(route)
    GENESYS_REQUESTS.labels(template, str(status) if status is not None else "none").inc()
    GENESYS_DURATION.labels(template).observe(max(0.0, seconds))
    limited = 1 if status == 429 else 0
    for retried in retried_statuses:
        GENESYS_RETRIES.labels(template, str(retried) if retried is not None else "transport").inc()
        limited += retried == 429
    if limited:
        GENESYS_RATE_LIMITED.labels(template).inc(limited)


def genesys_retry(route: str, reason: str | int) -> None:
    """The client itself repeated a call (e.g. after a 401, with a fresh token)."""
    GENESYS_RETRIES.labels(route_template(route), str(reason)).inc()


def retry_statuses(response: object) -> list[int | None]:
    """The statuses of the attempts urllib3 repeated for this `requests` response (empty when none or unknown)."""
    history = getattr(getattr(getattr(response, "raw", None), "retries", None), "history", None) or ()
    return [getattr(entry, "status", None) for entry in history]


def token_outcome(status: int | None) -> TokenOutcome:
    """The outcome of a failed grant from its HTTP status (None: no answer)."""
    if status is None or status >= 500:
        return TokenOutcome.UNAVAILABLE
    if status == 429:
        return TokenOutcome.RATE_LIMITED
    return TokenOutcome.REFUSED


def oauth_token_request(outcome: TokenOutcome | str) -> None:
    """A client-credentials grant ended (issued, refused, rate_limited, unavailable)."""
    _child(_TOKENS, outcome, TokenOutcome).inc()


def pacing_wait(seconds: float) -> None:
    """An API call was admitted after waiting `seconds` for budget (0 when admitted at once)."""
    PACING_WAIT.observe(max(0.0, seconds))


def pacing_fail_fast() -> None:
    """An API call was refused because no token had budget within its wait."""
    PACING_FAIL_FAST.inc()


def http_response(status: int) -> None:
    """The site answered a request with `status` (counted by class: 2xx, 3xx, 4xx, 5xx)."""
    HTTP_RESPONSES.labels(f"{status // 100}xx").inc()


def code_exchange(outcome: CodeExchangeOutcome | str) -> None:
    """An authenticated-messaging code exchange ended (exchanged, refused, failed)."""
    _child(_EXCHANGES, outcome, CodeExchangeOutcome).inc()


def card_view(outcome: CardOutcome | str) -> None:
    """A member card request was answered (CardOutcome)."""
    _child(_CARDS, outcome, CardOutcome).inc()
