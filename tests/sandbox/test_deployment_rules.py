"""The deployment's settings as Genesys publishes and enforces them: config.json, authentication without session
upgrade, allowed domains, conversation disconnect, and the socket's remaining frames (GENESYS.md, Guest transport
and More frames)."""

import pytest
import simple_websocket

from sandbox import defaults

CONFIG_JSON = "/webdeployments/v1/deployments/{}/config.json"


def test_config_json_publishes_each_deployment_setting(sandbox, http):
    sandbox.configure(conversation_clear_enabled=False, allow_session_upgrade=False, allowed_domains=["a.example"])
    member = http.get(sandbox.url + CONFIG_JSON.format(defaults.DEPLOYMENT_ID)).json()
    assert member["auth"] == {"enabled": True, "allowSessionUpgrade": False}
    assert member["messenger"]["apps"]["conversations"]["conversationClear"] == {"enabled": False}
    assert member["allowedDomains"] == ["a.example"]
    guests = http.get(sandbox.url + CONFIG_JSON.format(defaults.GUEST_DEPLOYMENT_ID)).json()
    assert guests["auth"] == {"enabled": False, "allowSessionUpgrade": False}
    assert http.get(sandbox.url + CONFIG_JSON.format("not-a-deployment")).status_code == 404
    # The invented route is gone.
    old = f"{sandbox.url}/api/v2/webdeployments/deployments/{defaults.DEPLOYMENT_ID}/messengerconfig"
    assert http.get(old).status_code == 404


def test_without_session_upgrade_an_anonymous_session_cannot_send(sandbox):
    sandbox.configure(allow_session_upgrade=False)
    guest = sandbox.guest()
    assert guest.configure()["code"] == 200
    refused = guest.send("Hello", {"verified": "true"})
    assert refused["code"] == 401 and refused["type"] == "response"
    assert guest.presence("Join")["code"] == 401
    assert sandbox.conversations() == []
    guest.close()
    # The guest deployment (authentication off) lets the same visitor chat.
    visitor = sandbox.guest(deployment_id=defaults.GUEST_DEPLOYMENT_ID)
    assert visitor.configure()["code"] == 200
    assert visitor.send("Hello")["code"] == 200
    visitor.close()


def test_unknown_deployments_get_no_socket_and_no_session(sandbox, http):
    with pytest.raises(simple_websocket.ConnectionError):
        sandbox.guest(deployment_id="00000000-0000-4000-8000-00000000dead")
    guest = sandbox.guest()
    assert guest.ask("configureSession", deploymentId="someone-else")["code"] == 400
    guest.close()


def test_the_socket_refuses_a_browser_origin_outside_the_allowed_domains(sandbox, http):
    sandbox.configure(allowed_domains=["members.example.com"])
    url = f"{sandbox.url}/v1?deploymentId={defaults.DEPLOYMENT_ID}"
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    upgrade["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
    refused = http.get(url, headers={**upgrade, "Origin": "https://evil.example"})
    assert refused.status_code == 403
    # Messenger's own frame (the sandbox's origin) and an allowed page may connect.
    for origin in (sandbox.url, "https://members.example.com"):
        assert http.get(url, headers={**upgrade, "Origin": origin}, stream=True).status_code == 101
    frame = http.get(f"{sandbox.url}/genesys-bootstrap/messenger.html")
    assert "frame-ancestors members.example.com;" in frame.headers["Content-Security-Policy"]


def test_an_agent_ending_it_is_silent_where_disconnect_is_off(sandbox, guest):
    sandbox.configure(conversation_disconnect_enabled=False)
    guest.send("Hello")
    [conversation] = sandbox.conversations()
    sandbox.http.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/disconnect")
    # No Presence Disconnect reached the guest, and the session is not read-only: the next frame is the echo.
    assert guest.ask("echo", tracingId="t-1")["class"] == "StructuredMessage"
    assert guest.configure()["body"]["readOnly"] is False


def test_frames_genesys_documents(sandbox, guest):
    echo = guest.ask("echo", tracingId="trace-42", message={"text": "ping", "type": "Text"})
    assert echo["type"] == "response" and echo["tracingId"] == "trace-42"
    assert echo["body"]["metadata"]["customMessageId"] == "SGVhbHRoQ2hlY2tNZXNzYWdlSWQ="
    sent = guest.send("Hello")
    assert sent["body"]["metadata"]["correlationId"]
    sandbox.configure(guest_messages_per_minute=1)
    throttled = guest.send("Again")
    assert throttled["code"] == 429
    assert throttled["body"]["errorMessage"] == "Message rate too high for this session"


def test_an_expired_session_answers_4006_and_session_expired_event(sandbox):
    sandbox.configure(session_duration_seconds=0)
    guest = sandbox.guest()
    assert guest.configure()["code"] == 200
    assert guest.send("Hello")["code"] == 4006
    assert guest.configure() == {"type": "response", "class": "SessionExpiredEvent", "code": 200, "body": {}}
    guest.close()


def test_a_fourth_connection_closes_the_oldest(sandbox):
    first = sandbox.guest()
    assert first.configure()["code"] == 200
    others = [sandbox.guest(first.token) for _ in range(3)]
    for other in others:
        assert other.configure()["code"] == 200
    closed = first.receive()
    assert closed["class"] == "ConnectionClosedEvent" and closed["body"] == {}
    for guest in [first, *others]:
        guest.close()


def test_the_start_up_line_says_how_visitors_and_members_are_served():
    """`make run` shows it: the sandbox prints it after its listening line."""
    from sandbox.__main__ import deployments_line
    from sandbox.config import Config

    line = deployments_line(Config())
    assert f"members {defaults.DEPLOYMENT_ID} (authentication on, session upgrade on)" in line
    assert f"visitors without authentication {defaults.GUEST_DEPLOYMENT_ID}" in line
    assert "session upgrade off" in deployments_line(Config(allow_session_upgrade=False))
