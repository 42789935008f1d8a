"""Maildog's choices in django-allauth's flows (ACCOUNT_ADAPTER, ACCOUNT_USER_DISPLAY)."""

from allauth.account.adapter import DefaultAccountAdapter

# The address just confirmed in a browser that is not signed in: the sign-in form starts with it.
CONFIRMED_EMAIL_SESSION_KEY = "maildog_confirmed_email"


def user_display(user) -> str:
    """How pages and messages name a user: by email, the only name Maildog asks for."""
    return user.email or user.get_username()


class AccountAdapter(DefaultAccountAdapter):
    def get_email_verification_redirect_url(self, email_address):
        """After a confirmation link: on, signed in; in another browser, to sign-in with the address filled in.

        allauth signs in on confirmation (ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION) only in the browser that
        signed up: a link alone is not allowed to open a session. Elsewhere the address is confirmed and
        the sign-in page says so, with the address filled in.
        """
        if not self.request.user.is_authenticated:
            self.request.session[CONFIRMED_EMAIL_SESSION_KEY] = email_address.email
        return super().get_email_verification_redirect_url(email_address)
