"""The inbound message flow (the data action call), the agent routes and the pages the sandbox serves."""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sandbox import defaults


@pytest.fixture
def data_action():
    """A stand-in for the site's verify endpoint: records each call and answers what the test says."""
    calls = []
    behaviour = {"status": 200, "body": {"verified": "true"}, "delay": 0.0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            calls.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
            )
            time.sleep(behaviour["delay"])
            payload = json.dumps(behaviour["body"]).encode()
            self.send_response(behaviour["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/messaging/genesys/verify"
    yield {"url": url, "calls": calls, "behaviour": behaviour}
    server.shutdown()
    server.server_close()


def finished_call(sandbox, conversation_id):
    def probe():
        calls = sandbox.conversation(conversation_id)["dataActionCalls"]
        return calls if calls and calls[0]["state"] != "pending" else None

    return sandbox.wait_for(probe)


def test_new_conversation_calls_the_data_action_with_basic_auth(sandbox, data_action):
    sandbox.configure(data_action_url=data_action["url"])
    conversation = sandbox.start_conversation("Hello", {"memberToken": "signed.token", "isAuthenticated": "true"})
    [call] = finished_call(sandbox, conversation["id"])
    assert call["state"] == "succeeded" and call["ok"] is True and call["status"] == 200
    assert call["body"] == {"verified": "true"} and call["durationMs"] >= 0
    [received] = data_action["calls"]
    assert received["path"] == "/messaging/genesys/verify"
    assert received["body"] == {"conversationId": conversation["id"], "memberToken": "signed.token"}
    expected = base64.b64encode(f"{defaults.DATA_ACTION_USERNAME}:{defaults.DATA_ACTION_PASSWORD}".encode()).decode()
    assert received["headers"]["Authorization"] == f"Basic {expected}"
    assert received["headers"]["Content-Type"] == "application/json"
    assert sandbox.stats()["data_action_calls"] == 1


def test_only_the_first_message_calls_the_data_action(sandbox, data_action, guest):
    sandbox.configure(data_action_url=data_action["url"])
    guest.send("Hello")
    [conversation] = sandbox.conversations()
    finished_call(sandbox, conversation["id"])
    guest.send("Second")
    assert len(sandbox.conversation(conversation["id"])["messages"]) == 2
    assert len(data_action["calls"]) == 1


def test_anonymous_visitor_sends_an_empty_member_token(sandbox, data_action):
    sandbox.configure(data_action_url=data_action["url"])
    conversation = sandbox.start_conversation("Hello", {"isAuthenticated": "false"})
    finished_call(sandbox, conversation["id"])
    assert data_action["calls"][0]["body"]["memberToken"] == ""


def test_failing_data_action_is_recorded_not_fatal(sandbox, data_action):
    sandbox.configure(data_action_url=data_action["url"])
    data_action["behaviour"].update(status=401, body={"error": "unauthorized"})
    conversation = sandbox.start_conversation("Hello")
    [call] = finished_call(sandbox, conversation["id"])
    assert call["state"] == "failed" and call["status"] == 401 and call["body"] == {"error": "unauthorized"}
    # Nothing listening at all: recorded as an error without a status, and the conversation goes on.
    sandbox.configure(data_action_url="http://127.0.0.1:9/messaging/genesys/verify")
    second = sandbox.start_conversation("Again")
    [call] = finished_call(sandbox, second["id"])
    assert call["state"] == "failed" and call["status"] is None and "Connection refused" in call["error"]
    assert sandbox.conversation(second["id"])["state"] == "connected"


def test_data_action_timeout(sandbox, data_action):
    sandbox.configure(data_action_url=data_action["url"], data_action_timeout=0.2)
    data_action["behaviour"]["delay"] = 1.0
    conversation = sandbox.start_conversation("Hello")
    [call] = finished_call(sandbox, conversation["id"])
    assert call["state"] == "failed" and "timed out" in call["error"]


def test_flow_can_be_switched_off(sandbox, data_action):
    sandbox.configure(data_action_url=data_action["url"], flow_enabled=False)
    conversation = sandbox.start_conversation("Hello")
    assert sandbox.conversation(conversation["id"])["dataActionCalls"] == []
    assert sandbox.stats()["data_action_calls"] == 0


# --- agent ------------------------------------------------------------------------------------------------------


def test_agent_reply_and_disconnect(sandbox, http):
    conversation = sandbox.start_conversation("Hello")
    url = f"{sandbox.url}/agent/api/conversations/{conversation['id']}"
    assert http.post(f"{url}/reply", json={"text": ""}).status_code == 400
    reply = http.post(f"{url}/reply", json={"text": "Hi, agent here"})
    assert reply.status_code == 201 and reply.json()["direction"] == "Outbound"
    ended = http.post(f"{url}/disconnect").json()
    assert ended["state"] == "disconnected" and ended["endedBy"] == "agent"
    assert {p["state"] for p in ended["participants"]} == {"disconnected"}
    assert http.post(f"{url}/reply", json={"text": "late"}).status_code == 409
    assert http.post(f"{sandbox.url}/agent/api/conversations/nope/reply", json={"text": "x"}).status_code == 404


def test_agent_page_is_static_and_strict(sandbox, http):
    page = http.get(f"{sandbox.url}/agent/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert '<script src="/agent/agent.js"' in page.text
    assert http.get(f"{sandbox.url}/agent/agent.js").status_code == 200
    assert http.get(f"{sandbox.url}/agent/other.js").status_code == 404
    assert http.get(f"{sandbox.url}/agent", allow_redirects=False).status_code in {301, 308}


def test_demo_page_renders_the_snippet_with_escaped_attributes(sandbox, http):
    page = http.get(f"{sandbox.url}/_demo", params={"memberToken": "</script><script>alert(1)</script>"})
    assert page.status_code == 200
    assert "</script><script>alert(1)" not in page.text
    assert "\\u003c/script\\u003e" in page.text
    assert f"{sandbox.url}/genesys-bootstrap/genesys.min.js" in page.text
    csp = page.headers["Content-Security-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert page.text.count(f'nonce="{nonce}"') == 2
    # Messenger runs in a frame of the sandbox's origin, which opens the socket: the page itself connects nowhere.
    assert "frame-src 'self';" in csp and "connect-src 'self';" in csp
