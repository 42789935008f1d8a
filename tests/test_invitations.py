"""Invitations: sent by email (through allauth's adapter, caught by Maildog), bound to the invited
address, expiring, declinable, used once, and their tokens never in the logs."""

import logging
import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership
from inboxes.models import Message
from maildog_site.logs import KeyValueFormatter

from .conftest import PASSWORD, free_port, make_user

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER


def team_url(name, team, *args):
    return reverse(f"accounts:{name}", args=[team.pk, *args])


def link(name, invitation):
    return reverse(f"accounts:{name}", args=[invitation.token])


def invite(client, team, email="new@example.com", role=MEMBER):
    return client.post(team_url("invitation_create", team), {"email": email, "role": role})


def invitation_for(team, owner, email, **fields):
    """An invitation as the team page creates it, without the email (for tests about answering it)."""
    return Invitation.objects.create(team=team, email=email, token=f"tok-{email}", invited_by=owner, **fields)


# --- sending ------------------------------------------------------------------


def test_invitation_email_is_sent_through_smtp_and_caught(client, owner, team, maildog_mail, settings):
    settings.MAILDOG_INVITATION_DAYS = 3
    client.force_login(owner)
    assert invite(client, team).status_code == 302
    invitation = Invitation.objects.get()
    assert timedelta(days=3) - timedelta(minutes=1) < invitation.expires_at - timezone.now() <= timedelta(days=3)
    message = Message.objects.get(inbox=maildog_mail)
    assert message.subject == "[Maildog] owner@example.com invited you to Acme QA"
    assert message.envelope_to == ["new@example.com"]
    assert "http://testserver" + link("invitation", invitation) in message.text_body
    assert f"works until {invitation.expires_at:%Y-%m-%d %H:%M:%S} UTC" in message.text_body
    raw = bytes(Message.objects.defer(None).get(pk=message.pk).raw)
    assert b"text/html" in raw and b"text/plain" in raw


def test_subject_prefix_comes_from_allauths_setting(client, owner, team, maildog_mail, settings):
    settings.ACCOUNT_EMAIL_SUBJECT_PREFIX = "(QA) "
    client.force_login(owner)
    invite(client, team)
    assert Message.objects.get(inbox=maildog_mail).subject == "(QA) owner@example.com invited you to Acme QA"


