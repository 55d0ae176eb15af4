"""The guest's one WebSocket (`/v1?deploymentId=`, GENESYS.md Guest transport) and the static Messenger files."""

import pytest

from sandbox import defaults


def test_configure_session_answers_session_response(sandbox):
    guest = sandbox.guest()
    frame = guest.configure()
    assert frame["type"] == "response" and frame["class"] == "SessionResponse" and frame["code"] == 200
    body = frame["body"]
    assert body["connected"] is True and body["newSession"] is True and body["readOnly"] is False
    assert body["maxCustomDataBytes"] == 2048
    assert body["durationSeconds"] == 259200 and isinstance(body["expirationDate"], int)
    assert body["allowedMedia"]["inbound"]["fileTypes"][0] == {"type": "image/png"}
    assert all(set(t) == {"type"} for t in body["allowedMedia"]["inbound"]["fileTypes"])
    assert guest.configure()["body"]["newSession"] is False
    assert sandbox.stats()["guest_sessions_created"] == 1
    guest.close()


def test_frames_need_a_token_and_a_known_action(sandbox, guest):
    guest.send_frame(action="configureSession", deploymentId="d")
    assert guest.receive() == {
        "type": "response",
        "class": "string",
        "code": 400,
        "body": "A frame needs a token of 8 to 200 characters.",
    }
    guest.send_frame(action="nope", token=guest.token)
    assert guest.receive()["code"] == 400
    guest.ws.send("not json")
    assert guest.receive()["code"] == 400
    # Session not found (transport SDK Response.kt).
    assert sandbox.guest().ask("onMessage", message={"type": "Text", "text": "x"})["code"] == 4007


def test_plain_http_to_the_socket_path_is_refused(sandbox, http):
    assert http.get(f"{sandbox.url}/v1?deploymentId=x").status_code == 400


def test_the_old_long_poll_routes_are_gone(sandbox, http):
    for path in ("sessions", "messages", "events", "history", "clear"):
        assert http.post(f"{sandbox.url}/webmessaging/v1/{path}", json={}).status_code == 404


def test_first_message_creates_the_conversation_with_widget_attributes(sandbox, guest):
    frame = guest.send("Hello", {"memberToken": "abc", "isAuthenticated": "true"})
    assert frame["type"] == "message" and frame["class"] == "StructuredMessage" and frame["code"] == 200
    assert frame["body"]["direction"] == "Inbound" and frame["body"]["text"] == "Hello"
    assert frame["body"]["channel"]["metadata"]["customAttributes"] == {"memberToken": "abc", "isAuthenticated": "true"}
    [conversation] = sandbox.conversations()
    assert conversation["deploymentId"] == defaults.DEPLOYMENT_ID
    assert conversation["attributes"] == {
        "memberToken": {"value": "abc", "origin": "widget"},
        "isAuthenticated": {"value": "true", "origin": "widget"},
    }
    # A later message without attributes (they travel once per change) keeps them; one with a change merges it.
    assert "metadata" not in guest.send("Again")["body"]["channel"]
    guest.send("Moved", {"page": "/home"})
    [conversation] = sandbox.conversations()
    assert [m["text"] for m in conversation["messages"]] == ["Hello", "Again", "Moved"]
    assert conversation["attributes"]["memberToken"] == {"value": "abc", "origin": "widget"}
    assert conversation["attributes"]["page"] == {"value": "/home", "origin": "widget"}
    assert sandbox.stats()["guest_messages"] == 3


def test_a_later_message_overwrites_keys_the_server_pushed(sandbox, guest, http):
    """Nothing public protects a key the server set (GENESYS.md): the browser writes participant data."""
    guest.send("Hello", {"verified": "false", "membershipLevel": "Bronze"})
    [conversation] = sandbox.conversations()
    token = sandbox.token()
    url = (
        f"{sandbox.url}/api/v2/conversations/messages/{conversation['id']}"
        f"/participants/{conversation['customerParticipantId']}/attributes"
    )
    http.patch(url, json={"attributes": {"verified": "true"}}, headers={"Authorization": f"Bearer {token}"})
    assert sandbox.conversation(conversation["id"])["attributes"]["verified"] == {"value": "true", "origin": "server"}
    guest.send("Overwrite", {"verified": "forged", "membershipLevel": "Platinum"})
    attributes = sandbox.conversation(conversation["id"])["attributes"]
    assert attributes["verified"] == {"value": "forged", "origin": "widget"}
    assert attributes["membershipLevel"] == {"value": "Platinum", "origin": "widget"}


