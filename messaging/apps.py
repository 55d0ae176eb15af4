from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Genesys messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here because they need the app registry: system checks, signal receivers, and the task queue
        # that becomes the outbox's scheduler (so delivery never imports tasks).
        from . import checks, database_checks, receivers, tasks  # noqa: F401
        from .outbox.schedule import set_scheduler

        set_scheduler(tasks.TaskScheduler())
        # System checks run with manage.py (check, runserver, migrate) but not under gunicorn: a mapping that
        # cannot fit the budget must stop every start-up, with the same words.
        problems = checks.attribute_configuration_problems()
        if problems:
            raise ImproperlyConfigured("Messenger attributes misconfigured: " + " ".join(problems))
