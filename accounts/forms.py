"""Forms of the member's own pages."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.validators import RegexValidator

# RFC 7636 4.2: an S256 challenge is BASE64URL(SHA-256(verifier)) without padding, 43 characters; 128 is the
# provider's column (and the longest verifier), so a longer or non-base64url one never reaches the database.
CODE_CHALLENGE_PATTERN = r"\A[A-Za-z0-9_-]{43,128}\Z"
NONCE_MAX_LENGTH = 255  # django-oauth-toolkit's Grant.nonce column
REDIRECT_URI_MAX_LENGTH = 2048


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

    def __init__(self, *args, user: AbstractBaseUser, **kwargs) -> None:
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

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.email_changed() and not self.user.check_password(cleaned.get("current_password", "")):
            self.add_error("current_password", "Enter your current password to change your email address.")
        return cleaned

    def details(self) -> dict[str, str]:
        """The cleaned name and email (the password is only a check)."""
        return {name: self.cleaned_data[name] for name in ("first_name", "last_name", "email")}


class AuthCodeRequestForm(forms.Form):
    """The page's getAuthCode request, checked before anything reaches the provider's tables: lengths within
    their columns, a base64url challenge, no NUL or other control character (Django's CharField refuses NUL;
    the nonce and URI patterns refuse the rest). Field names are the JSON keys the page sends."""

    codeChallenge = forms.CharField(
        strip=False,
        max_length=128,
        validators=[RegexValidator(CODE_CHALLENGE_PATTERN, "Not an S256 code challenge (43 base64url characters).")],
    )
    nonce = forms.CharField(
        strip=False,
        max_length=NONCE_MAX_LENGTH,
        validators=[RegexValidator(r"\A[\x21-\x7e]+\Z", "Printable ASCII without spaces only.")],
    )
    redirectUri = forms.CharField(
        required=False,
        strip=False,
        max_length=REDIRECT_URI_MAX_LENGTH,
        validators=[RegexValidator(r"\A[\x21-\x7e]*\Z", "Printable ASCII without spaces only.")],
    )

    def first_error(self) -> str:
        """One line naming the first refused field (safe to show: it repeats nothing the client sent)."""
        field, errors = next(iter(self.errors.items()))
        return f"{field}: {errors[0]}"


class _RulesUnderTheNewPassword:
    """Django reports a new password's broken rules ("too common") on the confirmation box; ours report them on
    the new password's own box, under the rules they break. Both boxes must still match."""

    def clean(self) -> dict:
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        return forms.Form.clean(self)


class NewPasswordForm(_RulesUnderTheNewPassword, SetPasswordForm):
    """The new password behind a reset link."""


class MemberPasswordChangeForm(_RulesUnderTheNewPassword, PasswordChangeForm):
    """A signed-in member's password change."""
