from django.contrib import admin
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from .downloads import eml_download
from .models import Inbox, Message


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "smtp_username", "message_count", "last_seq", "max_messages", "created"]
    list_filter = ["team", "created"]
    search_fields = ["name", "team__name", "smtp_username"]
    list_select_related = ["team"]
    readonly_fields = ["last_seq"]
    autocomplete_fields = ["team"]
    actions = ["clear_messages"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_message_count=Count("messages"))

    @admin.display(description="messages", ordering="_message_count")
    def message_count(self, inbox):
        return inbox._message_count

    @admin.action(description="Clear (delete all messages of) the selected inboxes")
    def clear_messages(self, request, queryset):
        deleted, _ = Message.objects.filter(inbox__in=queryset).delete()
        self.message_user(request, f"Deleted {deleted} messages.")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Captured mail, read-only: staff view, download, mark read/unread and delete; nobody adds or edits.

    A message is what a client sent over SMTP: there is nothing to add by hand and its stored
    content (raw source, envelope, session facts) must stay byte-exact.
    """

    list_display = [
        "subject",
        "from_header",
        "to_header",
        "inbox",
        "received_at",
        "size",
        "has_attachments",
        "is_read",
        "deliverability_verdict",
    ]
    list_filter = [
        "inbox__team",
        "inbox",
        "is_read",
        "has_attachments",
        "has_long_lines",
        "deliverability_verdict",
        "received_at",
    ]
    search_fields = ["subject", "from_header", "to_header", "envelope_from", "message_id"]
    date_hierarchy = "received_at"
    list_select_related = ["inbox"]
    exclude = ["raw"]
    readonly_fields = [f.name for f in Message._meta.fields if f.name != "raw"] + ["raw_source", "download"]
    actions = ["mark_read", "mark_unread"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The change page becomes a view page; read state changes through the list's actions.
        return False

    @admin.display(description="raw source")
    def raw_source(self, message):
        raw = Message.objects.filter(pk=message.pk).values_list("raw", flat=True).get()
        text = bytes(raw).decode("utf-8", "replace")
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", text)

    @admin.display(description="download")
    def download(self, message):
        url = reverse("admin:inboxes_message_raw", args=[message.pk])
        return format_html('<a href="{}">Download .eml</a>', url)

    @admin.action(description="Mark the selected messages read")
    def mark_read(self, request, queryset):
        self.message_user(request, f"Marked {queryset.update(is_read=True)} messages read.")

    @admin.action(description="Mark the selected messages unread")
    def mark_unread(self, request, queryset):
        self.message_user(request, f"Marked {queryset.update(is_read=False)} messages unread.")

    def get_urls(self):
        raw_view = self.admin_site.admin_view(self.raw_view)
        return [path("<int:pk>/raw/", raw_view, name="inboxes_message_raw")] + super().get_urls()

    def raw_view(self, request, pk):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        message = get_object_or_404(Message.objects.defer(None), pk=pk)
        return eml_download(message)
