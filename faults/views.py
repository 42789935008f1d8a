"""The Faults tab of an inbox: its rules, a form for a new one, and the faults injected lately.

Any member of the team manages the inbox's fault rules (as they clear its
messages): the access policy's `get_inbox`, 404 outside the team.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from inboxes.access import can_manage, get_inbox

from .forms import FaultRuleForm
from .models import FaultRule, InjectedFault

RECENT = 50


def _page(request, inbox, form, status=200):
    context = {
        "inbox": inbox,
        "tab": "faults",
        "can_manage": can_manage(request.user, inbox.team_id),
        "rules": inbox.fault_rules.all(),
        # message_id only: a message row carries its raw source, which a list must not load.
        "injected": InjectedFault.objects.filter(inbox=inbox).order_by("-id")[:RECENT],
        "form": form,
    }
    return render(request, "faults/faults.html", context, status=status)


@login_required
@require_GET
def fault_rules(request, inbox_id):
    inbox = get_inbox(request.user, inbox_id)
    return _page(
        request, inbox, FaultRuleForm(inbox=inbox, initial={"stage": "rcpt", "reply": "550 5.1.1 No such user"})
    )


@login_required
@require_POST
def fault_rule_create(request, inbox_id):
    inbox = get_inbox(request.user, inbox_id)
    form = FaultRuleForm(request.POST, inbox=inbox)
    if not form.is_valid():
        return _page(request, inbox, form, status=400)
    rule = form.save(commit=False)
    rule.created_by = request.user
    rule.save()
    messages.success(request, f"Fault rule “{rule.name}” is active in every SMTP process.")
    return redirect("faults:rules", inbox.pk)


@login_required
@require_POST
def fault_rule_delete(request, inbox_id, rule_id):
    inbox = get_inbox(request.user, inbox_id)
    rule = get_object_or_404(FaultRule, inbox=inbox, pk=rule_id)
    rule.delete()
    messages.success(request, f"Fault rule “{rule.name}” removed.")
    return redirect("faults:rules", inbox.pk)
