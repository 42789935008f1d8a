"""The Webhooks tab of an inbox: its webhooks, each with its delivery log, a test event and its switch.

Any member of the team manages the inbox's webhooks (as its fault rules):
the access policy's `get_inbox`, 404 outside the team. One view per action.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from inboxes.access import can_manage, get_inbox

from .deliveries import deliver, queue_test
from .forms import WebhookForm
from .models import Webhook

LOG_SIZE = 50


def _webhook(request, inbox_id, webhook_id) -> Webhook:
    inbox = get_inbox(request.user, inbox_id)
    webhook = get_object_or_404(Webhook, inbox=inbox, pk=webhook_id)
    webhook.inbox = inbox
    return webhook


def _list_page(request, inbox, form, status=200):
    context = {
        "inbox": inbox,
        "tab": "webhooks",
        "can_manage": can_manage(request.user, inbox.team_id),
        "webhooks": inbox.webhooks.all(),
        "form": form,
    }
    return render(request, "webhooks/webhooks.html", context, status=status)


@login_required
@require_GET
def webhook_list(request, inbox_id):
    inbox = get_inbox(request.user, inbox_id)
    return _list_page(request, inbox, WebhookForm())


@login_required
@require_POST
def webhook_create(request, inbox_id):
    inbox = get_inbox(request.user, inbox_id)
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return _list_page(request, inbox, form, status=400)
    webhook = form.save(commit=False)
    webhook.inbox = inbox
    webhook.created_by = request.user
    webhook.save()
    messages.success(request, "Webhook added. Verify its requests with the secret below.")
    return redirect("webhooks:detail", inbox.pk, webhook.pk)


@login_required
@require_GET
def webhook_detail(request, inbox_id, webhook_id):
    webhook = _webhook(request, inbox_id, webhook_id)
    context = {
        "inbox": webhook.inbox,
        "tab": "webhooks",
        "can_manage": can_manage(request.user, webhook.inbox.team_id),
        "webhook": webhook,
        "deliveries": webhook.deliveries.order_by("-id")[:LOG_SIZE],
    }
    return render(request, "webhooks/webhook.html", context)


@login_required
@require_POST
def webhook_test(request, inbox_id, webhook_id):
    """One test event, sent now; its outcome is the newest line of the log."""
    webhook = _webhook(request, inbox_id, webhook_id)
    delivery = deliver(queue_test(webhook))
    if delivery.state == delivery.State.DELIVERED:
        messages.success(request, f"Test event delivered ({delivery.outcome}, {delivery.latency_ms} ms).")
    else:
        messages.error(request, f"Test event failed: {delivery.outcome}.")
    return redirect("webhooks:detail", webhook.inbox_id, webhook.pk)


@login_required
@require_POST
def webhook_enable(request, inbox_id, webhook_id):
    webhook = _webhook(request, inbox_id, webhook_id)
    webhook.set_enabled(True)
    messages.success(request, "Webhook enabled.")
    return redirect("webhooks:detail", webhook.inbox_id, webhook.pk)


@login_required
@require_POST
def webhook_disable(request, inbox_id, webhook_id):
    webhook = _webhook(request, inbox_id, webhook_id)
    webhook.set_enabled(False)
    messages.success(request, "Webhook disabled.")
    return redirect("webhooks:detail", webhook.inbox_id, webhook.pk)


@login_required
@require_POST
def webhook_reset_secret(request, inbox_id, webhook_id):
    webhook = _webhook(request, inbox_id, webhook_id)
    webhook.reset_secret()
    messages.success(request, "New secret issued; requests are signed with it from now on.")
    return redirect("webhooks:detail", webhook.inbox_id, webhook.pk)


@login_required
@require_POST
def webhook_delete(request, inbox_id, webhook_id):
    webhook = _webhook(request, inbox_id, webhook_id)
    webhook.delete()
    messages.success(request, "Webhook removed.")
    return redirect("webhooks:list", inbox_id)
