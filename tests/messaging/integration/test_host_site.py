"""messaging in a site that is not this one: tests/hostsite (Django's contrib apps, django-csp, django-tasks and
messaging only; members are Django's plain User through messaging's default adapter) boots in a process of its
own on a SQLite file of its own, migrates, renders a page with `{% genesys_messenger %}` for a signed-in user,
and a verification through the data action endpoint pushes her server-verified attributes to the sandbox
(started by the one launcher, sandbox/launcher.py). As messaging/README.md tells a developer to install it.
In authenticated mode the same site adds the optional provider (messaging.oidc) and its signed-in page works."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import defaults

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.timeout(120)


def run_host_site(sandbox_url: str, database: Path, *, authenticated: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_", "SANDBOX_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.hostsite.settings",
        HOSTSITE_DATABASE=str(database),
        GENESYS_SANDBOX="true",
        GENESYS_AUTHENTICATED_MESSAGING="true" if authenticated else "false",
        GENESYS_OIDC_CLIENT_ID=defaults.OIDC_CLIENT_ID,
        GENESYS_OIDC_CLIENT_SECRET=defaults.OIDC_CLIENT_SECRET,
        GENESYS_API_BASE=sandbox_url,
        GENESYS_LOGIN_BASE=sandbox_url,
        GENESYS_APPS_BASE=sandbox_url,
        GENESYS_CLIENT_ID=defaults.CLIENT_ID,
        GENESYS_CLIENT_SECRET=defaults.CLIENT_SECRET,
        GENESYS_DEPLOYMENT_ID=defaults.DEPLOYMENT_ID,
        GENESYS_ENVIRONMENT=defaults.ENVIRONMENT,
        GENESYS_DATA_ACTION_USERNAME=defaults.DATA_ACTION_USERNAME,
        GENESYS_DATA_ACTION_PASSWORD=defaults.DATA_ACTION_PASSWORD,
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.hostsite.scenario"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert result.returncode == 0, f"the host site failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_site_without_accounts_installs_messaging_and_verifies_a_plain_user(sandbox_server, tmp_path):
    sandbox_server.reset()
    sandbox_server.configure(flow_enabled=False)  # the scenario plays the data action itself

    ran = run_host_site(sandbox_server.url, tmp_path / "host.sqlite3")

    assert ran["site_packages_loaded"] == []  # neither accounts nor config nor health was imported
    assert ran["page_status"] == 200
    # The tag's script is a static file under the host's own 'self': it needs no nonce (issue 16).
    assert "script-src 'self'" in ran["csp"] and "'nonce-" not in ran["csp"]
    assert_widget_hosts_allowed(ran["csp"], sandbox_server.url)
    page = ran["attributes"]
    assert page["isAuthenticated"] == "true" and page["memberToken"]
    public_id = ran["public_id"]
    assert public_id and page["memberId"] == public_id  # the adapter's public id, never the database key
    assert page["memberId"] != "1"

    assert ran["verify_status"] == 200
    answer = ran["answer"]
    assert answer["verified"] == "true" and answer["memberId"] == public_id
    conversation = sandbox_server.conversation(ran["conversation_id"])
    pushed = conversation["pushes"][-1]["attributes"]
    assert pushed["verified"] == "true" and pushed["memberId"] == public_id and pushed["memberToken"] == ""


def assert_widget_hosts_allowed(csp: str, apps_base: str) -> None:
    """The host page's own policy lets the widget load and connect: its script and its socket come from the
    sandbox (Messenger's apps host in a real org), so a policy without them would block the chat."""
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert apps_base in directives["script-src"], csp
    assert apps_base in directives["connect-src"], csp
    assert apps_base.replace("http://", "ws://") in directives["connect-src"], csp


def test_a_site_without_accounts_signs_members_in_with_the_optional_provider(sandbox_server, tmp_path):
    ran = run_host_site(sandbox_server.url, tmp_path / "host.sqlite3", authenticated=True)

    assert ran["site_packages_loaded"] == []
    assert ran["page_status"] == 200  # was NoReverseMatch 'messenger_auth_code' without the provider's URLs
    assert_widget_hosts_allowed(ran["csp"], sandbox_server.url)
    assert ran["auth"]["codeUrl"] == "/o/messenger/auth-code"
    assert "memberToken" not in ran["attributes"]  # the provider vouches for the member, not a token in the page
    assert ran["auth_code_status"] == 200
    assert ran["token_status"] == 200
    # sub is minted by the member adapter (messaging's default: a MemberIdentity), the same public id the
    # data action reads back through member_for_public_id; never the database key.
    assert ran["claims"]["sub"] == ran["public_id"] and ran["public_id"] != "1"
