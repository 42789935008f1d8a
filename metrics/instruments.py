"""Every metric Maildog exports, and the one-line calls the other apps make to update them.

The metrics live in prometheus_client's default registry, per process; each
process that does work exposes its own (`metrics.exposition`). Label values
come from short fixed lists, never from what a client sends.

Under prometheus_client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR` set
before start) the gauges add up over the live processes.
"""

from prometheus_client import Counter, Gauge, Histogram

SMTP_SESSIONS = Counter(
    "maildog_smtp_sessions",
    "SMTP sessions (TCP connections) by how they ended: stored, partial, refused, ...",
    ["outcome"],
)
MESSAGES_STORED = Counter("maildog_messages_stored", "Messages stored (committed) by the SMTP listener.")
MESSAGE_BYTES = Counter("maildog_message_bytes", "Bytes of the messages stored by the SMTP listener.")
REFUSALS = Counter("maildog_smtp_refusals", "4xx and 5xx SMTP replies, by reply code and reason.", ["code", "reason"])
STORAGE_SECONDS = Histogram(
    "maildog_storage_seconds",
    "From the end of DATA until the message is committed (group commit included), per message.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_MESSAGES = Histogram(
    "maildog_group_commit_messages",
    "Messages per group commit (one database transaction).",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)
CHECK_QUEUE = Gauge(
    "maildog_check_queue_length",
    "Stored messages waiting for their SPF/DKIM/DMARC checks.",
    multiprocess_mode="livesum",
)
CHECK_LATENCY = Histogram(
    "maildog_check_latency_seconds",
    "From the message's receipt until its SPF/DKIM/DMARC results are saved.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
REPORT_QUEUE = Gauge(
    "maildog_report_queue_length", "Stored messages waiting for their message report.", multiprocess_mode="livesum"
)
REPORT_LATENCY = Histogram(
    "maildog_report_latency_seconds",
    "From the message's receipt until its report is saved.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
WEBHOOK_DELIVERIES = Counter(
    "maildog_webhook_deliveries", "Webhook delivery attempts by outcome: delivered, failed, gave_up.", ["outcome"]
)
WEBHOOK_SECONDS = Histogram(
    "maildog_webhook_seconds", "Duration of a webhook delivery attempt.", buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
)
WEBSOCKETS = Gauge("maildog_websocket_connections", "Open websocket connections.", multiprocess_mode="livesum")
FAULTS_INJECTED = Counter(
    "maildog_faults_injected", "Faults injected by fault rules, by stage and effect.", ["stage", "effect"]
)

# Why a refusal was sent, from its code and enhanced status code (Maildog's own replies).
REASONS = {
    "452 4.5.3": "too_many_recipients",
    "552 5.3.4": "message_too_big",
    "535 5.7.8": "auth_failed",
    "454 4.7.0": "auth_unavailable",
    "451 4.3.0": "not_stored",
    "421 4.3.2": "shutting_down",
    "421 4.7.0": "too_many_connections",
    "421 4.4.2": "idle_or_evicted",
    "530 5.7.0": "starttls_required",
    "500 5.5.6": "line_too_long",
}


def refusal_reason(reply: str) -> str:
    reason = REASONS.get(reply[:9])
    if reason is not None:
        return reason
    # aiosmtpd's syntax and sequence errors (500 to 504, 555).
    return "protocol" if reply[:2] == "50" or reply[:3] == "555" else "other"


# --- SMTP (smtpd) ---------------------------------------------------------------


def smtp_session_closed(outcome: str) -> None:
    SMTP_SESSIONS.labels(outcome).inc()


def smtp_refusal(server, reply) -> None:
    """A 4xx/5xx reply went out; `server.refusal_reason`, when set, says why (e.g. a fault rule)."""
    text = reply.decode("ascii", "replace") if isinstance(reply, bytes) else reply
    reason = getattr(server, "refusal_reason", "") or refusal_reason(text)
    server.refusal_reason = ""
    REFUSALS.labels(text[:3], reason).inc()


def storage_timer():
    """`with storage_timer(): ...` around one message's wait for its commit."""
    return STORAGE_SECONDS.time()


def batch_stored(items, outcomes) -> None:
    """One group commit finished: its size, and the messages (and bytes) it stored."""
    BATCH_MESSAGES.observe(len(items))
    stored = [item for item, outcome in zip(items, outcomes) if not isinstance(outcome, BaseException)]
    if stored:
        MESSAGES_STORED.inc(len(stored))
        MESSAGE_BYTES.inc(sum(len(item.raw) for item in stored))


def fault_injected(stage: str, effect: str) -> None:
    FAULTS_INJECTED.labels(stage, effect).inc()


# --- background work (checks, reports, webhooks) ------------------------------------


def check_queue_length(length: int) -> None:
    CHECK_QUEUE.set(length)


def checks_finished(messages, now) -> None:
    """Results saved for `messages` at `now` (a datetime): the latency from each one's receipt."""
    for message in messages:
        if message.received_at is not None:
            CHECK_LATENCY.observe(max(0.0, (now - message.received_at).total_seconds()))


def report_queue_length(length: int) -> None:
    REPORT_QUEUE.set(length)


def report_finished(messages, now) -> None:
    for message in messages:
        if message.received_at is not None:
            REPORT_LATENCY.observe(max(0.0, (now - message.received_at).total_seconds()))


def webhook_delivery(outcome: str, seconds: float) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    WEBHOOK_SECONDS.observe(seconds)


# --- web ----------------------------------------------------------------------


def websocket_opened(consumer) -> None:
    consumer.counted_by_metrics = True
    WEBSOCKETS.inc()


def websocket_closed(consumer) -> None:
    if getattr(consumer, "counted_by_metrics", False):
        consumer.counted_by_metrics = False
        WEBSOCKETS.dec()
