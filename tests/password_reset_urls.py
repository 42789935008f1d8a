"""A user's application, for the client tests: Django's own password reset views.

Their default templates extend the admin's, so the admin is mounted as in a
typical project.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("django.contrib.auth.urls")),
]
