"""API rate limits: past the configured rate, requests answer 429 with Retry-After."""

import pytest
from django.test import Client
from django.urls import reverse


@pytest.fixture(autouse=True)
def low_rate(settings):
    # Counting starts from zero in every test (conftest's fresh_rate_limits).
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "3/minute"},
    }


def test_requests_over_the_rate_answer_429(inbox, owner, api_key):
    client = Client(headers={"Authorization": f"Bearer {api_key(owner)}"})
    statuses = [client.get(reverse("api:inbox-list")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(reverse("api:inbox-detail", args=[inbox.pk]))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_waiting_counts_against_the_same_rate(inbox, owner, api_key):
    client = Client(headers={"Authorization": f"Bearer {api_key(owner)}"})
    for _ in range(3):
        assert client.get(reverse("api:inbox-list")).status_code == 200
    response = client.get(reverse("api:message-wait", args=[inbox.pk]) + "?timeout=0")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_rate_is_per_user(inbox, owner, member, api_key):
    owner_client = Client(headers={"Authorization": f"Bearer {api_key(owner)}"})
    member_client = Client(headers={"Authorization": f"Bearer {api_key(member)}"})
    for _ in range(3):
        assert owner_client.get(reverse("api:inbox-list")).status_code == 200
    assert owner_client.get(reverse("api:inbox-list")).status_code == 429
    assert member_client.get(reverse("api:inbox-list")).status_code == 200
