"""The message report: Django-aware content checks, HTML compatibility, spam score and link check.

Computed for every stored message in the background, as one more step of the
SPF/DKIM/DMARC worker (`deliverability.service` calls `reports.service.run`
and `reports.service.save`), never in front of the 250, within time and size
budgets (settings MAILDOG_REPORT_*, MAILDOG_SPAMD_*, MAILDOG_LINK_CHECK_*).
"""
