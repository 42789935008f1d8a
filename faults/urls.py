from django.urls import path

from . import views

app_name = "faults"

urlpatterns = [
    path("inboxes/<int:inbox_id>/faults/", views.fault_rules, name="rules"),
    path("inboxes/<int:inbox_id>/faults/new/", views.fault_rule_create, name="rule_create"),
    path("inboxes/<int:inbox_id>/faults/<int:rule_id>/delete/", views.fault_rule_delete, name="rule_delete"),
]
