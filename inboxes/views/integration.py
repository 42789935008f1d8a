"""The Integration tab: what an application needs to send into an inbox."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import can_manage, get_inbox
from ..integration import local_ca_path, smtp_settings, uses_local_ca


@login_required
@require_GET
def inbox_integration(request, inbox_id):
    inbox = get_inbox(request.user, inbox_id)
    context = {
        "inbox": inbox,
        "smtp": smtp_settings(inbox),
        "uses_local_ca": uses_local_ca(),
        "can_manage": can_manage(request.user, inbox.team_id),
        "tab": "integration",
    }
    return render(request, "inboxes/integration.html", context)


@login_required
@require_GET
def ca_certificate(request):
    """The development CA's certificate (public), for apps to trust Maildog's SMTP TLS."""
    if not uses_local_ca() or not local_ca_path().exists():
        raise Http404("The SMTP certificate is not from Maildog's development CA.")
    response = FileResponse(open(local_ca_path(), "rb"), as_attachment=True, filename="maildog-ca.pem")
    response["Content-Type"] = "application/x-pem-file"
    response["X-Content-Type-Options"] = "nosniff"
    return response
