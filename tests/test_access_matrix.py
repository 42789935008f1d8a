"""One access policy, one matrix: every role against every kind of action on the web pages and the
websockets, with the same kinds as the API's matrix (`test_api_access.py`).

Kinds: "read" (see mail), "write" (tidy mail up: mark, delete one, a selection, clear the inbox —
every member), "manage" (the inbox itself: rename, reset credentials, delete — owners and admins).
Another team's inbox does not exist (404); anonymous visitors go to log-in.
"""

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from accounts.models import Membership
from inboxes.models import Inbox, Message

from .conftest import make_user, store_message
from .test_api_access import ENDPOINTS as API_ENDPOINTS
from .test_api_access import RAW
from .test_websocket_live import connect_as

PAGES = {
    "inbox": ("get", "read", lambda i, m: reverse("inboxes:inbox", args=[i.pk]), {}),
    "integration": ("get", "read", lambda i, m: reverse("inboxes:integration", args=[i.pk]), {}),
    "message": ("get", "read", lambda i, m: reverse("inboxes:message", args=[i.pk, m.pk]), {}),
    "eml": ("get", "read", lambda i, m: reverse("inboxes:message_eml", args=[i.pk, m.pk]), {}),
    "attachment": ("get", "read", lambda i, m: reverse("inboxes:message_attachment", args=[i.pk, m.pk, 0]), {}),
    "mark-read": ("post", "write", lambda i, m: reverse("inboxes:message_mark", args=[i.pk, m.pk, "read"]), {}),
    "delete-message": ("post", "write", lambda i, m: reverse("inboxes:message_delete", args=[i.pk, m.pk]), {}),
    "delete-selected": (
        "post",
        "write",
        lambda i, m: reverse("inboxes:messages_delete", args=[i.pk]),
        {"ids": "MESSAGE"},
    ),
    "clear": ("post", "write", lambda i, m: reverse("inboxes:inbox_clear", args=[i.pk]), {}),
    "rename": ("post", "manage", lambda i, m: reverse("inboxes:inbox_rename", args=[i.pk]), {"name": "Renamed"}),
    "reset-credentials": ("post", "manage", lambda i, m: reverse("inboxes:inbox_reset_credentials", args=[i.pk]), {}),
    "delete-inbox": ("post", "manage", lambda i, m: reverse("inboxes:inbox_delete", args=[i.pk]), {}),
}

ALLOWED = {"get": 200, "post": 302}
#            read     write    manage
EXPECTED = {
    "owner": ("ok", "ok", "ok"),
    "admin": ("ok", "ok", "ok"),
    "member": ("ok", "ok", 403),
    "outsider": (404, 404, 404),
    "anonymous": ("login", "login", "login"),
}
KINDS = ("read", "write", "manage")


def user_for(role, team):
    if role == "anonymous":
        return None
    if role == "outsider":
        from accounts.models import Team

        user = make_user("outsider@example.com")
        Membership.objects.create(team=Team.objects.create(name="Other"), user=user, role=Membership.Role.OWNER)
        return user
    user = make_user(f"{role}@example.com")
    Membership.objects.create(team=team, user=user, role=role)
    return user


def test_pages_and_api_classify_shared_actions_alike():
    """An action offered on both surfaces is the same kind on both (the policy is one)."""
    shared = {"clear", "delete-message", "reset-credentials", "attachment"}
    assert {name: PAGES[name][1] for name in shared} == {name: API_ENDPOINTS[name][1] for name in shared}


@pytest.mark.parametrize("role", EXPECTED)
@pytest.mark.parametrize("name", PAGES)
def test_pages(client, team, inbox, role, name):
    method, kind, make_url, data = PAGES[name]
    message = store_message(inbox, RAW)
    user = user_for(role, team)
    if user is not None:
        client.force_login(user)
    data = {key: (str(message.pk) if value == "MESSAGE" else value) for key, value in data.items()}
    response = getattr(client, method)(make_url(inbox, message), data)
    expected = EXPECTED[role][KINDS.index(kind)]
    if expected == "ok":
        assert response.status_code == ALLOWED[method], response.content[:300]
    elif expected == "login":
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    else:
        assert response.status_code == expected
    if expected != "ok":
        # Refused actions leave everything as it was (an opened message counts as read).
        assert Inbox.objects.filter(pk=inbox.pk, name="Staging").exists()
        assert Message.objects.filter(pk=message.pk, is_read=False).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", EXPECTED)
async def test_websockets(team, inbox, role):
    """The inbox's live socket admits whoever may read it; the unread socket shows only visible inboxes."""
    user = await sync_to_async(user_for)(role, team)
    if user is None:
        from channels.testing import WebsocketCommunicator

        from maildog_site.asgi import application

        comm = WebsocketCommunicator(
            application, f"/ws/inboxes/{inbox.pk}/", headers=[(b"origin", b"http://localhost")]
        )
        connected, code = await comm.connect()
        assert not connected and code == 4403
        return
    comm, connected, code = await connect_as(f"/ws/inboxes/{inbox.pk}/", user)
    may_read = EXPECTED[role][0] == "ok"
    assert connected == may_read
    if may_read:
        await comm.disconnect()
    else:
        assert code == 4403
    unread, connected, _ = await connect_as("/ws/unread/", user)
    assert connected
    counts = (await unread.receive_json_from(timeout=5))["counts"]
    assert (str(inbox.pk) in counts) == may_read
    await unread.disconnect()
