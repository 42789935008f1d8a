from django.urls import path

from . import api_tokens

app_name = "api_tokens"

urlpatterns = [
    path("", api_tokens.token_list, name="list"),
    path("new/", api_tokens.token_create, name="create"),
    path("<int:token_id>/revoke/", api_tokens.token_revoke, name="revoke"),
]
