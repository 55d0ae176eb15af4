"""Create or update the OpenID Connect client Genesys uses (idempotent; `make run` runs it for the sandbox)."""

from django.core.management.base import BaseCommand, CommandError

from ...client import register_genesys_client
from ...conf import setting


class Command(BaseCommand):
    help = (
        "Create or update the OAuth application Genesys' OpenID Connect Messenger Configuration uses: client id "
        "and secret from GENESYS_OIDC_CLIENT_ID / GENESYS_OIDC_CLIENT_SECRET, redirect URIs from "
        "GENESYS_OIDC_REDIRECT_URIS. The secret is never printed."
    )

    def handle(self, *args, **options) -> None:
        client_id = setting("GENESYS_OIDC_CLIENT_ID")
        client_secret = setting("GENESYS_OIDC_CLIENT_SECRET")
        if not client_id or not client_secret:
            raise CommandError("Set GENESYS_OIDC_CLIENT_ID and GENESYS_OIDC_CLIENT_SECRET in the environment.")
        if not setting("GENESYS_OIDC_REDIRECT_URIS"):
            raise CommandError("Set GENESYS_OIDC_REDIRECT_URIS (at least one URL of the site's pages).")
        application, created = register_genesys_client(
            client_id=client_id, client_secret=client_secret, redirect_uris=setting("GENESYS_OIDC_REDIRECT_URIS")
        )
        verb = "created" if created else "updated"
        self.stdout.write(
            f"{verb} OpenID Connect client {application.client_id!r}; redirect URIs: {application.redirect_uris}"
        )
