"""SPF, DKIM and DMARC checks on captured messages: would a real receiver authenticate them?

`service.check_message(message_id)` runs the checks and stores their results;
`service.schedule_check(message_id)` runs them in the background after the 250.
"""
