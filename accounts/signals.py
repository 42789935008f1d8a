"""A new account gets a personal team, so it can create inboxes right away."""

from allauth.account.signals import user_signed_up
from django.dispatch import receiver

from .teams import create_personal_team


@receiver(user_signed_up, dispatch_uid="accounts.personal_team")
def give_new_user_a_team(sender, request, user, **kwargs):
    create_personal_team(user)
