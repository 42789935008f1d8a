"""check_message(): the checks on a stored message, saved with it and pushed to open pages."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from deliverability.service import check_message, close_check_queue, schedule_check
from inboxes.events import inbox_group
from inboxes.ingest import SessionFacts
from inboxes.models import Message
from tests.authzones import GOOD_IP, OTHER_IP, message_bytes, sign

from .conftest import ingest


def store(inbox, raw, *, mail_from="orders@shop.test", client_ip=GOOD_IP, helo="mail.shop.test"):
    facts = SessionFacts(mail_from=mail_from, rcpt_tos=["customer@example.net"], client_ip=client_ip, helo=helo)
    return ingest(inbox.pk, raw, facts)


def test_signed_message_from_an_authorised_ip_would_pass(inbox, auth_zones):
    message = store(inbox, sign(message_bytes("Shop <orders@shop.test>"), auth_zones["rsa"], "shop.test"))

    check_message(message.pk)

    message = Message.objects.get(pk=message.pk)
    assert message.deliverability_verdict == "pass"
    assert message.deliverability_checked_at is not None
    results = message.deliverability_results
    assert results["headline"] == "Would pass: DMARC passes for shop.test through aligned DKIM and SPF."
    assert results["dkim"][0]["result"] == "pass"
    assert results["spf"]["result"] == "pass"
    assert results["dmarc"]["result"] == "pass"
    b_prefix = results["dkim"][0]["b_prefix"]
    # A base64 prefix with "/" is not an RFC 8601 token, so it is quoted.
    header_b = f'"{b_prefix}"' if "/" in b_prefix else b_prefix
    assert results["authentication_results"] == (
        "Authentication-Results: localhost;\r\n"
        f"\tdkim=pass header.d=shop.test header.s=rsa header.a=rsa-sha256 header.b={header_b};\r\n"
        f"\tspf=pass (client-ip {GOOD_IP}) smtp.mailfrom=shop.test;\r\n"
        "\tdmarc=pass (p=reject dis=none) header.from=shop.test"
    )


def test_misaligned_message_would_fail_with_the_fix_to_try(inbox, auth_zones):
    raw = sign(message_bytes("orders@shop.test"), auth_zones["ed"], "vendor.test")
    message = store(inbox, raw, mail_from="bounce@vendor.test")

    check_message(message.pk)

    message.refresh_from_db()
    assert message.deliverability_verdict == "fail"
    results = message.deliverability_results
    assert results["headline"].startswith("Would fail DMARC for shop.test: DKIM passed for vendor.test")
    assert results["headline"].endswith("receivers would reject it.")
    assert (
        "DKIM passes for vendor.test, not shop.test: sign with d=shop.test (or a subdomain of it) "
        "so it aligns with From." in results["fixes"]
    )
    assert "dmarc=fail (p=reject dis=reject) header.from=shop.test" in results["authentication_results"]


def test_unsigned_message_from_a_foreign_ip_lists_fixes(inbox, auth_zones):
    message = store(inbox, message_bytes("news@soft.test"), mail_from="news@soft.test", client_ip=OTHER_IP)

    check_message(message.pk)

    message.refresh_from_db()
    assert message.deliverability_verdict == "fail"
    fixes = message.deliverability_results["fixes"]
    assert fixes[0].startswith("Sign outgoing mail with DKIM using d=soft.test")
    assert f"Authorise the sending IP {OTHER_IP} in the SPF record of soft.test" in fixes[1]
    assert "dkim=none" in message.deliverability_results["authentication_results"]
    assert "spf=softfail" in message.deliverability_results["authentication_results"]


def test_nothing_to_check_is_none(inbox, auth_zones):
    message = store(inbox, message_bytes("someone@unknown.test"), mail_from="someone@unknown.test")

    check_message(message.pk)

    message.refresh_from_db()
    assert message.deliverability_verdict == "none"
    assert message.deliverability_results["headline"].startswith("Not authenticated")


def test_dns_unreachable_gives_temperror_and_leaves_the_message_alone(inbox, auth_zones, settings, unused_udp_port):
    raw = sign(message_bytes("orders@shop.test"), auth_zones["rsa"], "shop.test")
    message = store(inbox, raw)
    settings.MAILDOG_DNS_NAMESERVERS = [f"127.0.0.1:{unused_udp_port}"]
    settings.MAILDOG_DNS_TIMEOUT = 1.0  # a refused nameserver costs the whole timeout
    before = Message.objects.defer(None).filter(pk=message.pk).values().get()

    check_message(message.pk)

    after = Message.objects.defer(None).filter(pk=message.pk).values().get()
    assert after["deliverability_verdict"] == "temperror"
    assert after["deliverability_results"]["headline"].startswith("Could not be checked")
    assert after["deliverability_results"]["fixes"][0].startswith("DNS did not answer")
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {"deliverability_verdict", "deliverability_results", "deliverability_checked_at"}


def test_rerun_with_fresh_answers_sees_a_fixed_record(inbox, loopback_dns):
    message = store(inbox, message_bytes("a@late.test"), mail_from="a@late.test")
    check_message(message.pk)
    message.refresh_from_db()
    assert message.deliverability_results["spf"]["result"] == "none"
    loopback_dns.add_txt("late.test", f"v=spf1 ip4:{GOOD_IP} -all")

    check_message(message.pk, fresh=True)

    message.refresh_from_db()
    assert message.deliverability_results["spf"]["result"] == "pass"


def test_deleted_message_is_skipped(inbox, auth_zones):
    message = store(inbox, message_bytes("orders@shop.test"))
    Message.objects.filter(pk=message.pk).delete()

    assert check_message(message.pk) is None


def test_results_are_pushed_to_the_inbox_group_after_commit(inbox, auth_zones, django_capture_on_commit_callbacks):
    message = store(inbox, message_bytes("orders@shop.test"))
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(inbox_group(inbox.pk), channel)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        check_message(message.pk)

    assert len(callbacks) == 1
    event = async_to_sync(asyncio.wait_for)(layer.receive(channel), 5)

    report = event.pop("report")
    assert event == {"type": "message.checked", "message_id": message.pk, "verdict": "pass"}
    # The message report is made in the same step and announced by the same event (the reports app).
    assert report["status"] == "complete" and set(report) == {"status", "errors", "warnings", "notes"}


@pytest.mark.parametrize("enabled", [True, False])
async def test_schedule_check_follows_the_setting(transactional_db, settings, enabled):
    settings.MAILDOG_AUTH_CHECKS = enabled
    task = schedule_check(0)  # no such message: the task ends without touching anything
    if enabled:
        await task
        assert task.done() and task.exception() is None
        await close_check_queue(timeout=5)
    else:
        assert task is None


async def test_checks_left_unfinished_are_resumed_at_the_next_start(transactional_db, inbox):
    """A process stopped with checks queued: the next smtp start checks those messages."""
    from asgiref.sync import sync_to_async

    from deliverability.service import resume_checks
    from inboxes.ingest import SessionFacts

    raw = b"From: app@example.com\r\nSubject: never checked\r\n\r\nhi\r\n"
    stored = [
        await sync_to_async(ingest)(inbox.pk, raw, SessionFacts(mail_from="app@example.com", client_ip="127.0.0.1"))
        for _ in range(3)
    ]
    assert await resume_checks() == 3
    await close_check_queue(timeout=30)
    verdicts = await sync_to_async(list)(
        Message.objects.filter(pk__in=[m.pk for m in stored]).values_list("deliverability_verdict", flat=True)
    )
    assert len(verdicts) == 3 and all(verdicts)
    assert await resume_checks() == 0
    await close_check_queue(timeout=5)


def test_partial_pct_is_mentioned_in_the_headline(inbox, loopback_dns):
    loopback_dns.add_txt("_dmarc.half.test", "v=DMARC1; p=reject; pct=50")
    message = store(inbox, message_bytes("a@half.test"), mail_from="a@half.test")

    check_message(message.pk)

    message.refresh_from_db()
    assert message.deliverability_results["dmarc"]["pct"] == 50
    assert message.deliverability_results["headline"].endswith(
        "receivers would reject it (pct=50: for that share of failing mail; the rest one step milder)."
    )


def test_a_batch_evaluates_spf_and_finds_dmarc_once_per_sender_and_each_message_keeps_its_own(
    inbox, auth_zones, monkeypatch
):
    """A burst from one application shares its SPF result and DMARC policy; other senders get theirs."""
    from deliverability import dmarc, service, spf

    calls = {"spf": 0, "dmarc": 0}
    evaluate, find = spf.check_spf, dmarc.find_policy

    def counted_spf(*args):
        calls["spf"] += 1
        return evaluate(*args)

    def counted_policy(*args):
        calls["dmarc"] += 1
        return find(*args)

    monkeypatch.setattr(spf, "check_spf", counted_spf)
    monkeypatch.setattr(dmarc, "find_policy", counted_policy)
    signed = [store(inbox, sign(message_bytes("orders@shop.test"), auth_zones["rsa"], "shop.test")) for _ in range(3)]
    unsigned = store(inbox, message_bytes("orders@shop.test"))  # same sender, no signature
    foreign = store(inbox, message_bytes("news@soft.test"), mail_from="news@soft.test", client_ip=OTHER_IP)

    checked = service.check_messages([m.pk for m in [*signed, unsigned, foreign]])

    assert len(checked) == 5
    assert calls == {"spf": 2, "dmarc": 2}
    verdicts = {m.pk: m.deliverability_results for m in Message.objects.filter(inbox=inbox)}
    for message in signed:
        assert verdicts[message.pk]["dkim"][0]["result"] == "pass"
        assert verdicts[message.pk]["spf"]["result"] == "pass"
    assert verdicts[unsigned.pk]["dkim"] == [] and verdicts[unsigned.pk]["spf"]["result"] == "pass"
    assert verdicts[unsigned.pk]["dmarc"]["result"] == "pass"  # aligned SPF
    assert verdicts[foreign.pk]["spf"]["result"] == "softfail" and verdicts[foreign.pk]["verdict"] == "fail"
    # One message's results are not the same object as another's (a change to one stays in it).
    results = [m.deliverability_results for m in checked]
    assert len({id(r["spf"]) for r in results}) == 5
