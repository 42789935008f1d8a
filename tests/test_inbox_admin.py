"""Django admin: lists, filters and search for every model; staff actions."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import Invitation
from inboxes.models import Inbox, Message

from .conftest import store_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-admin-tests")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "model,query",
    [
        ("auth/user", "?q=owner&is_active__exact=1"),
        ("accounts/team", "?q=Acme"),
        ("accounts/membership", "?role__exact=owner&q=owner"),
        ("accounts/invitation", "?q=invitee"),
        ("inboxes/inbox", "?q=Staging"),
        ("inboxes/message", "?q=Hello&is_read__exact=0"),
    ],
)
def test_changelists_with_filters_and_search(staff_client, owner, member, inbox, model, query):
    Invitation.objects.create(team=inbox.team, email="invitee@example.com", token="t" * 20, invited_by=owner)
    store_message(inbox, b"From: a@example.com\r\nSubject: Hello admin\r\n\r\nx\r\n")
    response = staff_client.get(f"/admin/{model}/{query}")
    assert response.status_code == 200
    assert "0 results" not in response.content.decode()


def test_message_change_page_and_raw_download(staff_client, inbox):
    message = store_message(inbox, b"Subject: Raw\r\n\r\nexact bytes\r\n")
    assert staff_client.get(reverse("admin:inboxes_message_change", args=[message.pk])).status_code == 200
    response = staff_client.get(reverse("admin:inboxes_message_raw", args=[message.pk]))
    assert response.content == b"Subject: Raw\r\n\r\nexact bytes\r\n"


def test_staff_clears_an_inbox(staff_client, inbox):
    store_message(inbox, b"Subject: a\r\n\r\na\r\n")
    staff_client.post(
        reverse("admin:inboxes_inbox_changelist"), {"action": "clear_messages", "_selected_action": [inbox.pk]}
    )
    assert not Message.objects.exists() and Inbox.objects.filter(pk=inbox.pk).exists()


def test_staff_deactivates_a_user(staff_client, member):
    staff_client.post(reverse("admin:auth_user_changelist"), {"action": "deactivate", "_selected_action": [member.pk]})
    member.refresh_from_db()
    assert not member.is_active


def test_non_staff_cannot_use_admin(member_client):
    assert member_client.get("/admin/inboxes/message/").status_code == 302


def test_messages_are_read_only_in_the_admin(staff_client, inbox):
    """A message is what a client sent: no add page (it used to answer 500), no editing; view and delete stay."""
    message = store_message(inbox, b"Subject: Kept as sent\r\n\r\nbody\r\n")
    changelist = staff_client.get(reverse("admin:inboxes_message_changelist"))
    assert changelist.status_code == 200
    assert reverse("admin:inboxes_message_add") not in changelist.content.decode()
    assert staff_client.get(reverse("admin:inboxes_message_add")).status_code == 403
    assert staff_client.post(reverse("admin:inboxes_message_add"), {"subject": "forged"}).status_code == 403
    assert not Message.objects.filter(subject="forged").exists()

    page = staff_client.get(reverse("admin:inboxes_message_change", args=[message.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Kept as sent" in html and reverse("admin:inboxes_message_raw", args=[message.pk]) in html
    assert 'name="_save"' not in html and 'name="subject"' not in html
    edit = staff_client.post(reverse("admin:inboxes_message_change", args=[message.pk]), {"subject": "Edited"})
    assert edit.status_code == 403
    message.refresh_from_db()
    assert message.subject == "Kept as sent"

    staff_client.post(
        reverse("admin:inboxes_message_changelist"), {"action": "mark_read", "_selected_action": [message.pk]}
    )
    message.refresh_from_db()
    assert message.is_read
    staff_client.post(reverse("admin:inboxes_message_delete", args=[message.pk]), {"post": "yes"})
    assert not Message.objects.filter(pk=message.pk).exists()


def test_users_are_created_and_found_by_email(staff_client, client, member):
    add_url = reverse("admin:auth_user_add")
    page = staff_client.get(add_url).content.decode()
    assert 'name="email"' in page and 'name="username"' not in page
    response = staff_client.post(
        add_url,
        {
            "email": "Added@Example.com",
            "usable_password": "true",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email__iexact="added@example.com")
    assert user.username and user.check_password("a long passphrase 42")
    assert user.emailaddress_set.get().verified
    # Nobody chose that username: sign-in is by email.
    assert (
        client.post(reverse("account_login"), {"login": "added@example.com", "password": "a long passphrase 42"})[
            "Location"
        ]
        == "/"
    )

    again = staff_client.post(
        add_url,
        {
            "email": "added@example.com",
            "usable_password": "true",
            "password1": "x long passphrase 43",
            "password2": "x long passphrase 43",
        },
    )
    assert again.status_code == 200 and "already exists" in again.content.decode()
    assert get_user_model().objects.filter(email__iexact="added@example.com").count() == 1

    listing = staff_client.get(reverse("admin:auth_user_changelist") + "?q=member%40example").content.decode()
    assert "member@example.com" in listing and "Added@example.com" not in listing
    assert "column-username" not in listing


def test_staff_sign_in_to_the_admin_by_email(client, db):
    """The admin's own form asked for a username; staff sign in on Maildog's page, by email."""
    response = client.get(reverse("admin:index"), follow=True)
    login_url, _ = response.redirect_chain[-1]
    assert login_url.startswith(reverse("account_login")) and "next=" in login_url
    page = response.content.decode()
    assert 'name="login"' in page and 'type="email"' in page and "Username" not in page
    get_user_model().objects.create_superuser("boss-internal-name", "boss@example.com", "pw-for-admin-tests")
    EmailAddress.objects.create(user_id=get_user_model().objects.get().pk, email="boss@example.com", verified=True)
    signed_in = client.post(login_url, {"login": "boss@example.com", "password": "pw-for-admin-tests"})
    assert signed_in["Location"] == reverse("admin:index")
    index = client.get(reverse("admin:index")).content.decode()
    assert "Signed in as <strong>boss@example.com</strong>" in index and "boss-internal-name" not in index
    assert "Sign out" in index and "Log out" not in index and f'action="{reverse("account_logout")}"' in index
