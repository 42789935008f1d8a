from django.urls import path

from . import views

app_name = "webhooks"

hook = "inboxes/<int:inbox_id>/webhooks/<int:webhook_id>/"

urlpatterns = [
    path("inboxes/<int:inbox_id>/webhooks/", views.webhook_list, name="list"),
    path("inboxes/<int:inbox_id>/webhooks/new/", views.webhook_create, name="create"),
    path(hook, views.webhook_detail, name="detail"),
    path(hook + "test/", views.webhook_test, name="test"),
    path(hook + "enable/", views.webhook_enable, name="enable"),
    path(hook + "disable/", views.webhook_disable, name="disable"),
    path(hook + "secret/", views.webhook_reset_secret, name="reset_secret"),
    path(hook + "delete/", views.webhook_delete, name="delete"),
]
