"""Forms of the member's own pages."""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables


class MemberDetailsForm(forms.Form):
    """What a member may change about themselves: their name and email. The level is not a field, so a posted
    `level` is ignored. A new email needs the current password: a stolen session alone must not move the
    account's mail (and so its password resets) to another inbox."""

    first_name = forms.CharField(max_length=150, required=False, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")
    email = forms.EmailField(max_length=254, label="Email")
    current_password = forms.CharField(
        required=False,
        strip=False,
        label="Current password",
        help_text="Needed only to change your email address.",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        kwargs.setdefault("initial", {"first_name": user.first_name, "last_name": user.last_name, "email": user.email})
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email = get_user_model().objects.normalize_email(self.cleaned_data["email"].strip())
        # Password reset mails every account with the address: one address, one account.
        taken = get_user_model()._default_manager.filter(email__iexact=email).exclude(pk=self.user.pk).exists()
        if taken:
            raise forms.ValidationError("Another account uses this email address.")
        return email

    def email_changed(self) -> bool:
        """A different mailbox: a change of case only keeps the same one (and needs no password)."""
        new = self.cleaned_data.get("email")
        return new is not None and new.casefold() != (self.user.email or "").casefold()

    def clean(self) -> dict[str, Any]:
        super().clean()
        if self.email_changed() and not self.user.check_password(self.cleaned_data.get("current_password", "")):
            self.add_error("current_password", "Enter your current password to change your email address.")
        return self.cleaned_data

    def details(self) -> dict[str, str]:
        """The cleaned name and email (the password is only a check)."""
        return {name: self.cleaned_data[name] for name in ("first_name", "last_name", "email")}


class _RulesUnderTheNewPassword(SetPasswordForm):
    """Django reports a new password's broken rules ("too common") on the confirmation box; ours report them on
    the new password's own box, under the rules they break. Both boxes must still match.

    Written with password_validation and add_error, which every supported Django has (4.2 checks the boxes in
    clean_new_password2, 5.1 and later in clean), so each error is reported once, in the same place on both."""

    def clean_new_password2(self) -> str:
        # Only the field's own cleaning; the boxes are compared in clean(), with the rules.
        return self.cleaned_data["new_password2"]

    @sensitive_variables("password1", "password2")
    def clean(self) -> dict[str, Any] | None:
        password1 = self.cleaned_data.get("new_password1")
        password2 = self.cleaned_data.get("new_password2")
        if password1 and password2 and password1 != password2:
            mismatch = ValidationError(self.error_messages["password_mismatch"], code="password_mismatch")
            self.add_error("new_password2", mismatch)
        if password1:
            try:
                password_validation.validate_password(password1, self.user)
            except ValidationError as broken_rules:
                self.add_error("new_password1", broken_rules)
        return forms.Form.clean(self)


class NewPasswordForm(_RulesUnderTheNewPassword):
    """The new password behind a reset link."""


class MemberPasswordChangeForm(_RulesUnderTheNewPassword, PasswordChangeForm):
    """A signed-in member's password change."""
