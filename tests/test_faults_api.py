"""Fault rules over the API and the pytest helper (`inbox.faults(...)`), against `manage.py serve`."""

import smtplib

import pytest
from django.core.mail import EmailMessage, get_connection
from django.test import Client

from faults.models import FaultRule, InjectedFault
from inboxes.models import Message
from maildog_client import MaildogClient, MaildogError

pytestmark = pytest.mark.django_db(transaction=True)


def send(server, inbox, to=("ann@example.com",), timeout=10):
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="localhost",
        port=server.starttls_port,
        username=inbox.smtp_username,
        password=inbox.smtp_password,
        use_tls=True,
        timeout=timeout,
    )
    return EmailMessage("Sign-up", "Welcome", "app@example.com", list(to), connection=connection).send()


@pytest.fixture
def client_for(maildog_server, api_key):
    def make(user, inbox=None):
        return MaildogClient(maildog_server.url, api_key(user, inbox))

    return make


def test_the_pytest_helper_refuses_inside_the_block_and_cleans_up(
    maildog_server, trust_test_ca, member, inbox, client_for
):
    watch = client_for(member, inbox).watch(inbox.pk)  # an inbox-scoped token, as CI holds
    with watch.faults(rcpt="550 5.1.1 No such user", count=1) as rules:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(maildog_server, inbox)
        assert refused.value.recipients == {"ann@example.com": (550, b"5.1.1 No such user")}
        assert send(maildog_server, inbox) == 1  # the count was one message
        assert [rule["remaining"] for rule in watch.client.fault_rules(inbox.pk)] == [0]
    assert rules[0]["stage"] == "rcpt"
    assert not FaultRule.objects.exists()
    assert watch.client.injected_faults(inbox.pk)[0]["description"].endswith(f"by fault rule '{rules[0]['name']}'")


def test_the_helper_sets_several_stages_and_a_delay(maildog_server, trust_test_ca, member, inbox, client_for):
    client = client_for(member)
    with client.faults(inbox.pk, data="451", delay=0.2, at="rcpt", name="slow-then-451") as rules:
        assert sorted(rule["name"] for rule in rules) == ["slow-then-451-data", "slow-then-451-rcpt"]
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(maildog_server, inbox)
        assert refused.value.smtp_code == 451
    assert not Message.objects.exists()
    assert InjectedFault.objects.count() == 2


def test_invalid_rules_are_refused_with_reasons(maildog_server, member, inbox, client_for):
    client = client_for(member)
    with pytest.raises(MaildogError) as error:
        client.add_fault_rule(inbox.pk, name="x", stage="rcpt", reply="299 fine")
    assert error.value.status == 400 and "reply" in error.value.detail
    with pytest.raises(MaildogError) as error:
        client.add_fault_rule(inbox.pk, name="x", stage="rcpt", disconnect=True)
    assert "disconnect" in error.value.detail
    with pytest.raises(MaildogError) as error:
        client.add_fault_rule(inbox.pk, name="x", stage="mail", reply="550", match_rcpt="*@x.test")
    assert "match_rcpt" in error.value.detail
    with pytest.raises(MaildogError) as error:
        client.add_fault_rule(inbox.pk, name="x", stage="rcpt", reply="550 No\r\n250 OK")
    assert "reply" in error.value.detail
    client.add_fault_rule(inbox.pk, name="x", stage="rcpt", reply="550")
    with pytest.raises(MaildogError) as error:
        client.add_fault_rule(inbox.pk, name="x", stage="rcpt", reply="451")
    assert "name" in error.value.detail


def api(client, key, method, path, **data):
    call = getattr(client, method)
    return call(path, data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_members_manage_fault_rules_and_outsiders_see_nothing(client, member, outsider, inbox, api_key):
    url = f"/api/v1/inboxes/{inbox.pk}/faults/"
    created = api(client, api_key(member), "post", url, name="r", stage="data", reply="554", remaining=2)
    assert created.status_code == 201, created.json()
    rule_url = f"{url}{created.json()['id']}/"
    assert created.json()["reply"] == "554 5.7.1 Transaction failed"
    assert api(client, api_key(outsider), "get", url).status_code == 404
    assert api(client, api_key(outsider), "post", url, name="o", stage="data", reply="554").status_code == 404
    assert api(client, api_key(outsider), "delete", rule_url).status_code == 404
    assert api(client, api_key(member), "put", rule_url).status_code == 405
    assert api(client, api_key(member), "get", rule_url).json()["remaining"] == 2
    assert api(client, api_key(member), "delete", rule_url).status_code == 204
    assert api(client, api_key(member), "get", rule_url).status_code == 404


def test_the_faults_tab_lists_rules_and_adds_one(member_client, outsider, inbox):
    outsider_client = Client()
    outsider_client.force_login(outsider)
    page = f"/inboxes/{inbox.pk}/faults/"
    response = member_client.post(
        page + "new/", {"name": "flaky-rcpt", "stage": "rcpt", "reply": "450", "delay": "0", "probability": "1"}
    )
    assert response.status_code == 302
    html = member_client.get(page).content.decode()
    assert "flaky-rcpt" in html and "450 4.2.1 Mailbox temporarily unavailable" in html
    again = member_client.post(
        page + "new/", {"name": "flaky-rcpt", "stage": "data", "reply": "554", "delay": "0", "probability": "1"}
    )
    assert again.status_code == 400 and "already has a fault rule with this name" in again.content.decode()
    invalid = member_client.post(
        page + "new/", {"name": "x", "stage": "auth", "reply": "", "delay": "0", "probability": "1"}
    )
    assert invalid.status_code == 400 and "Give a reply" in invalid.content.decode()
    assert outsider_client.get(page).status_code == 404
    assert member_client.post(page).status_code == 405
    rule = FaultRule.objects.get()
    assert outsider_client.post(f"{page}{rule.pk}/delete/").status_code == 404
    assert member_client.post(f"{page}{rule.pk}/delete/").status_code == 302
    assert not FaultRule.objects.exists()
