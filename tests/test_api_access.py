"""Who reaches what through the API: every endpoint for owner, member, outsider,
anonymous, inbox-scoped tokens and revoked tokens.

Other teams' inboxes and messages answer 404; no token or a bad one 401; an
inbox-scoped token reads its inbox only and writes nothing (403).
"""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from api.models import ApiToken
from inboxes.ingest import SessionFacts
from inboxes.models import Inbox, Message

from .conftest import ingest, make_user

RAW = (
    b"From: app@example.com\r\nTo: alice@example.com\r\nSubject: Invoice\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: text/plain\r\n\r\nSee https://app.example.com/i/1\r\n"
    b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=i.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"
)

# kind: "read", "write" (members may), "manage" (owners and admins only)
ENDPOINTS = {
    "inbox-detail": ("get", "read", lambda i, m: reverse("api:inbox-detail", args=[i.pk])),
    "reset-credentials": ("post", "manage", lambda i, m: reverse("api:inbox-reset-credentials", args=[i.pk])),
    "message-list": ("get", "read", lambda i, m: reverse("api:message-list", args=[i.pk])),
    "clear": ("delete", "write", lambda i, m: reverse("api:message-list", args=[i.pk])),
    "wait": ("get", "read", lambda i, m: reverse("api:message-wait", args=[i.pk]) + "?timeout=0"),
    "message-detail": ("get", "read", lambda i, m: reverse("api:message-detail", args=[i.pk, m.pk])),
    "delete-message": ("delete", "write", lambda i, m: reverse("api:message-detail", args=[i.pk, m.pk])),
    "raw": ("get", "read", lambda i, m: reverse("api:message-raw", args=[i.pk, m.pk])),
    "attachment": ("get", "read", lambda i, m: reverse("api:message-attachment", args=[i.pk, m.pk, 0])),
}

EXPECTED = {
    #            read  write  manage
    "owner": (200, 200, 200),
    "admin": (200, 200, 200),
    "member": (200, 200, 403),
    "outsider": (404, 404, 404),
    "anonymous": (401, 401, 401),
    "scoped": (200, 403, 403),
    "scoped-other-inbox": (404, 403, 403),
    "revoked": (401, 401, 401),
}
KINDS = ("read", "write", "manage")


@pytest.fixture
def message(inbox):
    return ingest(inbox.pk, RAW, SessionFacts(mail_from="app@example.com", rcpt_tos=["alice@example.com"]))


@pytest.fixture
def key_for(team, owner, member, outsider, inbox, api_key):
    def make(role):
        if role == "owner":
            return api_key(owner)
        if role == "admin":
            admin = make_user("admin@example.com")
            Membership.objects.create(team=team, user=admin, role=Membership.Role.ADMIN)
            return api_key(admin)
        if role == "member":
            return api_key(member)
        if role == "outsider":
            return api_key(outsider)
        if role == "anonymous":
            return None
        if role == "scoped":
            return api_key(member, inbox)
        if role == "scoped-other-inbox":
            return api_key(member, Inbox.objects.create(team=team, name="Other"))
        if role == "revoked":
            key = api_key(owner)
            ApiToken.objects.filter(user=owner).delete()
            return key
        raise ValueError(role)

    return make


def client_for(key):
    return Client(headers={"Authorization": f"Bearer {key}"}) if key else Client()


@pytest.mark.parametrize("role", EXPECTED)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_endpoint_access(endpoint, role, inbox, message, key_for):
    method, kind, url = ENDPOINTS[endpoint]
    response = getattr(client_for(key_for(role)), method)(url(inbox, message))
    expected = EXPECTED[role][KINDS.index(kind)]
    if expected == 200 and endpoint == "delete-message":
        expected = 204
    assert response.status_code == expected, response.content[:300]
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    changed = expected in (200, 204) and kind != "read"
    assert Message.objects.filter(pk=message.pk).exists() == (not changed or endpoint == "reset-credentials")


@pytest.mark.parametrize(
    "role, sees_inbox",
    [("owner", True), ("member", True), ("outsider", False), ("scoped", True), ("scoped-other-inbox", False)],
)
def test_inbox_list_shows_reachable_inboxes_only(role, sees_inbox, inbox, key_for):
    response = client_for(key_for(role)).get(reverse("api:inbox-list"))
    assert response.status_code == 200
    ids = [item["id"] for item in response.json()]
    assert (inbox.pk in ids) == sees_inbox
    if role == "outsider":
        assert ids == list(Inbox.objects.filter(team__name="Other team").values_list("pk", flat=True))
    if role.startswith("scoped"):
        assert len(ids) == 1


@pytest.mark.parametrize("role", ["anonymous", "revoked"])
def test_inbox_list_refuses_without_a_valid_token(role, key_for):
    response = client_for(key_for(role)).get(reverse("api:inbox-list"))
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer mdg_guessed", "Token mdg_guessed"])
def test_malformed_or_unknown_keys_are_refused(db, header):
    response = Client(headers={"Authorization": header}).get(reverse("api:inbox-list"))
    assert response.status_code == 401


def test_token_keyword_is_accepted_too(inbox, owner, api_key):
    response = Client(headers={"Authorization": f"Token {api_key(owner)}"}).get(reverse("api:inbox-list"))
    assert response.status_code == 200


def test_inactive_user_token_is_refused(owner, api_key):
    key = api_key(owner)
    owner.is_active = False
    owner.save()
    assert client_for(key).get(reverse("api:inbox-list")).status_code == 401


def test_token_of_someone_who_left_the_team_stops_working(inbox, member, message, api_key):
    key = api_key(member, inbox)
    Membership.objects.filter(user=member).delete()
    response = client_for(key).get(reverse("api:message-detail", args=[inbox.pk, message.pk]))
    assert response.status_code == 404


def test_message_of_another_inbox_is_404_through_a_reachable_inbox(team, inbox, message, owner, api_key):
    other = Inbox.objects.create(team=team, name="Other")
    response = client_for(api_key(owner)).get(reverse("api:message-detail", args=[other.pk, message.pk]))
    assert response.status_code == 404


def test_use_is_recorded_on_the_token(inbox, owner, api_key):
    key = api_key(owner)
    token = ApiToken.objects.get(user=owner)
    assert token.last_used_at is None
    client_for(key).get(reverse("api:inbox-list"))
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("method", ["put", "patch"])
def test_wrong_methods_answer_405(inbox, message, owner, api_key, method):
    response = getattr(client_for(api_key(owner)), method)(reverse("api:message-detail", args=[inbox.pk, message.pk]))
    assert response.status_code == 405
