"""The Guest API over HTTP (the sandbox's stand-in for Genesys' web messaging WebSocket), and the static Messenger."""

import threading
import time
import uuid

import pytest
import requests

from sandbox import defaults


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


class Guest:
    def __init__(self, sandbox, http, deployment_id=defaults.DEPLOYMENT_ID):
        self.sandbox, self.http = sandbox, http
        self.token = str(uuid.uuid4())
        self.deployment_id = deployment_id

    def post(self, path, **body):
        return self.http.post(f"{self.sandbox.url}/webmessaging/v1/{path}", json=body, timeout=10)

    def configure(self):
        return self.post("sessions", action="configureSession", deploymentId=self.deployment_id, token=self.token)

    def send(self, text, attributes=None, **message):
        message = {"type": "Text", "text": text, **message}
        if attributes is not None:
            message["channel"] = {"metadata": {"customAttributes": attributes}}
        return self.post("messages", action="onMessage", token=self.token, message=message)

    def events(self, after=0, wait=0):
        return self.http.get(
            f"{self.sandbox.url}/webmessaging/v1/events",
            params={"token": self.token, "after": after, "wait": wait},
            timeout=30,
        )

    def history(self):
        return self.http.get(f"{self.sandbox.url}/webmessaging/v1/history", params={"token": self.token}, timeout=10)


@pytest.fixture
def guest(sandbox, http):
    guest = Guest(sandbox, http)
    assert guest.configure().status_code == 200
    return guest


def test_configure_session_answers_session_response(sandbox, http):
    guest = Guest(sandbox, http, deployment_id="any-deployment")
    frame = guest.configure().json()
    assert frame["type"] == "response" and frame["class"] == "SessionResponse" and frame["code"] == 200
    body = frame["body"]
    assert body["connected"] is True and body["newSession"] is True and body["readOnly"] is False
    assert body["maxCustomDataBytes"] == 2048
    assert guest.configure().json()["body"]["newSession"] is False


def test_configure_session_needs_deployment_and_token(sandbox, http):
    answer = http.post(
        f"{sandbox.url}/webmessaging/v1/sessions", json={"action": "configureSession", "token": "x" * 10}
    )
    # Frames answer HTTP 200, as on the WebSocket; the frame's code is the result.
    assert answer.status_code == 200
    assert answer.json() == {"type": "response", "class": "string", "code": 400, "body": answer.json()["body"]}


def test_first_message_creates_the_conversation_with_widget_attributes(sandbox, guest):
    frame = guest.send("Hello", {"memberToken": "abc", "isAuthenticated": "true"}).json()
    assert frame["type"] == "message" and frame["class"] == "StructuredMessage" and frame["code"] == 200
    assert frame["body"]["direction"] == "Inbound" and frame["body"]["text"] == "Hello"
    assert frame["body"]["channel"]["metadata"]["customAttributes"] == {"memberToken": "abc", "isAuthenticated": "true"}
    [conversation] = sandbox.conversations()
    assert conversation["deploymentId"] == defaults.DEPLOYMENT_ID
    assert conversation["attributes"] == {
        "memberToken": {"value": "abc", "origin": "widget"},
        "isAuthenticated": {"value": "true", "origin": "widget"},
    }
    # The second message continues the conversation and merges its attributes.
    guest.send("Again", {"page": "/home"})
    [conversation] = sandbox.conversations()
    assert [m["text"] for m in conversation["messages"]] == ["Hello", "Again"]
    assert conversation["attributes"]["page"] == {"value": "/home", "origin": "widget"}
    assert sandbox.stats()["guest_messages"] == 2


def test_server_pushed_keys_win_over_later_widget_values(sandbox, guest, http):
    guest.send("Hello", {"verified": "false", "membershipLevel": "Bronze"})
    [conversation] = sandbox.conversations()
    token = sandbox.token()
    url = (
        f"{sandbox.url}/api/v2/conversations/messages/{conversation['id']}"
        f"/participants/{conversation['customerParticipantId']}/attributes"
    )
    http.patch(url, json={"attributes": {"verified": "true"}}, headers={"Authorization": f"Bearer {token}"})
    guest.send("Try to overwrite", {"verified": "forged", "membershipLevel": "Platinum"})
    attributes = sandbox.conversation(conversation["id"])["attributes"]
    assert attributes["verified"] == {"value": "true", "origin": "server"}
    assert attributes["membershipLevel"] == {"value": "Platinum", "origin": "widget"}


def test_top_level_channel_metadata_is_ignored(sandbox, guest, http):
    body = {
        "action": "onMessage",
        "token": guest.token,
        "message": {"type": "Text", "text": "Hi"},
        "channel": {"metadata": {"customAttributes": {"old": "place"}}},
    }
    assert http.post(f"{sandbox.url}/webmessaging/v1/messages", json=body).json()["code"] == 200
    assert sandbox.conversations()[0]["attributes"] == {}


def test_attributes_over_max_custom_data_bytes_answer_4013(sandbox, guest):
    # Keys plus values in UTF-8: "k" (1) + 2047 bytes fit exactly; one more byte does not. "é" is two bytes.
    assert guest.send("fits", {"k": "x" * 2047}).json()["code"] == 200
    sandbox.reset()
    guest.configure()
    answer = guest.send("too big", {"k": "é" * 1024})
    frame = answer.json()
    assert answer.status_code == 200
    assert frame == {
        "type": "response",
        "class": "string",
        "code": 4013,
        "body": "Custom Attributes in channel metadata is larger than 2048 bytes",
    }
    assert sandbox.conversations() == []
    assert sandbox.stats()["guest_messages_rejected"] == 1


