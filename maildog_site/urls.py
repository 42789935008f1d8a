from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/api-tokens/", include("api.token_urls")),
    path("accounts/", include("allauth.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("api.urls")),
    path("", include("accounts.urls")),
    path("", include("inboxes.urls")),
    path("", include("deliverability.urls")),
    path("", include("reports.urls")),
    path("", include("faults.urls")),
    path("", include("webhooks.urls")),
]
