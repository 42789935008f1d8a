"""API token pages: list a user's tokens, create one (its key shown once), revoke one."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from inboxes.models import Inbox

from .models import ApiToken
from .tokens import issue_token


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “GitHub Actions”.")
    inbox = forms.ModelChoiceField(
        queryset=Inbox.objects.none(),
        required=False,
        empty_label="All inboxes of my teams (read and write)",
        help_text="A token for one inbox can only read that inbox: the right one for CI.",
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inbox"].queryset = Inbox.objects.filter(team__memberships__user=user).select_related("team")
        self.fields["inbox"].label_from_instance = lambda inbox: f"{inbox.team.name} / {inbox.name}"


def _tokens(user):
    return ApiToken.objects.filter(user=user).select_related("inbox", "inbox__team")


@login_required
@require_GET
def token_list(request):
    """The user's tokens (name, first characters, reach, last use) and the form for a new one."""
    return render(
        request,
        "api/token_list.html",
        {"tokens": _tokens(request.user), "form": ApiTokenForm(request.user)},
    )


@login_required
@require_POST
def token_create(request):
    """Create a token and show its key, this once: only its hash is kept."""
    form = ApiTokenForm(request.user, request.POST)
    if not form.is_valid():
        return render(request, "api/token_list.html", {"tokens": _tokens(request.user), "form": form}, status=400)
    token, key = issue_token(request.user, form.cleaned_data["name"], form.cleaned_data["inbox"])
    response = render(request, "api/token_created.html", {"token": token, "key": key})
    # The key is in this page only: keep it out of caches and the browser history's reloads.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, token_id):
    """Delete the token: requests with its key are refused from now on."""
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token.delete()
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("api_tokens:list")
