"""Regions: every Genesys Cloud region's hosts, overrides that win, and an unknown region refused at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from messaging.app_settings import app_settings
from messaging.regions import UnknownRegion, get_region, region_names

ROOT = Path(__file__).resolve().parents[3]

# The table of shared/GENESYS.md: domains from PureCloudPlatformClientV2 269.0.0 purecloud_region_hosts.py,
# Messenger environments from genesys-cloud-service-discovery-web's `_environments` (eusc-de-east-1 unverified).
REGIONS = {
    # AWS region: (domain, Messenger environment)
    "us-east-1": ("mypurecloud.com", "prod"),
    "us-east-2": ("use2.us-gov-pure.cloud", "fedramp-use2-core"),
    "us-west-2": ("usw2.pure.cloud", "prod-usw2"),
    "ca-central-1": ("cac1.pure.cloud", "prod-cac1"),
    "sa-east-1": ("sae1.pure.cloud", "prod-sae1"),
    "mx-central-1": ("mxc1.pure.cloud", "prod-mxc1"),
    "eu-west-1": ("mypurecloud.ie", "prod-euw1"),
    "eu-west-2": ("euw2.pure.cloud", "prod-euw2"),
    "eu-central-1": ("mypurecloud.de", "prod-euc1"),
    "eu-central-2": ("euc2.pure.cloud", "prod-euc2"),
    "me-central-1": ("mec1.pure.cloud", "prod-mec1"),
    "ap-south-1": ("aps1.pure.cloud", "prod-aps1"),
    "ap-northeast-1": ("mypurecloud.jp", "prod-apne1"),
    "ap-northeast-2": ("apne2.pure.cloud", "prod-apne2"),
    "ap-northeast-3": ("apne3.pure.cloud", "prod-apne3"),
    "ap-southeast-1": ("apse1.pure.cloud", "prod-apse1"),
    "ap-southeast-2": ("mypurecloud.com.au", "prod-apse2"),
    "eusc-de-east-1": ("edee1.eusc-pure.cloud", "eusc-edee1-core"),
}
EXPECTED_DOMAINS = {name: domain for name, (domain, _) in REGIONS.items()}


def test_every_documented_region_is_known_and_nothing_else():
    assert set(region_names()) == set(EXPECTED_DOMAINS)


@pytest.mark.parametrize("name,domain,environment", sorted((name, *row) for name, row in REGIONS.items()))
def test_region_hosts_and_environment(name, domain, environment):
    region = get_region(name)
    assert region.name == name
    assert region.domain == domain
    assert region.environment == environment
    assert region.api_base == f"https://api.{domain}"
    assert region.login_base == f"https://login.{domain}"
    assert region.apps_base == f"https://apps.{domain}"
    assert region.webmessaging_host == f"webmessaging.{domain}"


def test_region_name_is_normalised():
    assert get_region("  EU-West-1 ").name == "eu-west-1"


@pytest.mark.parametrize("name", ["mars-1", "", "mypurecloud.com", "us-east"])
def test_unknown_region_lists_the_valid_ones(name):
    with pytest.raises(UnknownRegion) as caught:
        get_region(name)
    message = str(caught.value)
    assert "Valid regions" in message
    for valid in EXPECTED_DOMAINS:
        assert valid in message


def test_app_settings_follow_the_region_without_overrides(settings):
    settings.GENESYS_REGION = "eu-central-1"
    settings.GENESYS_API_BASE = ""
    settings.GENESYS_LOGIN_BASE = ""
    settings.GENESYS_APPS_BASE = ""
    settings.GENESYS_ENVIRONMENT = ""
    assert app_settings.API_BASE == "https://api.mypurecloud.de"
    assert app_settings.LOGIN_BASE == "https://login.mypurecloud.de"
    assert app_settings.APPS_BASE == "https://apps.mypurecloud.de"
    assert app_settings.ENVIRONMENT == "prod-euc1"
    assert app_settings.MESSENGER_SCRIPT_URL == "https://apps.mypurecloud.de/genesys-bootstrap/genesys.min.js"


def test_overrides_win_over_the_region(settings):
    settings.GENESYS_REGION = "ap-southeast-2"
    settings.GENESYS_API_BASE = "http://127.0.0.1:9999/"
    settings.GENESYS_LOGIN_BASE = "http://127.0.0.1:9998"
    settings.GENESYS_APPS_BASE = "http://127.0.0.1:9997"
    settings.GENESYS_ENVIRONMENT = "prod-custom"
    assert app_settings.API_BASE == "http://127.0.0.1:9999"  # trailing slash dropped
    assert app_settings.LOGIN_BASE == "http://127.0.0.1:9998"
    assert app_settings.APPS_BASE == "http://127.0.0.1:9997"
    assert app_settings.ENVIRONMENT == "prod-custom"


def _settings_in_subprocess(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_", "SANDBOX_"))}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


_PRINT_HOSTS = (
    "import django; django.setup(); from messaging.app_settings import app_settings as s; "
    "print(s.API_BASE, s.LOGIN_BASE, s.APPS_BASE)"
)


def test_settings_resolve_region_hosts_from_the_environment():
    result = _settings_in_subprocess(
        {"GENESYS_REGION": "eu-west-2", "GENESYS_SANDBOX": "false", "GENESYS_CLIENT_ID": "id"}, _PRINT_HOSTS
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "https://api.euw2.pure.cloud",
        "https://login.euw2.pure.cloud",
        "https://apps.euw2.pure.cloud",
    ]


def test_environment_overrides_win_at_start_up():
    result = _settings_in_subprocess(
        {
            "GENESYS_REGION": "eu-west-2",
            "GENESYS_SANDBOX": "false",
            "GENESYS_CLIENT_ID": "id",
            "GENESYS_API_BASE": "http://127.0.0.1:1/api-host",
            "GENESYS_LOGIN_BASE": "http://127.0.0.1:1/login-host",
            "GENESYS_APPS_BASE": "http://127.0.0.1:1/apps-host",
        },
        _PRINT_HOSTS,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "http://127.0.0.1:1/api-host",
        "http://127.0.0.1:1/login-host",
        "http://127.0.0.1:1/apps-host",
    ]


def test_unknown_region_fails_manage_py_check_naming_valid_regions():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_"))}
    clean["GENESYS_REGION"] = "mars-1"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "mars-1" in result.stderr
    assert "Valid regions" in result.stderr
    assert "us-east-1" in result.stderr and "eu-central-1" in result.stderr
