"""The start page: a pending invitation first, else the user's teams and inboxes."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.models import Membership
from accounts.views.invitations import PENDING_SESSION_KEY


@login_required
@require_GET
def home(request):
    token = request.session.get(PENDING_SESSION_KEY)
    if token:
        return redirect("accounts:invitation", token)
    memberships = Membership.objects.filter(user=request.user).select_related("team").order_by("team__name")
    return render(request, "inboxes/home.html", {"memberships": memberships})