def test_max_custom_data_bytes_is_configurable(sandbox, guest):
    sandbox.configure(max_custom_data_bytes=10)
    assert guest.configure().json()["body"]["maxCustomDataBytes"] == 10
    assert guest.send("x", {"abcde": "12345"}).json()["code"] == 200
    assert guest.send("y", {"abcde": "123456"}).json()["code"] == 4013


@pytest.mark.parametrize("attributes", [{"n": 1}, {"b": True}, ["x"], "x"], ids=["int", "bool", "list", "str"])
def test_attributes_must_be_strings(sandbox, guest, attributes):
    assert guest.send("Hi", attributes).json()["code"] == 400
    assert sandbox.conversations() == []


def test_message_validation(sandbox, guest, http):
    assert guest.send("   ").json()["code"] == 400
    assert (
        guest.post("messages", action="onMessage", token=guest.token, message={"type": "Image"}).json()["code"] == 400
    )
    assert guest.post("messages", action="wrong", token=guest.token, message={}).json()["code"] == 400
    unknown = guest.post(
        "messages", action="onMessage", token="never-configured", message={"type": "Text", "text": "x"}
    )
    assert unknown.json()["code"] == 404


def test_presence_join_starts_a_conversation_without_text(sandbox, guest):
    join = {"type": "Event", "events": [{"eventType": "Presence", "presence": {"type": "Join"}}]}
    join["channel"] = {"metadata": {"customAttributes": {"a": "1"}}}
    frame = guest.post("messages", action="onMessage", token=guest.token, message=join).json()
    assert frame["code"] == 200
    [conversation] = sandbox.conversations()
    assert conversation["messages"] == [] and conversation["attributes"] == {"a": {"value": "1", "origin": "widget"}}


def test_agent_reply_reaches_the_guest_by_long_poll(sandbox, guest, http):
    guest.send("Hello")
    [conversation] = sandbox.conversations()
    first = guest.events(after=0).json()
    assert [e["body"]["direction"] for e in first["body"]["events"]] == ["Inbound"]
    last = first["body"]["last"]

    def reply_soon():
        time.sleep(0.3)
        http.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/reply", json={"text": "How can I help?"})

    threading.Thread(target=reply_soon).start()
    frame = guest.events(after=last, wait=10).json()
    [event] = frame["body"]["events"]
    assert event["class"] == "StructuredMessage"
    assert event["body"]["direction"] == "Outbound" and event["body"]["text"] == "How can I help?"
    seen = sandbox.conversation(conversation["id"])
    assert [p["purpose"] for p in seen["participants"]] == ["customer", "acd", "agent"]
    assert seen["participants"][1]["state"] == "disconnected"


def test_long_poll_answers_empty_after_its_wait(sandbox, guest):
    frame = guest.events(after=0, wait=0.2).json()
    assert frame["code"] == 200 and frame["body"] == {"events": [], "last": 0}


def test_history_and_read_only_after_the_agent_ends(sandbox, guest, http):
    guest.send("one")
    [conversation] = sandbox.conversations()
    http.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/reply", json={"text": "two"})
    history = guest.history().json()
    assert history["class"] == "MessageHistory"
    assert [m["text"] for m in history["body"]["entities"]] == ["two", "one"]  # newest first
    http.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/disconnect")
    events = guest.events(after=0).json()["body"]["events"]
    assert events[-1]["body"]["events"] == [{"eventType": "Presence", "presence": {"type": "Disconnect"}}]
    assert guest.configure().json()["body"]["readOnly"] is True
    # The next message starts a new conversation.
    guest.send("three")
    ids = [c["id"] for c in sandbox.conversations()]
    assert len(ids) == 2 and sandbox.conversation(ids[0])["endedBy"] == "agent"


def test_clear_conversation_ends_it_and_forgets_the_session(sandbox, guest):
    guest.send("secret stuff", {"memberToken": "abc"})
    frame = guest.post("clear", action="clearConversation", token=guest.token).json()
    assert frame["code"] == 200
    [conversation] = sandbox.conversations()
    assert conversation["state"] == "disconnected" and conversation["cleared"] is True
    customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
    assert customer["disconnectType"] == "client"
    assert guest.history().json()["code"] == 404
    assert guest.configure().json()["body"]["newSession"] is True


def test_guest_routes_allow_any_origin(sandbox, http):
    preflight = http.options(
        f"{sandbox.url}/webmessaging/v1/messages",
        headers={"Origin": "http://127.0.0.1:1", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]


def test_messenger_script_and_stylesheet_are_served(sandbox, http):
    script = http.get(f"{sandbox.url}/genesys-bootstrap/genesys.min.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert "_genesysJs" in script.text and "eval(" not in script.text
    css = http.get(f"{sandbox.url}/genesys-bootstrap/messenger.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert http.get(f"{sandbox.url}/genesys-bootstrap/other.js").status_code == 404
    assert sandbox.stats()["requests"]["GET /genesys-bootstrap/{name}"] == 3