def test_unreachable_mail_server_keeps_no_invitation_and_says_so(client, owner, team, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    client.force_login(owner)
    response = invite(client, team)
    assert response.status_code == 302
    assert not Invitation.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "The invitation email could not be sent" in page
    assert any("could not be sent" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


def test_only_owners_invite_owners(client, team, owner, maildog_mail):
    admin = make_user("admin@example.com")
    Membership.objects.create(team=team, user=admin, role=ADMIN)
    client.force_login(admin)
    invite(client, team, role=OWNER)
    assert not Invitation.objects.exists()
    client.force_login(owner)
    invite(client, team, role=OWNER)
    assert Invitation.objects.get().role == OWNER


def test_member_and_outsider_cannot_invite_or_cancel(client, owner, member, outsider, team, maildog_mail):
    client.force_login(owner)
    invite(client, team)
    invitation = Invitation.objects.get()
    client.force_login(member)
    assert invite(client, team, email="x@example.com").status_code == 403
    assert client.post(team_url("invitation_cancel", team, invitation.pk)).status_code == 403
    client.force_login(outsider)
    assert invite(client, team, email="x@example.com").status_code == 404
    assert client.post(team_url("invitation_cancel", team, invitation.pk)).status_code == 404
    client.force_login(owner)
    assert client.post(team_url("invitation_cancel", team, invitation.pk)).status_code == 302
    assert not Invitation.objects.exists()
    assert client.get(link("invitation", invitation)).status_code == 404


# --- accepting: only the invited, verified address ---------------------------


def test_invited_address_accepts_once(client, owner, outsider, team):
    invitation = invitation_for(team, owner, "OUTSIDER@example.com", role=ADMIN)  # addresses compare case-blind
    client.force_login(outsider)
    page = client.get(link("invitation", invitation)).content.decode()
    assert "Accept and join as outsider@example.com" in page and "Decline" in page
    response = client.post(link("invitation_accept", invitation))
    assert response["Location"] == team_url("team", team)
    assert Membership.objects.get(team=team, user=outsider).role == ADMIN
    invitation.refresh_from_db()
    assert invitation.accepted_by == outsider and invitation.accepted_at
    # Used once only: the link now says so, and accepting again changes nothing.
    response = client.get(link("invitation", invitation))
    assert response.status_code == 410 and "already accepted" in response.content.decode()
    assert client.post(link("invitation_accept", invitation)).status_code == 410


def test_someone_else_sees_whom_it_is_for_and_cannot_use_it(client, owner, outsider, team):
    invitation = invitation_for(team, owner, "boss@example.com", role=ADMIN)
    client.force_login(outsider)
    response = client.get(link("invitation", invitation))
    page = response.content.decode()
    assert response.status_code == 403
    assert "This invitation is for another address" in page
    assert "boss@example.com" in page and "outsider@example.com" in page and "Accept" not in page
    assert client.post(link("invitation_accept", invitation)).status_code == 403
    assert client.post(link("invitation_decline", invitation)).status_code == 403
    assert not team.members.filter(pk=outsider.pk).exists()
    invitation.refresh_from_db()
    assert invitation.is_open


def test_an_unverified_address_is_not_enough(client, owner, outsider, team):
    EmailAddress.objects.create(user=outsider, email="second@example.com", verified=False)
    invitation = invitation_for(team, owner, "second@example.com")
    client.force_login(outsider)
    assert client.post(link("invitation_accept", invitation)).status_code == 403
    assert not team.members.filter(pk=outsider.pk).exists()
    # Once verified, the same account accepts.
    EmailAddress.objects.filter(email="second@example.com").update(verified=True)
    assert client.post(link("invitation_accept", invitation)).status_code == 302
    assert team.members.filter(pk=outsider.pk).exists()


def test_new_account_signs_up_then_is_led_back_to_the_invitation(client, owner, team, maildog_mail):
    client.force_login(owner)
    invite(client, team, email="fresh@example.com")
    invitation = Invitation.objects.get()
    client.logout()
    page = client.get(link("invitation", invitation)).content.decode()
    assert "Sign up" in page and "Sign in" in page and "fresh@example.com" in page
    # The sign-up page the invitation links to starts with the invited address.
    signup_urls = {url.replace("&amp;", "&") for url in re.findall(r'href="(/accounts/signup/[^"]*)"', page)}
    # The header's Sign up and the page's "Sign up as ..." are the same link: both bring the reader back.
    assert len(signup_urls) == 1 and "next=" in next(iter(signup_urls))
    assert set(re.findall(r'href="(/accounts/login/[^"]*)"', page)) == {
        reverse("account_login") + "?next=" + link("invitation", invitation)
    }
    signup_page = client.get(signup_urls.pop()).content.decode()
    assert 'value="fresh@example.com"' in signup_page
    client.post(reverse("account_signup"), {"email": "fresh@example.com", "password1": PASSWORD, "password2": PASSWORD})
    confirm = Message.objects.filter(inbox=maildog_mail, subject__contains="Confirm").get()
    client.post(re.search(r"https?://testserver(/accounts/confirm-email/\S+)", confirm.text_body).group(1))
    assert client.get(reverse("inboxes:home"))["Location"] == link("invitation", invitation)
    assert "Accept and join" in client.get(link("invitation", invitation)).content.decode()
    client.post(link("invitation_accept", invitation))
    assert team.members.filter(email="fresh@example.com").exists()
    assert client.get(reverse("inboxes:home")).status_code == 200


def test_signing_in_as_someone_else_does_not_trap_the_start_page(client, owner, outsider, team):
    invitation = invitation_for(team, owner, "boss@example.com")
    client.get(link("invitation", invitation))  # anonymous: kept in the session
    client.post(reverse("account_login"), {"login": "outsider@example.com", "password": PASSWORD})
    assert client.get(reverse("inboxes:home"))["Location"] == link("invitation", invitation)
    assert client.get(link("invitation", invitation)).status_code == 403
    assert client.get(reverse("inboxes:home")).status_code == 200


def test_accepting_needs_login_and_post(client, team, owner, outsider):
    invitation = invitation_for(team, owner, "outsider@example.com")
    assert client.post(link("invitation_accept", invitation)).status_code == 302
    client.force_login(outsider)
    assert client.get(link("invitation_accept", invitation)).status_code == 405
    assert client.get(link("invitation_decline", invitation)).status_code == 405
    assert client.post(link("invitation", invitation)).status_code == 405
    assert not team.members.filter(pk=outsider.pk).exists()
    invitation.refresh_from_db()
    assert invitation.is_open


# --- expiring and declining -------------------------------------------------------


def test_expired_invitation_cannot_be_accepted_or_declined(client, owner, outsider, team):
    invitation = invitation_for(team, owner, "outsider@example.com", expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(outsider)
    response = client.get(link("invitation", invitation))
    assert response.status_code == 410 and "This invitation has expired" in response.content.decode()
    assert client.post(link("invitation_accept", invitation)).status_code == 410
    assert client.post(link("invitation_decline", invitation)).status_code == 410
    assert not team.members.filter(pk=outsider.pk).exists()
    client.force_login(owner)
    assert "expired" in client.get(team_url("team", team)).content.decode()


def test_invitee_declines(client, owner, outsider, team):
    invitation = invitation_for(team, owner, "outsider@example.com")
    client.force_login(outsider)
    response = client.post(link("invitation_decline", invitation))
    assert response["Location"] == reverse("inboxes:home")
    invitation.refresh_from_db()
    assert invitation.declined_at and not invitation.accepted_at
    assert not team.members.filter(pk=outsider.pk).exists()
    response = client.get(link("invitation", invitation))
    assert response.status_code == 410 and "This invitation was declined" in response.content.decode()
    assert client.post(link("invitation_accept", invitation)).status_code == 410
    assert not team.members.filter(pk=outsider.pk).exists()
    client.force_login(owner)
    team_page = client.get(team_url("team", team)).content.decode()
    assert "declined" in team_page


def test_declining_from_the_emailed_link_needs_no_account(client, owner, team, maildog_mail):
    client.force_login(owner)
    invite(client, team, email="not-interested@example.com")
    invitation = Invitation.objects.get()
    client.logout()
    email = Message.objects.filter(inbox=maildog_mail, subject__contains="invit").get()
    page_url = re.search(r"https?://testserver(/invitations/\S+/)", email.text_body).group(1)
    page = client.get(page_url).content.decode()
    assert link("invitation_decline", invitation) in page and "Decline" in page
    response = client.post(link("invitation_decline", invitation), follow=True)
    assert "You declined the invitation to" in response.content.decode()
    assert "This invitation was declined" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.declined_at and not invitation.accepted_at
    assert client.post(link("invitation_decline", invitation)).status_code == 410
    assert get_user_model().objects.filter(email="not-interested@example.com").count() == 0


def test_unknown_token(client, outsider):
    client.force_login(outsider)
    response = client.get(reverse("accounts:invitation", args=["no-such-token"]))
    assert response.status_code == 404 and "This invitation link is not valid" in response.content.decode()
    assert client.post(reverse("accounts:invitation_accept", args=["no-such-token"])).status_code == 404


# --- tokens never logged ----------------------------------------------------------


def test_no_log_line_carries_an_invitation_token(client, owner, outsider, team, caplog):
    caplog.set_level(logging.INFO)
    expired = invitation_for(team, owner, "outsider@example.com", expires_at=timezone.now() - timedelta(days=1))
    someone_elses = invitation_for(team, owner, "boss@example.com")
    client.force_login(outsider)
    assert client.get(reverse("accounts:invitation", args=["secret-unknown-token"])).status_code == 404
    assert client.get(link("invitation", expired)).status_code == 410
    assert client.get(link("invitation", someone_elses)).status_code == 403
    assert client.get(link("invitation_accept", someone_elses)).status_code == 405
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.force_login(outsider)
    assert csrf_checked.post(link("invitation_accept", someone_elses)).status_code == 403

    lines = [KeyValueFormatter().format(record) for record in caplog.records]
    for token in ("secret-unknown-token", expired.token, someone_elses.token):
        assert not [line for line in lines if token in line]
    # The lines are still written, with the token redacted.
    redacted = [(r.name, r.getMessage()) for r in caplog.records if "/invitations/[redacted]/" in r.getMessage()]
    assert ("django.request", "Not Found: /invitations/[redacted]/") in redacted
    assert ("django.request", "Gone: /invitations/[redacted]/") in redacted
    assert ("django.request", "Forbidden: /invitations/[redacted]/") in redacted
    assert ("django.request", "Method Not Allowed (GET): /invitations/[redacted]/accept/") in redacted
    assert any(name == "django.security.csrf" for name, _ in redacted)
