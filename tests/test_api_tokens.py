"""API token pages: create (key shown once, stored hashed), list, revoke; inbox-scoped tokens."""

import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse

from api.models import ApiToken
from inboxes.models import Inbox


@pytest.fixture
def logged_in(member):
    client = Client()
    client.force_login(member)
    return client


def created_key(response):
    return re.search(r'id="api-token-key">([^<]+)<', response.content.decode()).group(1)


def test_create_shows_the_key_once_and_stores_its_hash(logged_in, member, inbox):
    response = logged_in.post(reverse("api_tokens:create"), {"name": "GitHub Actions"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = created_key(response)
    token = ApiToken.objects.get(user=member)
    assert token.name == "GitHub Actions" and token.inbox is None
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(token.prefix) and len(key) > 40

    listing = logged_in.get(reverse("api_tokens:list")).content.decode()
    assert "GitHub Actions" in listing and token.prefix in listing
    assert key not in listing

    api = Client(headers={"Authorization": f"Bearer {key}"})
    assert [item["id"] for item in api.get(reverse("api:inbox-list")).json()] == [inbox.pk]


def test_inbox_scoped_token_reads_only_its_inbox(logged_in, member, team, inbox):
    other = Inbox.objects.create(team=team, name="Other")
    response = logged_in.post(reverse("api_tokens:create"), {"name": "CI", "inbox": inbox.pk})
    key = created_key(response)
    assert ApiToken.objects.get(user=member).inbox == inbox
    assert "can read the inbox Acme QA / Staging" in response.content.decode()
    api = Client(headers={"Authorization": f"Bearer {key}"})
    assert api.get(reverse("api:inbox-detail", args=[inbox.pk])).status_code == 200
    assert api.get(reverse("api:inbox-detail", args=[other.pk])).status_code == 404
    assert api.delete(reverse("api:message-list", args=[inbox.pk])).status_code == 403


def test_cannot_scope_a_token_to_another_teams_inbox(logged_in, member):
    from accounts.models import Team

    foreign = Inbox.objects.create(team=Team.objects.create(name="Foreign"), name="Theirs")
    response = logged_in.post(reverse("api_tokens:create"), {"name": "sneaky", "inbox": foreign.pk})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_form_offers_only_the_users_inboxes(logged_in, inbox):
    from accounts.models import Team

    Inbox.objects.create(team=Team.objects.create(name="Foreign"), name="Theirs")
    page = logged_in.get(reverse("api_tokens:list")).content.decode()
    assert "Acme QA / Staging" in page and "Theirs" not in page


def test_revoke_stops_the_key(logged_in, member, inbox):
    key = created_key(logged_in.post(reverse("api_tokens:create"), {"name": "temp"}))
    token = ApiToken.objects.get(user=member)
    response = logged_in.post(reverse("api_tokens:revoke", args=[token.pk]))
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    api = Client(headers={"Authorization": f"Bearer {key}"})
    assert api.get(reverse("api:inbox-list")).status_code == 401


def test_cannot_revoke_someone_elses_token(logged_in, owner, api_key):
    api_key(owner)
    token = ApiToken.objects.get(user=owner)
    assert logged_in.post(reverse("api_tokens:revoke", args=[token.pk])).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_pages_need_login(db):
    response = Client().get(reverse("api_tokens:list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().post(reverse("api_tokens:create"), {"name": "x"}).status_code == 302
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("method, name, args", [("get", "create", []), ("get", "revoke", [1]), ("post", "list", [])])
def test_wrong_method_answers_405(logged_in, method, name, args):
    assert getattr(logged_in, method)(reverse(f"api_tokens:{name}", args=args)).status_code == 405


# --- In a real browser, against a live Maildog ----------------------------------


@pytest.mark.django_db(transaction=True)
def test_create_use_and_revoke_a_token_in_the_browser(maildog_server, page, member, inbox):
    from playwright.sync_api import expect

    from maildog_client import MaildogClient, MaildogError

    session = Client()
    session.force_login(member)
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": maildog_server.url}]
    )

    page.goto(maildog_server.url + "/accounts/api-tokens/")
    expect(page.locator("h1")).to_have_text("API tokens")
    page.fill("input[name=name]", "Nightly e2e")
    page.select_option("select[name=inbox]", label="Acme QA / Staging")
    page.click("form.new-api-token button[type=submit]")
    expect(page.locator("h1")).to_have_text("Token “Nightly e2e” created")
    key = page.text_content("#api-token-key").strip()

    client = MaildogClient(maildog_server.url, key)
    assert [item["id"] for item in client.inboxes()] == [inbox.pk]

    page.click("text=Back to API tokens")
    row = page.locator("tr", has_text="Nightly e2e")
    expect(row).to_contain_text("Read only: Acme QA / Staging")
    expect(row).to_contain_text(key[:12])
    assert key not in page.content()
    row.locator("button", has_text="Revoke").click()
    expect(page.locator("main")).to_contain_text("Token “Nightly e2e” revoked.")
    expect(page.locator("tr", has_text="Nightly e2e")).to_have_count(0)
    with pytest.raises(MaildogError) as refused:
        client.inboxes()
    assert refused.value.status == 401
