from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import models
from django.utils import timezone


class Team(models.Model):
    """A group of people who share inboxes."""

    name = models.CharField(max_length=100)
    created = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class MembershipQuerySet(models.QuerySet):
    def owners(self):
        """Memberships with the owner role."""
        return self.filter(role=Membership.Role.OWNER)

    def managers(self):
        """Memberships that may manage their team (`Membership.can_manage`, as a query)."""
        return self.filter(role__in=Membership.MANAGING_ROLES)


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    # The one rule for "may manage the team": its inboxes, members and invitations.
    MANAGING_ROLES = (Role.OWNER, Role.ADMIN)

    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user"),
        ]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_manage(self) -> bool:
        """Owners and admins manage the team's inboxes, members and invitations."""
        return self.role in self.MANAGING_ROLES

    @classmethod
    def manages(cls, user, team_id) -> bool:
        """Whether `user` (possibly anonymous) manages team `team_id`: the same rule as `can_manage`."""
        return bool(user.is_authenticated) and cls.objects.managers().filter(user=user, team_id=team_id).exists()


def invitation_expiry():
    """When an invitation sent now stops working: `MAILDOG_INVITATION_DAYS` from now."""
    return timezone.now() + timedelta(days=settings.MAILDOG_INVITATION_DAYS)


class InvitationQuerySet(models.QuerySet):
    def open(self):
        """Invitations that can still be accepted or declined: neither answered nor expired."""
        return self.filter(accepted_at__isnull=True, declined_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An invitation to join a team, sent by email to one address.

    Only a signed-in user who has `email` as a verified address can accept or
    decline it, once, before `expires_at`.
    """

    team = models.ForeignKey(Team, models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    declined_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.email} to {self.team}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_open(self) -> bool:
        """Can still be accepted or declined (the same test as `Invitation.objects.open()`)."""
        return self.accepted_at is None and self.declined_at is None and not self.is_expired

    def is_for(self, user) -> bool:
        """Whether `user` has the invited address among their verified email addresses."""
        return (
            bool(user.is_authenticated)
            and EmailAddress.objects.filter(user=user, email__iexact=self.email, verified=True).exists()
        )


class FirstRun(models.Model):
    """What `manage.py firstrun` set up on its first run: one row, kept in the database it describes.

    Later runs report this user and inbox by id, so renaming the inbox or the team, or changing the
    user's email address, does not make firstrun create new ones. `password_hash` is the user's
    password hash right after firstrun generated the password: while the user's hash is unchanged,
    the generated password (kept in `first-login.txt` in the data directory) still works and may be
    shown; once it differs, the password was changed and firstrun no longer shows it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    # The first inbox (inboxes.Inbox) by id: accounts does not depend on inboxes, so no foreign key.
    inbox_id = models.PositiveBigIntegerField(null=True, blank=True)
    password_hash = models.CharField(max_length=128, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="firstrun_single_row")]

    def __str__(self):
        return f"first run of {self.created:%Y-%m-%d}"


class Preferences(models.Model):
    """How a person likes Maildog's pages, kept on the server so it follows them from browser to browser."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="maildog_preferences")
    # The SPF/DKIM/DMARC details under a message's one-line verdict: unfolded on every message.
    checks_details_open = models.BooleanField(default=False)

    @classmethod
    def of(cls, user) -> "Preferences":
        """The user's preferences (unsaved defaults for someone who never chose, or for anonymous visitors)."""
        if not user.is_authenticated:
            return cls()
        return cls.objects.filter(user=user).first() or cls(user=user)
