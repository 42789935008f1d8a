"""One way of writing dates and times, "2026-11-25 20:05:03": maildog_site/formats and the maildog_time filters."""

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation

from .conftest import store_message

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 11, 25, 20, 5, 3, tzinfo=dt_timezone.utc)


def render(source, **context):
    return Template("{% load maildog_time %}" + source).render(Context(context))


def test_filters_write_the_one_format(settings):
    assert render("{{ t|when }}", t=MOMENT) == "2026-11-25 20:05:03"
    assert render("{{ t|when_zoned }}", t=MOMENT) == "2026-11-25 20:05:03 UTC"
    assert render("{{ t|when }}|{{ t|when_zoned }}|{{ t|ago }}|{{ t|when_iso }}", t=None) == "|||"
    # <time datetime="..."> in the list: what |date:'c' gives.
    assert render("{{ t|when_iso }}", t=MOMENT) == render("{{ t|date:'c' }}", t=MOMENT) == "2026-11-25T20:05:03+00:00"
    # In the configured time zone, named where the reader may be elsewhere.
    settings.TIME_ZONE = "Europe/Berlin"
    with timezone.override("Europe/Berlin"):
        assert render("{{ t|when }}", t=MOMENT) == "2026-11-25 21:05:03"
        assert render("{{ t|when_zoned }}", t=MOMENT) == "2026-11-25 21:05:03 CET"
        assert render("{{ t|when_iso }}", t=MOMENT) == "2026-11-25T21:05:03+01:00"


def test_unformatted_dates_and_times_use_it_too():
    """Pages that print a datetime as it is ({{ message.received_at }}) and the admin read the same formats."""
    assert Template("{{ t }}|{{ t|date }}|{{ t|time }}").render(Context({"t": MOMENT})) == (
        "2026-11-25 20:05:03|2026-11-25|20:05:03"
    )


def test_ago_says_just_now_under_a_minute():
    now = timezone.now()
    assert render("{{ t|ago }}", t=now) == "just now"
    assert render("{{ t|ago }}", t=now - timedelta(seconds=59)) == "just now"
    assert render("{{ t|ago }}", t=now + timedelta(seconds=5)) == "just now"  # a clock a little ahead
    assert render("{{ t|ago }}", t=now - timedelta(minutes=5, seconds=3)) == "5\xa0minutes ago"


def test_team_page_pending_invitation_sent_just_now(owner_client, owner, team):
    Invitation.objects.create(team=team, email="new@example.com", token="t" * 20, invited_by=owner)
    page = owner_client.get(reverse("accounts:team", args=[team.pk])).content.decode()
    assert "sent just now" in page and "0\xa0minutes" not in page and "0 minutes" not in page


def test_message_page_and_admin_show_received_in_the_one_format(client, owner_client, owner, inbox):
    message = store_message(inbox, b"Subject: When\r\n\r\nx\r\n")
    expected = timezone.localtime(message.received_at).strftime("%Y-%m-%d %H:%M:%S")
    page = owner_client.get(reverse("inboxes:message", args=[inbox.pk, message.pk])).content.decode()
    assert expected in page
    assert not re.search(r"\d{1,2}:\d{2} [ap]\.m\.", page)
    owner.is_staff = owner.is_superuser = True
    owner.save()
    admin = owner_client.get(reverse("admin:inboxes_message_changelist")).content.decode()
    assert expected in admin
