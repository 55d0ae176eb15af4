"""The page's getAuthCode request."""

from django import forms
from django.core.validators import RegexValidator

# RFC 7636 4.2: an S256 challenge is BASE64URL(SHA-256(verifier)) without padding, 43 characters; 128 is the
# provider's column (and the longest verifier), so a longer or non-base64url one never reaches the database.
CODE_CHALLENGE_PATTERN = r"\A[A-Za-z0-9_-]{43,128}\Z"
NONCE_MAX_LENGTH = 255  # django-oauth-toolkit's Grant.nonce column
REDIRECT_URI_MAX_LENGTH = 2048


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
