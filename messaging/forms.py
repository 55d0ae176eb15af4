"""Validation of the data action's request body."""

from typing import Any

from django import forms

MAX_TOKEN_LENGTH = 512


class VerifyRequestForm(forms.Form):
    """`{"conversationId": "<uuid>", "memberToken": "<token>"}`, both keys required, both JSON strings.

    An empty memberToken is valid: an anonymous visitor's conversation (Get Participant Data finds no token) is
    answered `verified` "false", like a bad token.
    """

    conversationId = forms.UUIDField(error_messages={"invalid": "Must be a UUID."})  # noqa: N815  (wire name)
    memberToken = forms.CharField(required=False, strip=True, max_length=MAX_TOKEN_LENGTH)  # noqa: N815

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(data=payload)

    def clean_memberToken(self) -> str:  # noqa: N802
        # required=False lets an empty token through; a missing key is still an error in the flow's set-up.
        if "memberToken" not in self.data:
            raise forms.ValidationError("This field is required.")
        if not isinstance(self.data["memberToken"], str):
            raise forms.ValidationError("Must be a string.")
        return self.cleaned_data["memberToken"]

    def error_fields(self) -> dict[str, list[str]]:
        return {name: [str(message) for message in messages] for name, messages in self.errors.items()}
