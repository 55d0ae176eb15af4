"""The card's pages (thin): `GET card/` the sign-in shell Genesys frames, `POST card/` the card itself for an
agent's token, `GET card/signed-in/` the popup's landing page that hands the code back to the shell.

The agent's token arrives in the POST's body, goes to Genesys (users/me) and nowhere else: it is not stored, not
put in a session or a cookie, not logged. The shell's script keeps it in the frame's sessionStorage, the card's
session, to ask again on the next load. CSRF does not apply: the request carries its own credential (the
token), not an ambient one, and the frame is cross-site in Genesys' desktop, where the CSRF cookie would not
come along.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from csp.decorators import csp_replace, csp_update
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from .. import metrics
from ..app_settings import app_settings
from ..genesys.client import GenesysClient, get_client
from ..genesys.errors import GenesysNotFound
from ..metrics import CardOutcome
from ..rate_limit import seconds_until_allowed
from .agents import AgentRefusal, check_agent
from .selectors import member_card

RATE_GROUP = "messaging.agent-card"
MAX_TOKEN_LENGTH = 4096  # Genesys' access tokens are far shorter; anything longer is not one
_REFUSALS = {
    AgentRefusal.BAD_TOKEN: (CardOutcome.BAD_TOKEN, 401),
    AgentRefusal.NOT_ON_CONVERSATION: (CardOutcome.NOT_ON_CONVERSATION, 403),
    AgentRefusal.UNKNOWN_CONVERSATION: (CardOutcome.UNKNOWN_CONVERSATION, 404),
    AgentRefusal.UNAVAILABLE: (CardOutcome.UNAVAILABLE, 503),
}


def framed_by_genesys(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Only Genesys' apps origin (the agent desktop) may frame the response, and its script may call the login
    host's token endpoint. Settings are read per request, so the policy follows them."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        policy = csp_replace({"frame-ancestors": app_settings.AGENT_CARD_FRAME_ANCESTORS})
        connect = csp_update({"connect-src": [app_settings.LOGIN_BASE]})
        return xframe_options_exempt(policy(connect(view)))(request, *args, **kwargs)

    return wrapped


def _language(tag: str) -> str:
    """The agent's language tag (gcLangTag, e.g. "en-us") as a language the site has, else the site's default."""
    try:
        return translation.get_supported_language_variant(tag.strip().lower()[:16]) if tag else ""
    except LookupError:
        return ""


def _params(request: HttpRequest) -> tuple[uuid.UUID | None, str]:
    data = request.POST if request.method == "POST" else request.GET
    try:
        conversation_id = uuid.UUID(data.get("conversationId", ""))
    except ValueError:
        conversation_id = None
    return conversation_id, _language(data.get("langTag", ""))


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int, outcome: CardOutcome | None
) -> HttpResponse:
    if outcome is not None:
        metrics.card_view(outcome)
    response = render(request, f"messaging/agent_card/{template}", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _shell_context(request: HttpRequest, conversation_id: uuid.UUID | None, language: str) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "lang_tag": language,
        "client_id": app_settings.AGENT_CLIENT_ID,
        "authorize_url": f"{app_settings.LOGIN_BASE}/oauth/authorize",
        "token_url": f"{app_settings.LOGIN_BASE}/oauth/token",
        "redirect_uri": request.build_absolute_uri(reverse("messaging:agent-card-signed-in")),
    }


def _customer_authenticated(client: GenesysClient, conversation: dict[str, Any]) -> bool:
    """Genesys' own `authenticated` on the conversation's customer, chosen by the client's one rule (the one the
    data action verified)."""
    try:
        return client.customer_participant(conversation).get("authenticated") is True
    except GenesysNotFound:
        return False


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
@framed_by_genesys
def card(request: HttpRequest) -> HttpResponse:
    """GET: the sign-in shell (its script signs the agent in and posts the token back here). POST
    {access_token, conversationId, langTag}: the card, or a refusal with no member data."""
    conversation_id, language = _params(request)
    with translation.override(language or translation.get_language()):
        context = _shell_context(request, conversation_id, language)
        if conversation_id is None:
            return _page(request, "refused.html", {**context, "reason": "bad_request"}, 400, CardOutcome.BAD_REQUEST)
        if request.method == "GET":
            return _page(request, "shell.html", {**context, "auto_submit": True}, 200, None)
        retry_after = seconds_until_allowed(request, group=RATE_GROUP, key="ip", rate=app_settings.AGENT_CARD_RATE)
        if retry_after is not None:
            context.update(reason="rate_limited")
            response = _page(request, "refused.html", context, 429, CardOutcome.RATE_LIMITED)
            response["Retry-After"] = str(retry_after)
            return response
        token = request.POST.get("access_token", "")
        if not token or len(token) > MAX_TOKEN_LENGTH:
            context.update(reason="bad_token", clear_token=True)
            return _page(request, "refused.html", context, 401, CardOutcome.BAD_TOKEN)
        client = get_client()
        check = check_agent(client, token, str(conversation_id))
        if check.refusal is not None:
            outcome, status = _REFUSALS[check.refusal]
            context.update(reason=check.refusal.value, clear_token=check.refusal is AgentRefusal.BAD_TOKEN)
            return _page(request, "refused.html", context, status, outcome)
        found = member_card(conversation_id, authenticated=_customer_authenticated(client, check.conversation))
        context.update(card=found, agent_name=check.user_name)
        return _page(request, "card.html", context, 200, CardOutcome.MEMBER if found else CardOutcome.GUEST)


@never_cache
@require_GET
def signed_in(request: HttpRequest) -> HttpResponse:
    """The login's redirect target, in the sign-in popup: its script hands `code` and `state` to the card that
    opened it (same origin only) and closes. Nothing is done with the code here."""
    response = render(request, "messaging/agent_card/signed_in.html")
    response["Referrer-Policy"] = "no-referrer"  # the code is in this page's URL
    # The popup must keep its opener, a frame of another site's page (Genesys' desktop): the site's default
    # same-origin policy would cut it off, and the code could not be handed back.
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response
