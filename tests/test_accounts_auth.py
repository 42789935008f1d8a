"""Sign-up, verification, log in/out, password reset and change, with Maildog's own mail caught by Maildog."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from inboxes.models import Message

from .conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another long passphrase 42"


def caught(inbox, subject_part):
    return Message.objects.defer(None).filter(inbox=inbox, subject__contains=subject_part).get()


def link_in(message, path):
    return re.search(rf"https?://testserver({path}\S+)", message.text_body).group(1)


def signup(client, email="dev@example.com"):
    return client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})


def test_signup_sends_verification_through_maildog_and_creates_personal_team(client, maildog_mail):
    response = signup(client)
    assert response.status_code == 302 and response["Location"] == reverse("account_email_verification_sent")
    user = get_user_model().objects.get(email="dev@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER and membership.team.name == "dev@example.com's team"
    message = caught(maildog_mail, "Confirm your email address")
    assert message.subject == "[Maildog] Confirm your email address"
    assert message.envelope_to == ["dev@example.com"]
    raw = bytes(message.raw)
    assert b"Content-Type: text/plain" in raw and b"Content-Type: text/html" in raw
    # Unverified: not logged in yet (verification is mandatory).
    assert client.get(reverse("inboxes:home")).status_code == 302

    confirm = link_in(message, "/accounts/confirm-email/")
    assert client.get(confirm).status_code == 200
    response = client.post(confirm)
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.get(reverse("inboxes:home")).status_code == 200


def test_unverified_login_is_sent_to_verification(client, maildog_mail):
    signup(client)
    client.logout()
    response = client.post(reverse("account_login"), {"login": "dev@example.com", "password": PASSWORD})
    assert response["Location"] == reverse("account_email_verification_sent")


def test_login_and_logout(client, owner):
    page = client.get(reverse("account_login"))
    assert page.status_code == 200 and "Maildog" in page.content.decode()
    response = client.post(reverse("account_login"), {"login": owner.email, "password": PASSWORD})
    assert response["Location"] == "/"
    assert client.get(reverse("inboxes:home")).status_code == 200
    client.post(reverse("account_logout"))
    assert client.get(reverse("inboxes:home")).status_code == 302


def test_wrong_password_is_refused(client, owner):
    response = client.post(reverse("account_login"), {"login": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert client.get(reverse("inboxes:home")).status_code == 302


def test_password_reset_by_email(client, owner, maildog_mail):
    # Maildog's own pages, in sentence case like the rest of the product.
    assert "<h1>Reset your password</h1>" in client.get(reverse("account_reset_password")).content.decode()
    response = client.post(reverse("account_reset_password"), {"email": owner.email})
    assert response.status_code == 302
    assert "<h1>Check your email</h1>" in client.get(response["Location"]).content.decode()
    message = caught(maildog_mail, "Reset your password")
    assert message.subject == "[Maildog] Reset your password"
    reset = link_in(message, "/accounts/password/reset/key/")
    form_page = client.get(reset, follow=True)
    assert form_page.status_code == 200
    assert "<h1>Choose a new password</h1>" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else reset,
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert "<h1>Password changed</h1>" in client.get(response["Location"]).content.decode()
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    # The link works once.
    used = client.get(reset, follow=True).content.decode()
    assert "<h1>Link no longer valid</h1>" in used


def test_change_password(client, owner):
    client.force_login(owner)
    page = client.get(reverse("account_change_password"))
    assert page.status_code == 200 and "<h1>Change password</h1>" in page.content.decode()
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)


def test_add_email_sends_verification(client, owner, maildog_mail):
    client.force_login(owner)
    page = client.get(reverse("account_email"))
    assert page.status_code == 200 and 'class="sidebar"' in page.content.decode()
    client.post(reverse("account_email"), {"action_add": "", "email": "second@example.com"})
    assert EmailAddress.objects.filter(user=owner, email="second@example.com", verified=False).exists()
    assert caught(maildog_mail, "Confirm your email").envelope_to == ["second@example.com"]


def test_deactivated_user_cannot_log_in(client):
    user = make_user("gone@example.com", is_active=False)
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code in (200, 302)
    assert client.get(reverse("inboxes:home")).status_code == 302


def test_confirming_in_a_fresh_browser_leads_to_sign_in_with_the_address_filled_in(client, maildog_mail):
    signup(client)
    confirm = link_in(caught(maildog_mail, "Confirm your email address"), "/accounts/confirm-email/")
    fresh = Client()  # another browser: no session from the sign-up
    page = fresh.get(confirm)
    assert page.status_code == 200 and "dev@example.com" in page.content.decode()
    response = fresh.post(confirm, follow=True)
    assert response.redirect_chain[-1][0] == reverse("account_login")
    html = response.content.decode()
    assert "You have confirmed dev@example.com" in html
    assert "Your email address is confirmed" in html and 'value="dev@example.com"' in html
    assert EmailAddress.objects.get(email="dev@example.com").verified
    response = fresh.post(reverse("account_login"), {"login": "dev@example.com", "password": PASSWORD}, follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == "/"
    # Only once: a reload of the sign-in page starts empty.
    assert 'value="dev@example.com"' not in Client().get(reverse("account_login")).content.decode()


def test_people_are_named_by_email_in_messages(client, maildog_mail):
    signup(client)
    user = get_user_model().objects.get(email="dev@example.com")
    assert user.username != user.email  # allauth makes one up; nobody chose it
    client.post(link_in(caught(maildog_mail, "Confirm"), "/accounts/confirm-email/"))
    client.post(reverse("account_logout"))
    response = client.post(reverse("account_login"), {"login": "dev@example.com", "password": PASSWORD}, follow=True)
    html = response.content.decode()
    assert "Successfully signed in as dev@example.com." in html
    assert f"as {user.username}." not in html


def test_one_vocabulary_sign_in_sign_up_sign_out(client, owner):
    pages = [reverse("account_login"), reverse("account_signup"), reverse("account_reset_password")]
    for url in pages:
        html = client.get(url).content.decode()
        for word in ("Log in", "Log out", "Login", "Sign In", "Sign Up", "Sign Out", "Remember Me"):
            assert word not in html, (url, word)
    login = client.get(reverse("account_login")).content.decode()
    assert "<h1>Sign in</h1>" in login and ">Sign up</a>" in login
    # "Remember me" sits beside its checkbox, in its label.
    assert re.search(r'<label class="choice"><input type="checkbox" name="remember"[^>]*> Remember me</label>', login)
    client.force_login(owner)
    for url in (reverse("accounts:teams"), reverse("account_logout")):
        html = client.get(url).content.decode()
        assert "Sign out" in html and "Log out" not in html and "Sign Out" not in html
