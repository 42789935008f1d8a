"""Teams: create, rename, members and roles, invitations by email."""

import re

import pytest
from django.urls import reverse

from accounts.models import Invitation, Membership, Team
from inboxes.models import Message

from .conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER


def team_url(name, team, *args):
    return reverse(f"accounts:{name}", args=[team.pk, *args])


def test_team_list_and_create(owner_client, owner, team):
    assert "Acme QA" in owner_client.get(reverse("accounts:teams")).content.decode()
    assert owner_client.get(reverse("accounts:team_create")).status_code == 200
    response = owner_client.post(reverse("accounts:team_create"), {"name": "Second"})
    created = Team.objects.get(name="Second")
    assert response["Location"] == team_url("team", created)
    assert Membership.objects.get(team=created).role == OWNER and created.members.get() == owner


def test_team_page_for_owner_and_member(client, owner, member, team, inbox):
    client.force_login(owner)
    body = client.get(team_url("team", team)).content.decode()
    assert "member@example.com" in body and "Staging" in body and "Send invitation" in body
    client.force_login(member)
    body = client.get(team_url("team", team)).content.decode()
    assert "member@example.com" in body and "Staging" in body
    assert "Send invitation" not in body and "Remove" not in body


def test_rename(owner_client, team):
    assert owner_client.get(team_url("team_rename", team)).status_code == 200
    assert owner_client.post(team_url("team_rename", team), {"name": "Renamed"}).status_code == 302
    team.refresh_from_db()
    assert team.name == "Renamed"


def test_member_cannot_rename_outsider_gets_404_anonymous_to_login(client, member, outsider, team):
    client.force_login(member)
    assert client.post(team_url("team_rename", team), {"name": "x"}).status_code == 403
    client.force_login(outsider)
    assert client.get(team_url("team", team)).status_code == 404
    assert client.post(team_url("team_rename", team), {"name": "x"}).status_code == 404
    client.logout()
    assert client.get(team_url("team", team)).status_code == 302
    assert client.get(reverse("accounts:teams")).status_code == 302
    team.refresh_from_db()
    assert team.name == "Acme QA"


def test_wrong_methods(owner_client, owner, team, member):
    membership = Membership.objects.get(user=member)
    assert owner_client.post(team_url("team", team)).status_code == 405
    assert owner_client.post(reverse("accounts:teams")).status_code == 405
    assert owner_client.get(team_url("member_role", team, membership.pk)).status_code == 405
    assert owner_client.get(team_url("member_remove", team, membership.pk)).status_code == 405
    assert owner_client.get(team_url("invitation_create", team)).status_code == 405


# --- roles and removal ----------------------------------------------------------


def test_owner_changes_roles_and_removes_members(owner_client, team, member):
    membership = Membership.objects.get(user=member)
    owner_client.post(team_url("member_role", team, membership.pk), {"role": ADMIN})
    membership.refresh_from_db()
    assert membership.role == ADMIN
    owner_client.post(team_url("member_remove", team, membership.pk))
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_admin_manages_members_but_not_owners(client, team, owner, member):
    admin = make_user("admin@example.com")
    Membership.objects.create(team=team, user=admin, role=ADMIN)
    client.force_login(admin)
    target = Membership.objects.get(user=member)
    assert client.post(team_url("member_role", team, target.pk), {"role": ADMIN}).status_code == 302
    assert client.post(team_url("member_role", team, target.pk), {"role": OWNER}).status_code == 403
    owner_membership = Membership.objects.get(user=owner)
    assert client.post(team_url("member_role", team, owner_membership.pk), {"role": MEMBER}).status_code == 403
    assert client.post(team_url("member_remove", team, owner_membership.pk)).status_code == 403
    owner_membership.refresh_from_db()
    assert owner_membership.role == OWNER


def test_last_owner_stays(owner_client, owner, team):
    mine = Membership.objects.get(user=owner)
    owner_client.post(team_url("member_role", team, mine.pk), {"role": MEMBER})
    owner_client.post(team_url("member_remove", team, mine.pk))
    mine.refresh_from_db()
    assert mine.role == OWNER


