"""SPF, DKIM and DMARC checks on captured messages: would a real receiver authenticate them?

`service.check_message(message_id)` runs the checks and stores their results;
`receivers` queue them in the background when `inboxes.signals.message_stored`
says a message was committed (after its 250), resume them when an SMTP process
starts and hand back what is unfinished when it stops.
"""
