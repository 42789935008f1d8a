"""Django admin: reports are read-only (the worker makes them); each inbox's report settings are editable."""

from django.contrib import admin
from django.db import models
from django.utils.html import format_html, format_html_join

from .models import InboxReportSettings, Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """What the report found on each message. Made by the checks' worker, never by hand."""

    list_display = ["message", "status", "errors", "warnings", "notes", "created_at"]
    list_filter = ["status", "message__inbox__team", "message__inbox", "created_at"]
    search_fields = ["message__subject", "message__message_id"]
    list_select_related = ["message"]
    date_hierarchy = "created_at"
    exclude = ["data"]
    readonly_fields = ["message", "status", "errors", "warnings", "notes", "created_at", "finding_list"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="findings")
    def finding_list(self, report):
        if not report.findings:
            return "None"
        # Findings quote captured mail: every value is escaped by format_html_join.
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong> {} ({}{}): {} <em>{}</em></li>",
                (
                    (
                        finding.get("severity", ""),
                        finding.get("what", ""),
                        finding.get("part", ""),
                        f", line {finding['line']}" if finding.get("line") else "",
                        finding.get("text", ""),
                        finding.get("fix", ""),
                    )
                    for finding in report.findings
                ),
            ),
        )


@admin.register(InboxReportSettings)
class InboxReportSettingsAdmin(admin.ModelAdmin):
    list_display = ["inbox", "expected_site_url", "link_check", "link_check_private"]
    list_filter = ["link_check", "link_check_private", "inbox__team"]
    search_fields = ["inbox__name", "inbox__team__name", "expected_site_url"]
    list_select_related = ["inbox"]
    autocomplete_fields = ["inbox"]
    # A site URL typed without a scheme is taken as https (as the team's settings form does).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
