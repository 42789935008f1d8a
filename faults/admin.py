from django.contrib import admin

from .models import FaultRule, InjectedFault


@admin.register(FaultRule)
class FaultRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "inbox", "stage", "reply", "delay", "disconnect", "remaining", "probability", "hits"]
    list_filter = ["stage"]
    search_fields = ["name", "inbox__name"]
    list_select_related = ["inbox"]
    raw_id_fields = ["inbox", "created_by"]
    readonly_fields = ["hits"]


@admin.register(InjectedFault)
class InjectedFaultAdmin(admin.ModelAdmin):
    list_display = ["at", "inbox", "rule_name", "stage", "effect", "reply", "recipient"]
    list_filter = ["stage", "effect"]
    list_select_related = ["inbox"]
    raw_id_fields = ["inbox", "rule", "message"]
