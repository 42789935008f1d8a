from django.urls import path

from . import views

app_name = "deliverability"

urlpatterns = [
    path("inboxes/<int:inbox_id>/messages/<int:message_id>/checks/", views.panel, name="panel"),
    path("inboxes/<int:inbox_id>/messages/<int:message_id>/checks/rerun/", views.rerun, name="rerun"),
]