def test_member_cannot_manage_and_outsider_gets_404(client, team, owner, member, outsider):
    target = Membership.objects.get(user=owner)
    client.force_login(member)
    assert client.post(team_url("member_role", team, target.pk), {"role": MEMBER}).status_code == 403
    assert client.post(team_url("member_remove", team, target.pk)).status_code == 403
    client.force_login(outsider)
    assert client.post(team_url("member_role", team, target.pk), {"role": MEMBER}).status_code == 404
    assert client.post(team_url("member_remove", team, target.pk)).status_code == 404
    # A membership of another team through this team's URL: 404 as well.
    other = Membership.objects.get(user=outsider)
    client.force_login(owner)
    assert client.post(team_url("member_remove", team, other.pk)).status_code == 404
    assert Membership.objects.count() == 3


# --- invitations ---------------------------------------------------------------


def invite(client, team, email="new@example.com", role=MEMBER):
    return client.post(team_url("invitation_create", team), {"email": email, "role": role})


def test_invitation_email_is_sent_through_smtp_and_caught(client, owner, team, maildog_mail):
    client.force_login(owner)
    assert invite(client, team).status_code == 302
    invitation = Invitation.objects.get()
    message = Message.objects.get(inbox=maildog_mail)
    assert message.subject == "[Maildog] owner@example.com invited you to Acme QA"
    assert message.envelope_to == ["new@example.com"]
    accept_url = "http://testserver" + reverse("accounts:invitation", args=[invitation.token])
    assert accept_url in message.text_body
    raw = bytes(Message.objects.defer(None).get(pk=message.pk).raw)
    assert b"text/html" in raw and b"text/plain" in raw


def test_existing_account_accepts(client, owner, outsider, team, maildog_mail):
    client.force_login(owner)
    invite(client, team, email=outsider.email, role=ADMIN)
    invitation = Invitation.objects.get()
    client.force_login(outsider)
    page = client.get(reverse("accounts:invitation", args=[invitation.token]))
    assert "Accept and join" in page.content.decode()
    response = client.post(reverse("accounts:invitation_accept", args=[invitation.token]))
    assert response["Location"] == team_url("team", team)
    assert Membership.objects.get(team=team, user=outsider).role == ADMIN
    invitation.refresh_from_db()
    assert invitation.accepted_by == outsider and invitation.accepted_at
    # Used once only.
    assert client.get(reverse("accounts:invitation", args=[invitation.token])).status_code == 404


def test_new_account_signs_up_then_is_led_back_to_the_invitation(client, owner, team, maildog_mail, settings):
    client.force_login(owner)
    invite(client, team, email="fresh@example.com")
    invitation = Invitation.objects.get()
    client.logout()
    page = client.get(reverse("accounts:invitation", args=[invitation.token])).content.decode()
    assert "Sign up" in page and "Log in" in page
    client.post(reverse("account_signup"), {"email": "fresh@example.com", "password1": PASSWORD, "password2": PASSWORD})
    confirm = Message.objects.filter(inbox=maildog_mail, subject__contains="Confirm").get()
    link = re.search(r"https?://testserver(/accounts/confirm-email/\S+)", confirm.text_body).group(1)
    client.post(link)
    home = client.get(reverse("inboxes:home"))
    assert home["Location"] == reverse("accounts:invitation", args=[invitation.token])
    client.post(reverse("accounts:invitation_accept", args=[invitation.token]))
    assert team.members.filter(email="fresh@example.com").exists()
    assert client.get(reverse("inboxes:home")).status_code == 200


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


def test_accepting_needs_login_and_post(client, team, owner, outsider):
    invitation = Invitation.objects.create(team=team, email="x@example.com", token="tok" * 5, invited_by=owner)
    assert client.post(reverse("accounts:invitation_accept", args=[invitation.token])).status_code == 302
    client.force_login(outsider)
    assert client.get(reverse("accounts:invitation_accept", args=[invitation.token])).status_code == 405
    assert client.post(reverse("accounts:invitation", args=[invitation.token])).status_code == 405
    assert not team.members.filter(pk=outsider.pk).exists()
