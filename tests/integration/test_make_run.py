"""`make run` starts its processes with honcho, which gives each process a PORT of its own (web $PORT, sandbox
$PORT+100, ...). The sandbox must still call the site's data action and the site's OpenID Connect provider, not its
own port."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def exported(variable: str, *make_args: str) -> str:
    result = subprocess.run(
        ["make", "-s", "--eval", f"show-env: ; @echo $${variable}", "show-env", *make_args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_sandbox_is_told_the_sites_data_action_url():
    assert exported("SANDBOX_DATA_ACTION_URL") == "http://127.0.0.1:8000/messaging/genesys/verify"
    assert exported("SANDBOX_DATA_ACTION_URL", "PORT=18000") == "http://127.0.0.1:18000/messaging/genesys/verify"
    assert exported("SANDBOX_PORT", "SANDBOX_PORT=18100") == "18100"


def test_the_sandbox_is_told_where_the_sites_openid_provider_is():
    discovery = "/o/.well-known/openid-configuration"
    assert exported("SANDBOX_OIDC_DISCOVERY_URL") == f"http://127.0.0.1:8000{discovery}"
    assert exported("SANDBOX_OIDC_DISCOVERY_URL", "PORT=18000") == f"http://127.0.0.1:18000{discovery}"
