"""The one OAuth application Genesys uses at the site's provider: created or brought up to date (a write)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import check_password
from django.db import transaction
from oauth2_provider.models import AbstractApplication, get_application_model

GENESYS_APPLICATION_NAME = "Genesys Cloud authenticated messaging"


@transaction.atomic
def register_genesys_client(*, client_id: str, client_secret: str, redirect_uris: list[str]) -> tuple[Any, bool]:
    """Create or update the Genesys application (found by its name, so a new client id replaces the old one):
    confidential, authorization code, RS256 ID tokens, trusted (no consent screen). Returns (application,
    created). The secret is stored hashed and only rewritten when it changed.
    """
    Application = get_application_model()
    application = Application.objects.select_for_update().filter(name=GENESYS_APPLICATION_NAME).first()
    created = application is None
    if created:
        application = Application(name=GENESYS_APPLICATION_NAME)
    application.client_id = client_id
    if created or not check_password(client_secret, application.client_secret):
        application.client_secret = client_secret
    application.client_type = AbstractApplication.CLIENT_CONFIDENTIAL
    application.authorization_grant_type = AbstractApplication.GRANT_AUTHORIZATION_CODE
    application.redirect_uris = " ".join(redirect_uris)
    application.algorithm = AbstractApplication.RS256_ALGORITHM
    application.skip_authorization = True
    application.hash_client_secret = True
    application.save()
    return application, created
