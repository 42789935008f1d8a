from django.urls import path

from .views import invitations, members, preferences, teams

app_name = "accounts"

urlpatterns = [
    path("preferences/", preferences.preferences_update, name="preferences"),
    path("teams/", teams.team_list, name="teams"),
    path("teams/new/", teams.team_create, name="team_create"),
    path("teams/<int:team_id>/", teams.team_detail, name="team"),
    path("teams/<int:team_id>/rename/", teams.team_rename, name="team_rename"),
    path("teams/<int:team_id>/leave/", members.team_leave, name="team_leave"),
    path("teams/<int:team_id>/members/<int:membership_id>/role/", members.member_role, name="member_role"),
    path("teams/<int:team_id>/members/<int:membership_id>/remove/", members.member_remove, name="member_remove"),
    path("teams/<int:team_id>/invitations/", invitations.invitation_create, name="invitation_create"),
    path(
        "teams/<int:team_id>/invitations/<int:invitation_id>/cancel/",
        invitations.invitation_cancel,
        name="invitation_cancel",
    ),
    path("invitations/<str:token>/", invitations.invitation_detail, name="invitation"),
    path("invitations/<str:token>/accept/", invitations.invitation_accept, name="invitation_accept"),
    path("invitations/<str:token>/decline/", invitations.invitation_decline, name="invitation_decline"),
]
