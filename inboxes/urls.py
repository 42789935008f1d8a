from django.urls import path

from . import views

app_name = "inboxes"

urlpatterns = [
    path("", views.home, name="home"),
    path("inboxes/<int:inbox_id>/", views.inbox, name="inbox"),
    path("inboxes/<int:inbox_id>/messages/<int:message_id>/", views.message, name="message"),
]
