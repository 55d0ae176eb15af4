"""`genesys_check` and `check --deploy` read the Messenger deployments' config.json from the sandbox and say where
they disagree with the site's settings: one test per disagreement, each made the way an operator would make it
(a setting on one side, the deployment's setting on the other)."""

from io import StringIO

import pytest
from django.core.management import call_command

from messaging.checks import check_messenger_deployments
from sandbox import defaults


def warnings(settings) -> dict[str, str]:
    return {message.id: message.msg for message in check_messenger_deployments()}


@pytest.fixture
def site(sandbox, settings):
    settings.GENESYS_AUTHENTICATED_MESSAGING = True
    settings.GENESYS_GUEST_TO_MEMBER = "clear"
    settings.ALLOWED_HOSTS = ["members.example.com"]
    return settings


def test_genesys_check_reports_each_deployment_setting(site, sandbox):
    sandbox.configure(allow_session_upgrade=False, conversation_clear_enabled=False, allowed_domains=["a.example"])
    site.GENESYS_GUEST_DEPLOYMENT_ID = defaults.GUEST_DEPLOYMENT_ID
    out = StringIO()
    call_command("genesys_check", "--no-store", stdout=out)
    text = out.getvalue()
    assert f"members:        {defaults.DEPLOYMENT_ID}" in text
    assert f"visitors:       {defaults.GUEST_DEPLOYMENT_ID}" in text
    assert "  auth:         on" in text and "  auth:         off" in text
    assert "  upgrade:      not allowed" in text
    assert "  clearing:     off (clears are refused)" in text
    assert "  domains:      a.example" in text
    assert "mismatch:" in text and "members.example.com" in text


def test_agreeing_settings_warn_of_nothing(site, sandbox):
    assert warnings(site) == {}


def test_authenticated_messaging_on_a_deployment_without_authentication(site, sandbox):
    sandbox.configure(auth_enabled=False)
    assert "authentication off" in warnings(site)["messaging.W002"]


def test_member_tokens_on_a_deployment_that_refuses_anonymous_sessions(site, sandbox):
    site.GENESYS_AUTHENTICATED_MESSAGING = False
    sandbox.configure(allow_session_upgrade=False)
    assert "refuses every message" in warnings(site)["messaging.W003"]


def test_upgrade_wanted_but_not_allowed(site, sandbox):
    site.GENESYS_GUEST_TO_MEMBER = "upgrade"
    sandbox.configure(allow_session_upgrade=False)
    assert "new conversation" in warnings(site)["messaging.W004"]


def test_no_widget_for_visitors_without_upgrade_or_guest_deployment(site, sandbox):
    sandbox.configure(allow_session_upgrade=False)
    assert "visitors get no widget" in warnings(site)["messaging.W005"]
    site.GENESYS_GUEST_DEPLOYMENT_ID = defaults.GUEST_DEPLOYMENT_ID
    assert "messaging.W005" not in warnings(site)


def test_a_guest_deployment_with_authentication(site, sandbox):
    # The sandbox's guest deployment never has authentication: name the member one as the visitors' instead.
    site.GENESYS_GUEST_DEPLOYMENT_ID = defaults.DEPLOYMENT_ID
    assert "visitors cannot send" in warnings(site)["messaging.W006"]


def test_clearing_off(site, sandbox):
    sandbox.configure(conversation_clear_enabled=False)
    assert "refuses to clear" in warnings(site)["messaging.W007"]


def test_the_sites_host_outside_the_allowed_domains(site, sandbox):
    sandbox.configure(allowed_domains=["other.example.com"])
    assert "members.example.com" in warnings(site)["messaging.W008"]
    sandbox.configure(allowed_domains=["members.example.com"])
    assert "messaging.W008" not in warnings(site)


def test_an_unreadable_deployment_is_reported_not_a_crash(site, sandbox):
    site.GENESYS_DEPLOYMENT_ID = "00000000-0000-4000-8000-00000000dead"
    assert "HTTP 404" in warnings(site)["messaging.I001"]
