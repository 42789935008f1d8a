from allauth.account.adapter import get_adapter
from allauth.account.decorators import secure_admin_login
from allauth.account.models import EmailAddress
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.db import transaction

from .models import Invitation, Membership, Team

User = get_user_model()

# Staff sign in where everyone does, by email (the admin's own form asks for a username nobody
# chose), with allauth's verification and rate limits; signed-in staff go straight in.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = admin.site.site_title = "Maildog administration"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "inbox_count", "created"]
    search_fields = ["name", "members__email"]
    date_hierarchy = "created"
    inlines = [MembershipInline]

    @admin.display(description="members")
    def member_count(self, team):
        return team.memberships.count()

    @admin.display(description="inboxes")
    def inbox_count(self, team):
        return team.inboxes.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created"]
    list_filter = ["role"]
    search_fields = ["user__email", "team__name"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["user", "team"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "team", "role", "invited_by", "created", "expires_at", "accepted_at", "declined_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter), ("declined_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "team__name"]
    list_select_related = ["team", "invited_by", "accepted_by"]
    # The token is a credential: never shown here. Invitations are sent from the
    # team page (which emails the link), so the admin does not create them.
    exclude = ["token"]
    readonly_fields = ["accepted_at", "accepted_by", "declined_at"]
    autocomplete_fields = ["team", "invited_by"]

    def has_add_permission(self, request):
        return False


if admin.site.is_registered(User):
    admin.site.unregister(User)


class EmailUserCreationForm(AdminUserCreationForm):
    """A new user by email and password, as people sign up; the username is made up from the email."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        taken = (
            User.objects.filter(email__iexact=email).exists()
            or EmailAddress.objects.filter(email__iexact=email).exists()
        )
        if taken:
            raise forms.ValidationError("A user with this email address already exists.")
        return email


@admin.register(User)
class MaildogUserAdmin(UserAdmin):
    """Django's user admin by email (people sign in with it; the username is internal), plus bulk deactivate.

    Deactivated users cannot sign in. A user created here gets the address as their verified, primary
    email address (the staff member vouches for it) and a username made up from it, as sign-up does.
    """

    add_form = EmailUserCreationForm
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
        (
            "Internal",
            {
                "fields": ("username",),
                "description": "Made up from the email address at sign-up; nobody signs in with it. "
                "`manage.py changepassword` takes it.",
            },
        ),
    )
    readonly_fields = ["username"]
    list_display = ["email", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["email", "first_name", "last_name", "username"]
    ordering = ["email"]
    actions = ["deactivate", "activate"]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        if not change and not obj.username:
            get_adapter(request).populate_username(request, obj)
        super().save_model(request, obj, form, change)
        if not change:
            EmailAddress.objects.create(user=obj, email=obj.email, primary=True, verified=True)

    @admin.action(description="Deactivate the selected users")
    def deactivate(self, request, queryset):
        count = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(request, f"Deactivated {count} users.")

    @admin.action(description="Activate the selected users")
    def activate(self, request, queryset):
        count = queryset.update(is_active=True)
        self.message_user(request, f"Activated {count} users.")
