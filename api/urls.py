from django.urls import path

from . import fault_views, reports, views, wait, webhook_views

app_name = "api"

urlpatterns = [
    path("inboxes/", views.InboxList.as_view(), name="inbox-list"),
    path("inboxes/<int:inbox_id>/", views.InboxDetail.as_view(), name="inbox-detail"),
    path(
        "inboxes/<int:inbox_id>/reset-credentials/",
        views.InboxResetCredentials.as_view(),
        name="inbox-reset-credentials",
    ),
    path("inboxes/<int:inbox_id>/messages/", views.MessageList.as_view(), name="message-list"),
    path("inboxes/<int:inbox_id>/messages/wait/", wait.wait_for_message, name="message-wait"),
    path("inboxes/<int:inbox_id>/messages/<int:message_id>/", views.MessageDetail.as_view(), name="message-detail"),
    path("inboxes/<int:inbox_id>/messages/<int:message_id>/raw/", views.MessageRaw.as_view(), name="message-raw"),
    path(
        "inboxes/<int:inbox_id>/messages/<int:message_id>/attachments/<int:index>/",
        views.MessageAttachment.as_view(),
        name="message-attachment",
    ),
    path(
        "inboxes/<int:inbox_id>/messages/<int:message_id>/report/",
        reports.MessageReport.as_view(),
        name="message-report",
    ),
    path(
        "inboxes/<int:inbox_id>/messages/<int:message_id>/report/rerun/",
        reports.MessageReportRerun.as_view(),
        name="message-report-rerun",
    ),
    path("inboxes/<int:inbox_id>/faults/", fault_views.FaultRuleList.as_view(), name="fault-list"),
    path("inboxes/<int:inbox_id>/faults/injected/", fault_views.InjectedFaultList.as_view(), name="fault-injected"),
    path("inboxes/<int:inbox_id>/faults/<int:rule_id>/", fault_views.FaultRuleDetail.as_view(), name="fault-detail"),
    path("inboxes/<int:inbox_id>/webhooks/", webhook_views.WebhookList.as_view(), name="webhook-list"),
    path(
        "inboxes/<int:inbox_id>/webhooks/<int:webhook_id>/",
        webhook_views.WebhookDetail.as_view(),
        name="webhook-detail",
    ),
    path(
        "inboxes/<int:inbox_id>/webhooks/<int:webhook_id>/test/",
        webhook_views.WebhookTest.as_view(),
        name="webhook-test",
    ),
    path(
        "inboxes/<int:inbox_id>/webhooks/<int:webhook_id>/deliveries/",
        webhook_views.WebhookDeliveries.as_view(),
        name="webhook-deliveries",
    ),
]
