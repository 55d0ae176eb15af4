"""Load of `make loadtest` (run by bench/loadtest.py; locust headless in its own process).

Two kinds of users against the production profile:
- MemberUser: a member signs in once (login page, POST with CSRF) and then loads pages; now and then she chats:
  her page's member token (from the page's Messenger data, as Messenger reads it) goes with her first message into
  a new conversation in the sandbox, and the Genesys flow's data action calls POST /messaging/genesys/verify with
  the conversation id and that token (Basic credentials). A token verifies the conversation it came with.
- FlowUser: the flow verifying an open conversation again (a repeat costs one PATCH).

Inputs come from the environment set by bench/loadtest.py: LOADTEST_MEMBERS (a JSON file whose keys are the
usernames), LOADTEST_PASSWORD, LOADTEST_SANDBOX_URL, LOADTEST_DATA_ACTION_USERNAME/PASSWORD.
"""

import json
import os
import random
import re

import requests
from locust import HttpUser, between, events, task

MEMBERS: dict[str, str] = json.loads(open(os.environ["LOADTEST_MEMBERS"]).read())  # noqa: SIM115
USERNAMES = sorted(MEMBERS)
PASSWORD = os.environ["LOADTEST_PASSWORD"]
SANDBOX_URL = os.environ["LOADTEST_SANDBOX_URL"]
DATA_ACTION_AUTH = (os.environ["LOADTEST_DATA_ACTION_USERNAME"], os.environ["LOADTEST_DATA_ACTION_PASSWORD"])
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MESSENGER_DATA = re.compile(r'<script id="genesys-messenger-data" type="application/json">(.*?)</script>', re.S)

# Conversations opened by this locust process, for repeat verifies.
opened: list[tuple[str, str]] = []


class MemberUser(HttpUser):
    weight = 3
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.username = random.choice(USERNAMES)  # noqa: S311
        page = self.client.get("/accounts/login/", name="GET /accounts/login/")
        match = CSRF_FIELD.search(page.text)
        with self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": match.group(1) if match else "",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="POST /accounts/login/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login answered {response.status_code}")

    @task(10)
    def home(self) -> None:
        self._page()

    @task(3)
    def chat(self) -> None:
        token = self._page()
        if not token:
            return
        created = sandbox_session().post(
            f"{SANDBOX_URL}/_conversations",
            json={"attributes": {"isAuthenticated": "true", "memberToken": token}, "text": "Hello"},
            timeout=10,
        )
        created.raise_for_status()
        conversation_id = created.json()["id"]
        if verify(self.client, conversation_id, token, "POST verify (new conversation)"):
            opened.append((conversation_id, token))

    def _page(self) -> str:
        """The home page; the member token its Messenger data carries ("" and a failure when it has none)."""
        with self.client.get("/", name="GET / (member)", catch_response=True) as response:
            match = MESSENGER_DATA.search(response.text)
            token = json.loads(match.group(1))["attributes"].get("memberToken", "") if match else ""
            if not token:
                response.failure("the page carries no member token")
            return token

    @task(1)
    def password_page(self) -> None:
        self.client.get("/accounts/password/change/", name="GET /accounts/password/change/")


class FlowUser(HttpUser):
    weight = 1
    wait_time = between(0.5, 2.0)

    @task
    def repeat(self) -> None:
        if not opened:
            return
        conversation_id, token = random.choice(opened)  # noqa: S311
        verify(self.client, conversation_id, token, "POST verify (repeat)")


def sandbox_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def verify(client, conversation_id: str, token: str, name: str) -> bool:
    """The flow's data action; True when it answered verified."""
    with client.post(
        "/messaging/genesys/verify",
        json={"conversationId": conversation_id, "memberToken": token},
        auth=DATA_ACTION_AUTH,
        name=name,
        catch_response=True,
    ) as response:
        if response.status_code != 200 or response.json().get("verified") != "true":
            response.failure(f"verify answered {response.status_code}: {response.text[:200]}")
            return False
        return True


@events.quitting.add_listener
def _exit_code(environment, **kwargs) -> None:
    # The orchestrator reads the CSV files; locust's own exit code would turn any failure into a crash.
    environment.process_exit_code = 0
