"""Creating, renaming, clearing and deleting inboxes; resetting SMTP credentials."""

import pytest
from django.urls import reverse

from inboxes.models import Inbox, Message

from .conftest import store_message

pytestmark = pytest.mark.django_db


def test_owner_creates_inbox_and_lands_on_integration(owner_client, team):
    response = owner_client.post(reverse("inboxes:inbox_create", args=[team.pk]), {"name": "CI"})
    inbox = Inbox.objects.get(name="CI")
    assert inbox.team == team and inbox.smtp_username and inbox.smtp_password
    assert response["Location"] == reverse("inboxes:integration", args=[inbox.pk])
    assert owner_client.get(reverse("inboxes:inbox_create", args=[team.pk])).status_code == 200


def test_create_requires_a_name(owner_client, team):
    response = owner_client.post(reverse("inboxes:inbox_create", args=[team.pk]), {"name": ""})
    assert response.status_code == 200 and not Inbox.objects.exists()


def test_rename(owner_client, inbox):
    url = reverse("inboxes:inbox_rename", args=[inbox.pk])
    assert owner_client.get(url).status_code == 200
    assert owner_client.post(url, {"name": "Production-like"}).status_code == 302
    inbox.refresh_from_db()
    assert inbox.name == "Production-like"


def test_clear_deletes_only_this_inboxs_messages(owner_client, inbox, team):
    other = Inbox.objects.create(team=team, name="Other")
    store_message(inbox, b"Subject: a\r\n\r\na\r\n")
    store_message(inbox, b"Subject: b\r\n\r\nb\r\n")
    kept = store_message(other, b"Subject: c\r\n\r\nc\r\n")
    assert owner_client.post(reverse("inboxes:inbox_clear", args=[inbox.pk])).status_code == 302
    assert list(Message.objects.values_list("pk", flat=True)) == [kept.pk]
    assert Inbox.objects.filter(pk=inbox.pk).exists()


def test_delete(owner_client, inbox, team):
    store_message(inbox, b"Subject: a\r\n\r\na\r\n")
    response = owner_client.post(reverse("inboxes:inbox_delete", args=[inbox.pk]))
    assert response["Location"] == reverse("accounts:team", args=[team.pk])
    assert not Inbox.objects.exists() and not Message.objects.exists()


def test_reset_credentials(owner_client, inbox):
    old = (inbox.smtp_username, inbox.smtp_password)
    owner_client.post(reverse("inboxes:inbox_reset_credentials", args=[inbox.pk]))
    inbox.refresh_from_db()
    assert inbox.smtp_username != old[0] and inbox.smtp_password != old[1]


def test_admin_role_can_manage(client, team, inbox):
    from accounts.models import Membership

    from .conftest import make_user

    admin = make_user("admin@example.com")
    Membership.objects.create(team=team, user=admin, role=Membership.Role.ADMIN)
    client.force_login(admin)
    assert client.post(reverse("inboxes:inbox_rename", args=[inbox.pk]), {"name": "By admin"}).status_code == 302


MANAGE = [
    ("inboxes:inbox_rename", {"name": "x"}),
    ("inboxes:inbox_delete", {}),
    ("inboxes:inbox_reset_credentials", {}),
]


@pytest.mark.parametrize("name,data", MANAGE)
def test_member_is_forbidden(member_client, inbox, name, data):
    store_message(inbox, b"Subject: a\r\n\r\na\r\n")
    assert member_client.post(reverse(name, args=[inbox.pk]), data).status_code == 403
    inbox.refresh_from_db()
    assert inbox.name == "Staging" and Message.objects.count() == 1


def test_member_may_clear_as_through_the_api(member_client, inbox):
    store_message(inbox, b"Subject: a\r\n\r\na\r\n")
    assert member_client.post(reverse("inboxes:inbox_clear", args=[inbox.pk])).status_code == 302
    assert not Message.objects.filter(inbox=inbox).exists()


@pytest.mark.parametrize("name,data", [*MANAGE, ("inboxes:inbox_clear", {})])
def test_outsider_gets_404(outsider_client, inbox, name, data):
    assert outsider_client.post(reverse(name, args=[inbox.pk]), data).status_code == 404
    assert Inbox.objects.filter(pk=inbox.pk, name="Staging").exists()


@pytest.mark.parametrize("name,data", MANAGE)
def test_anonymous_is_sent_to_login(client, inbox, name, data):
    assert client.post(reverse(name, args=[inbox.pk]), data).status_code == 302
    assert Inbox.objects.filter(pk=inbox.pk, name="Staging").exists()


@pytest.mark.parametrize("name", ["inboxes:inbox_clear", "inboxes:inbox_delete", "inboxes:inbox_reset_credentials"])
def test_wrong_method(owner_client, inbox, name):
    assert owner_client.get(reverse(name, args=[inbox.pk])).status_code == 405


def test_create_in_someone_elses_team(client, member, outsider, team):
    client.force_login(member)
    assert client.post(reverse("inboxes:inbox_create", args=[team.pk]), {"name": "x"}).status_code == 403
    client.force_login(outsider)
    assert client.post(reverse("inboxes:inbox_create", args=[team.pk]), {"name": "x"}).status_code == 404
    assert not Inbox.objects.exists()
