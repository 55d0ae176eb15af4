"""config/genesys_env.py: every setting of messaging/app_settings.py (and the site's opt-in) can be set from the
environment, typed."""

import os
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.genesys_env import read_genesys_env, variables
from messaging import app_settings as app_settings_module
from messaging.app_settings import AppSettings

SAMPLES = {
    str: ("eu-west-1", "eu-west-1"),
    bool: ("true", True),
    int: ("7", 7),
    float: ("2.5", 2.5),
    dict: ('{"displayName": "get_full_name"}', {"displayName": "get_full_name"}),
    list: ('[["user", "password"]]', [["user", "password"]]),
}


def test_every_setting_the_app_reads_is_an_environment_variable():
    # Read from the source as a newcomer adding a property would write it: one that reads a setting only on a
    # branch the defaults never take would otherwise be missed.
    source = Path(app_settings_module.__file__).read_text()
    read = {f"GENESYS_{name}" for name in re.findall(r'_get\(\s*"([A-Z_]+)"', source)}
    assert read and read == set(AppSettings.declared())
    assert read <= set(variables())


@pytest.mark.parametrize("name", sorted(variables()))
def test_each_variable_is_read_with_the_type_of_its_default(name, monkeypatch):
    raw, expected = SAMPLES[variables()[name]]
    monkeypatch.setenv(name, raw)
    value = read_genesys_env(os.environ)[name]
    assert value == expected and type(value) is type(expected)


def test_unset_or_empty_variables_are_left_to_the_defaults(monkeypatch):
    for name in variables():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GENESYS_CLIENT_ID", "")
    assert read_genesys_env(os.environ) == {}


def test_an_unknown_region_stops_start_up(monkeypatch):
    monkeypatch.setenv("GENESYS_REGION", "mars-north-1")
    with pytest.raises(ImproperlyConfigured, match="mars-north-1"):
        read_genesys_env(os.environ)
