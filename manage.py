#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # Settings that refuse to load (config/production.py's refusals) stop every command here, with their own
    # message. Django would defer the error and run the command unconfigured: then whichever system check runs
    # first (their order is a set's) either re-raises it or hides it under AppRegistryNotReady.
    settings.INSTALLED_APPS  # noqa: B018 (the access loads the settings)

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
