"""Sign-out ends the member's authenticated messaging at the provider too: Genesys' next refresh is refused."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from .provider import revoke_member_tokens


@receiver(user_logged_out, dispatch_uid="messaging.oidc.revoke_provider_tokens_on_logout")
def revoke_provider_tokens_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        revoke_member_tokens(user_id=user.pk)
