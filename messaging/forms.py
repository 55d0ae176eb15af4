"""Validation of the data action's request body."""

from typing import Any

from django import forms

MAX_TOKEN_LENGTH = 512
MAX_SUB_LENGTH = 255


class VerifyRequestForm(forms.Form):
    """`{"conversationId": "<uuid>", "memberToken": "<token>"}` (member-token mode) or `{"conversationId",
    "sub": "<subject>"}` (authenticated messaging: the flow passes the authenticated participant's `sub`); the
    values are JSON strings. A non-empty `sub` is what is checked; memberToken may then be left out.

    An empty memberToken is valid: an anonymous visitor's conversation (Get Participant Data finds no token) is
    answered `verified` "false", like a bad token.
    """

    conversationId = forms.UUIDField(error_messages={"invalid": "Must be a UUID."})  # noqa: N815  (wire name)
    memberToken = forms.CharField(required=False, strip=True, max_length=MAX_TOKEN_LENGTH)  # noqa: N815
    sub = forms.CharField(required=False, strip=True, max_length=MAX_SUB_LENGTH)

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(data=payload)

    def clean_memberToken(self) -> str:  # noqa: N802
        # required=False lets an empty token through; a missing key is still an error in the flow's set-up
        # (unless the flow passes a sub instead).
        if "memberToken" not in self.data and self.data.get("sub"):
            return ""
        if "memberToken" not in self.data:
            raise forms.ValidationError("This field is required.")
        if not isinstance(self.data["memberToken"], str):
            raise forms.ValidationError("Must be a string.")
        return self.cleaned_data["memberToken"]

    def clean_sub(self) -> str:
        if "sub" in self.data and not isinstance(self.data["sub"], str):
            raise forms.ValidationError("Must be a string.")
        return self.cleaned_data["sub"]

    def error_fields(self) -> dict[str, list[str]]:
        return {name: [str(message) for message in messages] for name, messages in self.errors.items()}
