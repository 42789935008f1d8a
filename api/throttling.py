"""Rate limits: requests per token user (or per client address without a token)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class ApiRateThrottle(UserRateThrottle):
    """`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"]`, e.g. "600/minute".

    DRF's own classes copy the rates once at import; this one reads them on
    each request, so the setting is the single source even when it changes.
    """

    scope = "api"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
