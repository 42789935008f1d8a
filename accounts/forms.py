from allauth.account import forms as allauth_forms
from django import forms

from .adapter import CONFIRMED_EMAIL_SESSION_KEY
from .models import Membership, Team


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name"]


class InvitationForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"placeholder": "name@example.com", "aria-label": "Email"}))
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)

    def __init__(self, *args, can_invite_owner=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_invite_owner:
            self.fields["role"].choices = [c for c in Membership.Role.choices if c[0] != Membership.Role.OWNER]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class LoginForm(allauth_forms.LoginForm):
    """allauth's sign-in form in Maildog's words, starting with the address just confirmed, if any."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            self.fields["remember"].label = "Remember me"
        self.fields["password"].help_text = ""  # the page links "Forgot your password?" itself
        self.confirmed_email = None
        if self.request is not None and not self.is_bound:
            self.confirmed_email = self.request.session.pop(CONFIRMED_EMAIL_SESSION_KEY, None)
            if self.confirmed_email:
                self.fields["login"].initial = self.confirmed_email
