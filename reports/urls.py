from django.urls import path

from . import views

app_name = "reports"

msg = "inboxes/<int:inbox_id>/messages/<int:message_id>/"

urlpatterns = [
    path(msg + "report/", views.report, name="report"),
    path(msg + "report/line/", views.line, name="line"),
    path(msg + "report/rerun/", views.rerun, name="rerun"),
    path("inboxes/<int:inbox_id>/report-settings/", views.inbox_settings, name="settings"),
]
