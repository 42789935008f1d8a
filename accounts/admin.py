from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .models import Invitation, Membership, Team

User = get_user_model()


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


@admin.register(User)
class MaildogUserAdmin(UserAdmin):
    """Django's user admin plus a bulk deactivate action (deactivated users cannot log in)."""

    list_display = ["email", "username", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    actions = ["deactivate", "activate"]

    @admin.action(description="Deactivate the selected users")
    def deactivate(self, request, queryset):
        count = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(request, f"Deactivated {count} users.")

    @admin.action(description="Activate the selected users")
    def activate(self, request, queryset):
        count = queryset.update(is_active=True)
        self.message_user(request, f"Activated {count} users.")
