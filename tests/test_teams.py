"""Teams: create, rename, members and roles, leaving, the one-owner rule under concurrency.

Invitations are in test_invitations.py."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Team

from .conftest import make_user

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
    assert owner_client.get(team_url("team_leave", team)).status_code == 405


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


def member_row(body, email):
    """The HTML of one row of the members table."""
    start = body.index(f'data-member="{email}"')
    return body[start : body.index("</tr>", start)]


def test_sole_owner_is_offered_no_action_that_would_be_refused(owner_client, team, owner, member):
    body = owner_client.get(team_url("team", team)).content.decode()
    mine = member_row(body, "owner@example.com")
    assert "Remove" not in mine and "<select" not in mine and "Owner" in mine
    assert "Leave this team" not in body and "only owner" in body
    # Others can still be managed, to any role including owner.
    theirs = member_row(body, "member@example.com")
    assert "Remove" in theirs and 'value="owner"' in theirs and 'value="admin"' in theirs

    # With a second owner both owners may be demoted, removed or leave.
    Membership.objects.filter(user=member).update(role=OWNER)
    body = owner_client.get(team_url("team", team)).content.decode()
    assert "<select" in member_row(body, "owner@example.com") and "Leave this team" in body
    assert "Remove" in member_row(body, "member@example.com")


def test_admin_is_offered_only_what_admins_may_do(client, team, owner, member):
    admin = make_user("admin@example.com")
    Membership.objects.create(team=team, user=admin, role=ADMIN)
    client.force_login(admin)
    body = client.get(team_url("team", team)).content.decode()
    owner_row = member_row(body, "owner@example.com")
    assert "Remove" not in owner_row and "<select" not in owner_row
    member_html = member_row(body, "member@example.com")
    assert "Remove" in member_html and 'value="admin"' in member_html and 'value="owner"' not in member_html
    assert "Leave this team" in body


# --- leaving ---------------------------------------------------------------------


def test_member_leaves_last_owner_cannot(client, team, owner, member, outsider):
    client.force_login(member)
    assert "Leave this team" in client.get(team_url("team", team)).content.decode()
    assert client.post(team_url("team_leave", team))["Location"] == reverse("inboxes:home")
    assert not team.members.filter(pk=member.pk).exists()
    client.force_login(owner)
    client.post(team_url("team_leave", team))
    assert Membership.objects.get(team=team, user=owner).role == OWNER
    assert "A team needs at least one owner" in client.get(team_url("team", team)).content.decode()
    client.force_login(outsider)
    assert client.post(team_url("team_leave", team)).status_code == 404


def test_an_owner_leaves_when_another_owner_stays(client, team, owner):
    second = make_user("second@example.com")
    Membership.objects.create(team=team, user=second, role=OWNER)
    client.force_login(owner)
    client.post(team_url("team_leave", team))
    assert list(team.members.all()) == [second]


# --- the one "manages" rule --------------------------------------------------------


def test_manages_is_can_manage_as_a_query(team, owner, member, outsider):
    admin = make_user("admin@example.com")
    Membership.objects.create(team=team, user=admin, role=ADMIN)
    for membership in Membership.objects.filter(team=team):
        assert Membership.manages(membership.user, team.pk) is membership.can_manage
    assert set(Membership.objects.managers().filter(team=team).values_list("user__email", flat=True)) == {
        "owner@example.com",
        "admin@example.com",
    }
    assert not Membership.manages(outsider, team.pk) and not Membership.manages(member, team.pk)
    from django.contrib.auth.models import AnonymousUser

    assert not Membership.manages(AnonymousUser(), team.pk)


# --- one owner, under concurrency ---------------------------------------------------


def race(monkeypatch, method, requests):
    """Run `requests` (client, url, data) in two threads that both reach `Membership.<method>`.

    Without a lock both threads read "two owners" and then both write: the
    barrier lets them through together. With the owner rows locked, the second
    thread waits for the first one's commit before it reads, never reaches the
    barrier, and the first one goes on when the barrier times out.
    """
    barrier = threading.Barrier(len(requests), timeout=1.5)
    original = getattr(Membership, method)

    def at_the_same_time(self, *args, **kwargs):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Membership, method, at_the_same_time)
    statuses = []

    def send(client, url, data):
        try:
            statuses.append(client.post(url, data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


def two_owners(team):
    first, second = make_user("first@example.com"), make_user("second@example.com")
    a = Membership.objects.create(team=team, user=first, role=OWNER)
    b = Membership.objects.create(team=team, user=second, role=OWNER)
    clients = []
    for user in (first, second):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return a, b, clients


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_keep_one_owner(monkeypatch):
    team = Team.objects.create(name="Race")
    a, b, (client_a, client_b) = two_owners(team)
    statuses = race(
        monkeypatch,
        "save",
        [
            (client_a, team_url("member_role", team, b.pk), {"role": MEMBER}),
            (client_b, team_url("member_role", team, a.pk), {"role": MEMBER}),
        ],
    )
    assert len(statuses) == 2 and all(status in (302, 403) for status in statuses)
    assert Membership.objects.filter(team=team, role=OWNER).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_owners_leaving_at_once_keep_one_owner(monkeypatch):
    team = Team.objects.create(name="Race")
    a, b, (client_a, client_b) = two_owners(team)
    statuses = race(
        monkeypatch,
        "delete",
        [(client_a, team_url("team_leave", team), {}), (client_b, team_url("team_leave", team), {})],
    )
    assert statuses == [302, 302]
    assert Membership.objects.filter(team=team, role=OWNER).count() == 1
