"""Reads for the Messenger widget: what a page renders for the person at the browser."""

import functools
import json
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.templatetags.static import static as static_url
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString

from .app_settings import app_settings
from .attributes import anonymous_attributes, member_attribute_keys, member_attributes, page_attributes
from .identity.adapter import Member, get_member_adapter
from .identity.grants import issue_page_token
from .identity.member_token import member_token_size
from .regions import websocket_origin

# Set by the logout view in the fresh session; the first page after sign-out clears Messenger even when the
# browser's own marker says nothing changed (removed, or written by an older page).
LOGOUT_CLEAR_SESSION_KEY = "messaging.clear_messenger"
ANONYMOUS_OWNER = "anonymous"
# The page's data (json_script) and the static script that reads it (messaging/static/messaging/messenger.js).
DATA_ELEMENT_ID = "genesys-messenger-data"
MESSENGER_SCRIPT = "messaging/messenger.js"


def messenger_owner(member: Member | None) -> str:
    """Who the browser's Messenger belongs to, as the page remembers it in localStorage.

    A keyed hash of the public id, not the id: the marker outlives the session on a shared browser, and the
    next person there (or a script on the page) should not learn who used it before.
    """
    if member is None:
        return ANONYMOUS_OWNER
    return _owner_of(member.public_id)


@functools.lru_cache(maxsize=4096)
def _owner_of(public_id: str) -> str:
    # The same for every page of a member: hashed once per process (forgotten with SECRET_KEY, forget_precomputed).
    return "m-" + salted_hmac("messaging.messenger-owner", public_id).hexdigest()[:32]


def _member_for_request(request: HttpRequest) -> Member | None:
    """The signed-in member, as the member adapter reads them from the request's user (in this request, so a
    level an admin changed shows on the next page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    member = get_member_adapter().member_for_user(user)
    return member if member is not None and member.is_active else None


@functools.cache
def _auth_code_url() -> str:
    url = app_settings.AUTH_CODE_URL
    return url if url.startswith("/") else reverse(url)


@functools.cache
def _precomputed() -> dict[str, Any]:
    """What no request changes, computed once per process (and again after a settings change in tests:
    forget_precomputed): the static part of the page's data and the whole data of an anonymous page, as JSON."""
    member_keys = member_attribute_keys()
    authenticated = app_settings.AUTHENTICATED_MESSAGING
    static = {
        "scriptUrl": app_settings.MESSENGER_SCRIPT_URL,
        "environment": app_settings.ENVIRONMENT,
        "deploymentId": app_settings.DEPLOYMENT_ID,
        "memberKeys": member_keys,
        "authenticatedMessaging": authenticated,
        "guestToMember": app_settings.GUEST_TO_MEMBER if authenticated else "clear",
        # Visitors chat on it (authenticated messaging only: without it one deployment serves everyone).
        "guestDeploymentId": (app_settings.GUEST_DEPLOYMENT_ID or None) if authenticated else None,
    }
    anonymous = anonymous_attributes()
    anonymous_data = {
        **static,
        "deploymentId": static["guestDeploymentId"] or static["deploymentId"],
        "attributes": anonymous,
        "removeKeys": [key for key in member_keys if key not in anonymous],
        "owner": ANONYMOUS_OWNER,
        "auth": None,
    }
    script = format_html('\n<script src="{}"></script>', static_url(MESSENGER_SCRIPT))
    anonymous_json = {clear: json.dumps({**anonymous_data, "clear": clear}) for clear in (False, True)}
    return {
        "static": static,
        "script": script,
        "anonymous_json": anonymous_json,
        "anonymous_html": {clear: data_element({**anonymous_data, "clear": clear}) + script for clear in (False, True)},
    }


def forget_precomputed(**kwargs: Any) -> None:
    """Receiver of setting_changed (receivers.py): the next page computes the static parts again."""
    _precomputed.cache_clear()
    _precomputed_csp_sources.cache_clear()
    _auth_code_url.cache_clear()
    _owner_of.cache_clear()
    member_token_size.cache_clear()


def _take_clear_flag(request: HttpRequest) -> bool:
    session = getattr(request, "session", None)
    return bool(session.pop(LOGOUT_CLEAR_SESSION_KEY, False)) if session is not None else False


