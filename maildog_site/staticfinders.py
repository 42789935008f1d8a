"""Static file finders that leave out vendored assets Maildog does not serve.

drf-spectacular-sidecar ships both Swagger UI and Redoc; Maildog's API docs use
Swagger UI only, and Redoc's bundle and source map would add megabytes (and
minutes of compression) to every collectstatic.
"""

from django.contrib.staticfiles import finders

UNUSED = ["drf_spectacular_sidecar/redoc/*"]


class AppDirectoriesFinder(finders.AppDirectoriesFinder):
    def list(self, ignore_patterns):
        return super().list([*(ignore_patterns or []), *UNUSED])
