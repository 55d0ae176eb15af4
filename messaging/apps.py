from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Genesys messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (receivers: level changes re-push open conversations)

        # System checks run with manage.py (check, runserver, migrate) but not under gunicorn: a mapping that
        # cannot fit the budget must stop every start-up, with the same words.
        problems = checks.attribute_configuration_problems()
        if problems:
            raise ImproperlyConfigured("Messenger attributes misconfigured: " + " ".join(problems))