def _member_context(request: HttpRequest, member: Member, clear: bool, csrf_token: Any = None) -> dict[str, Any]:
    static = _precomputed()["static"]
    auth = None
    if static["authenticatedMessaging"]:
        attributes = member_attributes(member)
        # The page's own token when the template has one (its sign-out form's): each get_token masks anew.
        auth = {"codeUrl": _auth_code_url(), "csrfToken": str(csrf_token or get_token(request))}
    else:
        # No session, no grant: a token without one could never be verified.
        token = issue_page_token(request, member) if getattr(request, "session", None) is not None else ""
        attributes = page_attributes(member, token)
    return {
        **static,
        "attributes": attributes,
        # Keys a previous member may have left in Messenger's database that this page does not set.
        "removeKeys": [key for key in static["memberKeys"] if key not in attributes],
        "owner": messenger_owner(member),
        "clear": clear,
        "auth": auth,
    }


def messenger_context(request: HttpRequest) -> dict[str, Any] | None:
    """What the page needs to start Messenger for this request, or None when Messenger is not configured.

    Writes only to the session: takes the one-shot logout flag out (it must clear exactly one page) and, for a
    member in member-token mode, makes the session's token grant on its first page (grants.issue_page_token). With
    authenticated messaging a member's page carries no token: `auth` tells the page's AuthProvider where to ask
    for a code, with the CSRF token that call needs (CSRF_COOKIE_HTTPONLY keeps it out of the cookie's reach).
    Visitors get `auth` None: they register nothing.
    """
    if not app_settings.MESSENGER_CONFIGURED:
        return None
    member = _member_for_request(request)
    clear = _take_clear_flag(request)
    if member is None:
        return json.loads(_precomputed()["anonymous_json"][clear])
    return _member_context(request, member, clear)


def messenger_html(request: HttpRequest, csrf_token: Any = None) -> str:
    """The tag's HTML: the data as a json_script block (never executed, so no CSP nonce) and the static script
    that starts Messenger, loaded synchronously where it stands so the attributes are queued before Messenger's
    own script can run. "" when Messenger is not configured. An anonymous page's HTML is precomputed.
    `csrf_token`: the template's (lazy) CSRF token, shared with the page's forms instead of masking another."""
    if not app_settings.MESSENGER_CONFIGURED:
        return ""
    precomputed = _precomputed()
    member = _member_for_request(request)
    clear = _take_clear_flag(request)
    if member is None:
        return precomputed["anonymous_html"][clear]
    return data_element(_member_context(request, member, clear, csrf_token)) + precomputed["script"]


def data_element(data: dict[str, Any]) -> SafeString:
    """The page's data as Django's json_script writes it (inert whatever the values hold)."""
    return json_script(data, DATA_ELEMENT_ID)


# Set on the request by {% genesys_messenger %} when it rendered the widget: the response then needs Messenger's
# CSP sources (messaging.middleware.MessengerCSPMiddleware adds them to that response only).
MESSENGER_RENDERED_ATTR = "_genesys_messenger_rendered"


def messenger_csp_sources() -> dict[str, list[str]]:
    """The sources each CSP directive must allow for Messenger, from the current settings; {} when it is off.

    Added per response, to the pages that render the widget (messenger_csp_update): the site's
    CONTENT_SECURITY_POLICY never names a Genesys host. A real org: the apps host for the script and its assets,
    and for connections the apps host, the API host and the region's guest socket (wss://webmessaging.<domain>).
    The sandbox is one origin for all of it, its guest socket served under ws:// on the same host and port
    (nothing wider: not `ws:`, not another port).
    """
    if not app_settings.MESSENGER_CONFIGURED:
        return {}
    apps = app_settings.APPS_BASE
    if app_settings.SANDBOX:
        connect = [apps, websocket_origin(apps)]
    else:
        connect = list(dict.fromkeys([apps, app_settings.API_BASE, f"wss://{app_settings.REGION.webmessaging_host}"]))
    return {
        "script-src": [apps],
        "style-src": [apps],
        "img-src": [apps],
        "font-src": [apps],
        "frame-src": [apps],
        "connect-src": connect,
    }


def note_messenger_rendered(request: HttpRequest) -> None:
    """Record that this request's page carries the widget, so its response gets Messenger's CSP sources."""
    setattr(request, MESSENGER_RENDERED_ATTR, True)


def messenger_csp_update(request: HttpRequest) -> dict[str, list[str]]:
    """The CSP additions this request's response needs (django-csp's per-response update): Messenger's sources
    when the page rendered the widget, else {}."""
    if not getattr(request, MESSENGER_RENDERED_ATTR, False):
        return {}
    return _precomputed_csp_sources()


@functools.cache
def _precomputed_csp_sources() -> dict[str, list[str]]:
    """messenger_csp_sources once per process (forgotten with the rest on a settings change)."""
    return messenger_csp_sources()
