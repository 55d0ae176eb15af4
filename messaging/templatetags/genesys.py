"""{% genesys_messenger %}: the page's Messenger data and the script that starts the official snippet
(templates/base.html). No template is rendered and no CSP nonce is used: the data is inert JSON and the script a
static file, so a page pays little for the tag."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..messenger import messenger_html, note_messenger_rendered

register = template.Library()


@register.simple_tag(takes_context=True)
def genesys_messenger(context: template.Context) -> SafeString:
    """Renders nothing when Messenger is not configured or there is no request to read the member from."""
    request = context.get("request")
    if request is None:
        return mark_safe("")
    html = messenger_html(request, csrf_token=context.get("csrf_token"))
    if html:
        note_messenger_rendered(request)  # this response's CSP gets Messenger's sources
    return mark_safe(html)  # noqa: S308 - json_script and format_html escaped every value