def test_top_level_channel_metadata_is_ignored(sandbox, guest):
    guest.send_frame(
        action="onMessage",
        token=guest.token,
        message={"type": "Text", "text": "Hi"},
        channel={"metadata": {"customAttributes": {"old": "place"}}},
    )
    assert guest.receive()["code"] == 200
    assert sandbox.conversations()[0]["attributes"] == {}


def test_attributes_over_max_custom_data_bytes_answer_4013(sandbox, guest):
    # Keys plus values in UTF-8: "k" (1) + 2047 bytes fit exactly; one more byte does not. "é" is two bytes.
    assert guest.send("fits", {"k": "x" * 2047})["code"] == 200
    assert guest.send("too big", {"k": "é" * 1024}) == {
        "type": "response",
        "class": "string",
        "code": 4013,
        "body": "Custom Attributes in channel metadata is larger than 2048 bytes",
    }
    assert [m["text"] for m in sandbox.conversations()[0]["messages"]] == ["fits"]
    assert sandbox.stats()["guest_messages_rejected"] == 1


def test_max_custom_data_bytes_is_configurable(sandbox, guest):
    sandbox.configure(max_custom_data_bytes=10)
    assert guest.configure()["body"]["maxCustomDataBytes"] == 10
    assert guest.send("x", {"abcde": "12345"})["code"] == 200
    assert guest.send("y", {"abcde": "123456"})["code"] == 4013


@pytest.mark.parametrize("attributes", [{"n": 1}, {"b": True}, ["x"], "x"], ids=["int", "bool", "list", "str"])
def test_attributes_must_be_strings(sandbox, guest, attributes):
    assert guest.send("Hi", attributes)["code"] == 400
    assert sandbox.conversations() == []


def test_message_validation(sandbox, guest):
    assert guest.send("   ")["code"] == 400
    assert guest.ask("onMessage", message={"type": "Image"})["code"] == 400
    assert guest.ask("onMessage", message="x")["code"] == 400


def test_a_guest_writing_too_fast_gets_too_many_requests(sandbox, guest):
    sandbox.configure(guest_messages_per_minute=2)
    assert [guest.send(f"m{i}")["code"] for i in range(2)] == [200, 200]
    frame = guest.send("one too many")
    assert frame["type"] == "response" and frame["class"] == "TooManyRequestsErrorMessage" and frame["code"] == 429
    assert frame["body"]["errorCode"] == 4029 and 1 <= frame["body"]["retryAfter"] <= 60
    assert len(sandbox.conversations()[0]["messages"]) == 2
    assert sandbox.stats()["guest_messages_throttled"] == 1


def test_presence_join_starts_a_conversation_without_text(sandbox, guest):
    join = {"type": "Event", "events": [{"eventType": "Presence", "presence": {"type": "Join"}}]}
    join["channel"] = {"metadata": {"customAttributes": {"a": "1"}}}
    assert guest.ask("onMessage", message=join)["code"] == 200
    [conversation] = sandbox.conversations()
    assert conversation["messages"] == [] and conversation["attributes"] == {"a": {"value": "1", "origin": "widget"}}


