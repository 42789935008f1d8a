from django.contrib import admin

from .models import Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "inbox", "enabled", "consecutive_failures", "disabled_at", "created"]
    list_filter = ["enabled"]
    search_fields = ["url", "inbox__name"]
    list_select_related = ["inbox"]
    raw_id_fields = ["inbox", "created_by"]
    exclude = ["secret"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created", "webhook", "event", "state", "attempts", "status_code", "latency_ms"]
    list_filter = ["state", "event"]
    list_select_related = ["webhook"]
    raw_id_fields = ["webhook"]
