"""messaging.environment: a host's settings read messaging's GENESYS_* variables, typed as their defaults."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from messaging.environment import defaults, genesys_settings


def test_only_set_variables_are_read_each_as_the_type_of_its_default():
    environ = {
        "GENESYS_DEPLOYMENT_ID": "a-deployment",
        "GENESYS_SANDBOX": "true",
        "GENESYS_AUTHENTICATED_MESSAGING": "off",
        "GENESYS_TOKEN_POOL_SIZE": "3",
        "GENESYS_CONNECT_TIMEOUT": "2.5",
        "GENESYS_ATTRIBUTE_MAPPING": '{"email": "email"}',
        "GENESYS_OIDC_REDIRECT_URIS": '["https://www.example.com/"]',
        "GENESYS_CLIENT_ID": "",  # empty: not set
        "GENESYS_NOT_A_SETTING": "x",
        "PATH": "/usr/bin",
    }

    assert genesys_settings(environ) == {
        "GENESYS_DEPLOYMENT_ID": "a-deployment",
        "GENESYS_SANDBOX": True,
        "GENESYS_AUTHENTICATED_MESSAGING": False,
        "GENESYS_TOKEN_POOL_SIZE": 3,
        "GENESYS_CONNECT_TIMEOUT": 2.5,
        "GENESYS_ATTRIBUTE_MAPPING": {"email": "email"},
        "GENESYS_OIDC_REDIRECT_URIS": ["https://www.example.com/"],
    }


def test_the_provider_client_and_every_app_setting_are_covered():
    names = set(defaults())
    assert {"GENESYS_OIDC_CLIENT_ID", "GENESYS_OIDC_CLIENT_SECRET", "GENESYS_DATA_ACTION_PASSWORD"} <= names
    assert not [name for name in names if not name.startswith("GENESYS_")]


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("GENESYS_SANDBOX", "maybe"),
        ("GENESYS_TOKEN_POOL_SIZE", "three"),
        ("GENESYS_ATTRIBUTE_MAPPING", "[1]"),
        ("GENESYS_OIDC_REDIRECT_URIS", "not json"),
    ],
)
def test_a_value_of_the_wrong_type_stops_start_up_naming_the_variable(name, raw):
    with pytest.raises(ImproperlyConfigured, match=name):
        genesys_settings({name: raw})
