"""{% genesys_messenger %}: the official Messenger snippet with the member's attributes (templates/base.html)."""

from typing import Any

from django import template

from ..messenger import messenger_context, note_messenger_rendered

register = template.Library()


@register.inclusion_tag("messaging/messenger.html", takes_context=True)
def genesys_messenger(context: template.Context) -> dict[str, Any]:
    """Renders nothing when Messenger is not configured or there is no request to read the member from."""
    request = context.get("request")
    if request is None:
        return {"messenger": None}
    messenger = messenger_context(request)
    if messenger is not None:
        note_messenger_rendered(request)  # this response's CSP gets Messenger's sources
    return {"messenger": messenger, "csp_nonce": getattr(request, "csp_nonce", "")}