def test_agent_reply_and_disconnect_reach_the_guest_on_the_socket(sandbox, guest, http):
    guest.send("Hello")
    [conversation] = sandbox.conversations()
    http.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/reply", json={"text": "How can I help?"})
    event = guest.receive()
    assert event["type"] == "message" and event["class"] == "StructuredMessage"
    assert event["body"]["direction"] == "Outbound" and event["body"]["text"] == "How can I help?"
    seen = sandbox.conversation(conversation["id"])
    assert [p["purpose"] for p in seen["participants"]] == ["customer", "acd", "agent"]
    assert seen["participants"][1]["state"] == "disconnected"
    http.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/disconnect")
    assert guest.receive()["body"]["events"] == [{"eventType": "Presence", "presence": {"type": "Disconnect"}}]
    assert guest.configure()["body"]["readOnly"] is True
    guest.send("three")  # the next message starts a new conversation
    assert len(sandbox.conversations()) == 2


def test_history_is_read_with_the_sessions_jwt(sandbox, guest, http):
    guest.send("one")
    [conversation] = sandbox.conversations()
    http.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/reply", json={"text": "two"})
    guest.receive()
    jwt = guest.ask("getJwt")
    assert jwt["class"] == "JwtResponse" and jwt["body"]["jwt"]
    url = f"{sandbox.url}/api/v2/webmessaging/messages"
    page = http.get(url, headers={"Authorization": f"Bearer {jwt['body']['jwt']}"}).json()
    assert [m["text"] for m in page["entities"]] == ["two", "one"]  # newest first
    assert page["total"] == 2 and page["pageNumber"] == 1
    assert http.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_echo_answers_the_health_check(sandbox, guest):
    frame = guest.ask("echo", message={"text": "ping", "type": "Text"})
    assert frame["code"] == 200 and frame["body"]["text"] == "ping"


def test_clear_answers_200_then_session_cleared_then_connection_closed(sandbox, guest):
    guest.send("secret stuff", {"memberToken": "abc"})
    http_agent = sandbox.http
    [conversation] = sandbox.conversations()
    http_agent.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/reply", json={"text": "hi"})
    guest.receive()
    answer = guest.presence("Clear")
    assert answer["code"] == 200
    assert guest.receive()["class"] == "SessionClearedEvent"
    assert guest.receive()["class"] == "ConnectionClosedEvent"
    # The client closes the socket, not the server: it still answers (the session is gone: 4007).
    assert guest.ask("echo")["code"] == 4007
    guest.close()
    [conversation] = sandbox.conversations()
    assert conversation["state"] == "disconnected" and conversation["cleared"] is True
    by_purpose = {p["purpose"]: p for p in conversation["participants"]}
    assert by_purpose["customer"]["disconnectType"] == "client"
    assert by_purpose["agent"]["wrapupRequired"] is True  # the agent is asked to wrap up
    again = sandbox.guest(guest.token)
    assert again.configure()["body"]["newSession"] is True  # the session was forgotten
    again.close()


def test_clear_is_refused_when_the_deployment_turns_it_off(sandbox, guest):
    assert sandbox.configure(conversation_clear_enabled=False)["conversation_clear_enabled"] is False
    guest.send("keep me")
    refused = guest.presence("Clear")
    assert refused["type"] == "response" and refused["code"] == 403
    [conversation] = sandbox.conversations()
    assert conversation["state"] == "connected" and conversation["cleared"] is False
    assert guest.send("still here")["code"] == 200  # the socket and the session go on
    assert sandbox.stats()["clears_refused"] == 1


def test_a_fault_on_a_frame_answers_its_code(sandbox, guest):
    sandbox.faults(route="WS onMessage", status=503, count=1)
    assert guest.send("lost") == {"type": "response", "class": "string", "code": 503, "body": "Injected fault"}
    assert guest.send("kept")["code"] == 200


def test_messenger_script_and_stylesheet_are_served(sandbox, http):
    script = http.get(f"{sandbox.url}/genesys-bootstrap/genesys.min.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert "_genesysJs" in script.text and "eval(" not in script.text
    css = http.get(f"{sandbox.url}/genesys-bootstrap/messenger.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert http.get(f"{sandbox.url}/genesys-bootstrap/other.js").status_code == 404
    assert sandbox.stats()["requests"]["GET /genesys-bootstrap/{name}"] == 3
