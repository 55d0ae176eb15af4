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

    @classmethod
    def wrong_types(cls, payload: dict[str, Any]) -> dict[str, list[str]]:
        """The fields whose value is not a JSON string, as error_fields() names them. Checked before the form sees
        the payload: Django's fields take str() of what they get, and a deeply nested list's repr raises
        RecursionError."""
        return {
            name: ["Must be a string."]
            for name in cls.base_fields
            if name in payload and not isinstance(payload[name], str)
        }

    def clean_memberToken(self) -> str:  # noqa: N802
        # required=False lets an empty token through; a missing key is still an error in the flow's set-up
        # (unless the flow passes a sub instead).
        if "memberToken" not in self.data and self.data.get("sub"):
            return ""
        if "memberToken" not in self.data:
            raise forms.ValidationError("This field is required.")
        return self.cleaned_data["memberToken"]

    def error_fields(self) -> dict[str, list[str]]:
        return {name: [str(message) for message in messages] for name, messages in self.errors.items()}
