from django.urls import path, re_path

from .views import home, integration, live, manage, message, messages

app_name = "inboxes"

msg = "inboxes/<int:inbox_id>/messages/<int:message_id>/"

urlpatterns = [
    path("", home.home, name="home"),
    path("teams/<int:team_id>/inboxes/new/", manage.inbox_create, name="inbox_create"),
    path("inboxes/<int:inbox_id>/", messages.inbox, name="inbox"),
    path("inboxes/<int:inbox_id>/rename/", manage.inbox_rename, name="inbox_rename"),
    path("inboxes/<int:inbox_id>/clear/", messages.inbox_clear, name="inbox_clear"),
    path("inboxes/<int:inbox_id>/mark-passing/", messages.inbox_mark_passing, name="inbox_mark_passing"),
    path("inboxes/<int:inbox_id>/delete/", manage.inbox_delete, name="inbox_delete"),
    path("inboxes/<int:inbox_id>/credentials/reset/", manage.inbox_reset_credentials, name="inbox_reset_credentials"),
    path("inboxes/<int:inbox_id>/integration/", integration.inbox_integration, name="integration"),
    path("inboxes/<int:inbox_id>/messages/after/<int:seq>/", live.messages_after, name="messages_after"),
    path("inboxes/<int:inbox_id>/search/matches/", messages.search_matches, name="search_matches"),
    path("inboxes/<int:inbox_id>/messages/delete/", messages.messages_delete, name="messages_delete"),
    re_path(
        r"^inboxes/(?P<inbox_id>[0-9]+)/messages/mark-(?P<state>read|unread)/$",
        messages.messages_mark,
        name="messages_mark",
    ),
    path(msg, message.message, name="message"),
    path(msg + "html/", message.message_html, name="message_html"),
    path(msg + "source/", message.message_source, name="message_source"),
    path(msg + "download/", message.message_eml, name="message_eml"),
    # A part's path in the MIME tree ("1.2"; "0" is the whole message), as the API's `parts` list them.
    re_path(
        r"^inboxes/(?P<inbox_id>[0-9]+)/messages/(?P<message_id>[0-9]+)/parts/(?P<path>[0-9]+(?:\.[0-9]+)*)/$",
        message.message_part,
        name="message_part",
    ),
    path(msg + "attachments/<int:index>/", message.message_attachment, name="message_attachment"),
    path(
        msg + "attachments/<int:index>/preview/", message.message_attachment_preview, name="message_attachment_preview"
    ),
    path(msg + "delete/", messages.message_delete, name="message_delete"),
    re_path(
        r"^inboxes/(?P<inbox_id>[0-9]+)/messages/(?P<message_id>[0-9]+)/mark-(?P<state>read|unread)/$",
        messages.message_mark,
        name="message_mark",
    ),
    path("tls/maildog-ca.pem", integration.ca_certificate, name="ca_certificate"),
]
