"""What a password change ends besides the sessions (which Django ends by the session auth hash): the member's
authenticated messaging. The provider's refresh, access and ID tokens of the member are revoked, so Genesys' next
refresh with them is refused and the member must sign in again to be authenticated in the chat.

Hooked as a password validator (AUTH_PASSWORD_VALIDATORS) for its documented `password_changed(password, user)`
call: Django makes it from `AbstractBaseUser.save()` after every `set_password()`, whatever the path (the
member's change form, the reset link, the admin's form, `manage.py changepassword`), which no signal covers. It
validates nothing.
"""

from __future__ import annotations

from typing import Any


class EndAuthenticatedMessagingOnPasswordChange:
    """A password "validator" that accepts every password and, once a new one is saved, revokes the member's
    OpenID Connect tokens (messaging.oidc.provider.revoke_member_tokens) in the same transaction as the new password, so
    both happen or neither."""

    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is None or user.pk is None:
            return
        from messaging.oidc.provider import (
            revoke_member_tokens,
        )  # oidc imports the provider's models: read once apps are ready

        revoke_member_tokens(user_id=user.pk)

    def get_help_text(self) -> str:
        # Listed with the rules under every new-password field (Django renders one item per validator).
        return "A new password signs you out everywhere else, the chat included."
