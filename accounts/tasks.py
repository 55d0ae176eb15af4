"""Mail the site sends outside the request (django-tasks, queue "default", run by `manage.py deliver_pushes`,
which works that queue too).

Why a task: the answer to a password-reset request must not depend on whether the address has an account. Done in
the request, a known address costs a user lookup, a token, two templates and an SMTP conversation (55.8 ms vs 8.0
ms in issue 21); enqueued, every request costs the same insert and the lookup happens in the worker.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django_tasks import task


@task()
def send_password_reset(email: str, domain: str, use_https: bool) -> int:
    """Mail a reset link to every active account with `email` (none when nobody has it), naming the site as
    `domain` (the host the member used). Returns how many accounts were mailed."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    users = list(form.get_users(form.cleaned_data["email"]))
    form.save(
        domain_override=domain,
        use_https=use_https,
        extra_email_context={"timeout_minutes": max(settings.PASSWORD_RESET_TIMEOUT // 60, 1)},
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.txt",
        html_email_template_name="registration/password_reset_email.html",
    )
    return len(users)


@task()
def send_notice(to: str, template: str, context: dict[str, str]) -> None:
    """Mail `to` the notice `template` (accounts/email/<template>.txt, its first line the subject) with
    `context` (plain strings: a task's arguments are JSON)."""
    subject, _, body = render_to_string(f"accounts/email/{template}.txt", context).strip().partition("\n")
    send_mail(subject.strip(), body.strip() + "\n", None, [to])
