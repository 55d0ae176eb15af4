"""`python manage.py genesys_check`: is the Genesys integration configured and can it get a token?

Prints the region, the hosts, each Messenger deployment's public settings (config.json: authentication, session
upgrade, clearing, allowed domains) with where they disagree with the site's settings, the token's lifetime and,
in plain words, what failed; exits non-zero on failure.
Works the same against the sandbox (development) and a real org. Never prints the secret or the token.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.app_settings import app_settings
from messaging.deployment import DeploymentSettings, DeploymentUnreadable, mismatches, read_deployment
from messaging.genesys.errors import GenesysConfigurationError, GenesysError, GenesysRateLimited
from messaging.genesys.oauth import AccessToken, get_token_service
from messaging.regions import UnknownRegion


class Command(BaseCommand):
    help = "Check the Genesys Cloud configuration: region, hosts, and a client-credentials token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--conversation",
            metavar="ID",
            help="also read this message conversation and show its customer participant (needs the API role)",
        )
        parser.add_argument(
            "--no-store",
            action="store_true",
            help="do not put the new token in the shared cache (by default the site reuses it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        failures: list[str] = []
        self._configuration(failures)
        if not failures and app_settings.MESSENGER_CONFIGURED:
            self._deployments(failures)
        entry = self._token(failures) if not failures else None
        if entry is not None and not options["no_store"]:
            self._cache(entry, failures)
        if entry is not None and options["conversation"]:
            self._conversation(options["conversation"], failures)
        if failures:
            raise CommandError(f"Genesys check failed: {'; '.join(failures)}.")
        self.stdout.write(self.style.SUCCESS("Genesys check passed."))

    def _line(self, label: str, value: str) -> None:
        self.stdout.write(f"  {label + ':':<16}{value}")

    def _configuration(self, failures: list[str]) -> None:
        self.stdout.write("Configuration")
        try:
            region = app_settings.REGION
        except UnknownRegion as error:
            failures.append(str(error))
            self.stdout.write(self.style.ERROR(f"  {error}"))
            return
        self._line("region", f"{region.name} ({region.domain})")
        self._line("sandbox", "on (development stand-in, not a real org)" if app_settings.SANDBOX else "off")
        self._line("api host", app_settings.API_BASE)
        self._line("login host", app_settings.LOGIN_BASE)
        self._line("apps host", app_settings.APPS_BASE)
        self._line("webmessaging", f"wss://{region.webmessaging_host}")
        self._line("environment", app_settings.ENVIRONMENT)
        self._line("deployment id", app_settings.DEPLOYMENT_ID or "not set (Messenger is not shown)")
        self._line("client id", app_settings.CLIENT_ID or "not set")
        secret = app_settings.CLIENT_SECRET
        self._line("client secret", f"set ({len(secret)} characters)" if secret else "not set")
        if not app_settings.API_CONFIGURED:
            failures.append("GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET must both be set")
            self.stdout.write(
                self.style.ERROR("  The API client is not configured: set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET.")
            )

    def _deployments(self, failures: list[str]) -> None:
        """Each deployment's public settings (config.json) and where they disagree with the site's settings."""
        from django.conf import settings

        self.stdout.write("Messenger deployments")
        ids = {"members": app_settings.DEPLOYMENT_ID, "visitors": app_settings.GUEST_DEPLOYMENT_ID}
        read: dict[str, DeploymentSettings] = {}
        for role, deployment_id in ids.items():
            if not deployment_id:
                self._line(role, "no deployment of their own (GENESYS_GUEST_DEPLOYMENT_ID not set)")
                continue
            try:
                deployment = read[role] = read_deployment(deployment_id)
            except DeploymentUnreadable as error:
                failures.append(f"the {role}' deployment configuration ({error})")
                self.stdout.write(self.style.ERROR(f"  {role}: FAILED: {error}"))
                continue
            domains = deployment.allowed_domains
            self._line(role, deployment_id)
            self._line("  auth", "on" if deployment.auth_enabled else "off")
            self._line("  upgrade", "allowed" if deployment.allow_session_upgrade else "not allowed")
            self._line("  clearing", "on" if deployment.clear_enabled else "off (clears are refused)")
            self._line(
                "  domains", ", ".join(domains) if domains else "all" if domains is not None else "not published"
            )
        if "members" not in read:
            return
        found = mismatches(read["members"], read.get("visitors"), settings.ALLOWED_HOSTS)
        for _, sentence in found:
            self.stdout.write(self.style.WARNING(f"  mismatch: {sentence}"))
        if not found:
            self._line("site settings", "agree with the deployments")

    def _token(self, failures: list[str]) -> AccessToken | None:
        self.stdout.write("Token")
        try:
            # Always a fresh grant: a cached token would not prove that the configured secret works.
            entry = get_token_service().fetch()
        except GenesysError as error:
            failures.append(f"no token ({_describe(error)})")
            self.stdout.write(self.style.ERROR(f"  FAILED: {error}"))
            if error.correlation_id:
                self._line("correlation id", error.correlation_id)
            return None
        hours = entry.expires_in / 3600
        self._line("token", "ok (client-credentials grant accepted)")
        self._line("lifetime", f"{entry.expires_in} s ({hours:.1f} h, the OAuth client's Token Duration)")
        self._line("reused for", f"{entry.cache_seconds} s (lifetime minus the safety margin)")
        return entry

    def _cache(self, entry: AccessToken, failures: list[str]) -> None:
        service = get_token_service()
        try:
            service.store(entry)
        except Exception as error:  # noqa: BLE001 - any cache failure is reported in plain words
            failures.append(f"the cache could not store the token ({type(error).__name__})")
            self.stdout.write(self.style.ERROR(f"  cache: FAILED ({type(error).__name__}: {str(error)[:200]})"))
            return
        self._line("cache", f"stored for every process ({type(service.cache).__name__})")

    def _conversation(self, conversation_id: str, failures: list[str]) -> None:
        from messaging.genesys.client import get_client

        self.stdout.write("Conversation")
        client = get_client()
        try:
            conversation = client.get_message_conversation(conversation_id)
            customer = client.customer_participant(conversation)
        except GenesysError as error:
            failures.append(f"conversation {conversation_id} ({_describe(error)})")
            self.stdout.write(self.style.ERROR(f"  FAILED: {error}"))
            return
        self._line("participants", str(len(conversation.get("participants") or [])))
        self._line("customer", f"{customer.get('id')} ({len(customer.get('attributes') or {})} attributes)")


def _describe(error: GenesysError) -> str:
    parts = [type(error).__name__]
    if error.status:
        parts.append(f"HTTP {error.status}")
    if error.code:
        parts.append(str(error.code))
    if isinstance(error, GenesysRateLimited) and error.retry_after is not None:
        parts.append(f"retry after {error.retry_after:g} s")
    if isinstance(error, GenesysConfigurationError):
        parts.append("configuration")
    return ", ".join(parts)
