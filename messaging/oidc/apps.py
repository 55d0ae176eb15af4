from django.apps import AppConfig


class MessagingOidcConfig(AppConfig):
    name = "messaging.oidc"
    label = "messaging_oidc"
    verbose_name = "Genesys messaging: OpenID Connect provider"

    def ready(self) -> None:
        # The sign-out receiver needs the app registry (it reads the provider's models).
        from . import receivers  # noqa: F401
