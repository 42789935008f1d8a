"""Poisoned batch benchmark: 10 hostile sessions beside 10 normal ones, all at once.

Starts `manage.py runsmtp` in a fresh data directory (SQLite by default, or the
DATABASE_URL in the environment), creates an inbox for team A (the poisoned
sessions) and one for team B (the normal ones), then runs ROUNDS rounds in
which 10 poisoned and 10 normal sessions say DATA at the same moment, so their
messages share group commits. The poisons: MAIL FROM / RCPT TO with invalid
UTF-8 under SMTPUTF8 (surrogates once decoded), NUL characters in the
envelope and HELO, and MIME nested 1,000 deep.

Prints how many normal messages got 250 (the promise: all of them), what the
poisoned ones got, and the time per round.

    python bench/poisoned_batch.py --rounds 20
"""

import argparse
import json
import smtplib
import ssl
import sys
import threading
import time
from collections import Counter
from email.message import EmailMessage

import maildog_process

# The poisons are the test suite's (tests.hostile), from the checkout the benchmark runs in.
sys.path.insert(0, str(maildog_process.ROOT))
from tests.hostile import POISONED_SESSIONS as POISONS  # noqa: E402

SESSIONS = 10


def normal_message(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "app@b.test"
    message["To"] = "user@b.test"
    message["Subject"] = f"normal {number}"
    message.set_content("Nothing wrong with this one.")
    return message.as_bytes()


def session(port, context, creds, ehlo, mail_from, rcpt_to, data, start, replies, kind):
    """One SMTP session over verified STARTTLS; records the DATA reply code (or the refusal)."""
    try:
        with smtplib.SMTP("localhost", port, timeout=60) as client:
            client.starttls(context=context)
            client.send(b"EHLO " + ehlo + b"\r\n")
            client.getreply()
            client.ehlo_resp, client.does_esmtp, client.esmtp_features = b"", True, {"auth": "PLAIN"}
            client.login(*creds)
            for line in (mail_from, rcpt_to):
                client.send(line + b"\r\n")
                code, _ = client.getreply()
                if code >= 400:
                    replies.append((kind, code))
                    start.wait(60)
                    return
            start.wait(60)
            code, _ = client.data(data)
            replies.append((kind, code))
    except (smtplib.SMTPException, OSError) as error:
        replies.append((kind, type(error).__name__))


def run_round(port, context, creds_a, creds_b, round_no):
    start = threading.Barrier(2 * SESSIONS)
    replies: list = []
    threads = []
    for n in range(SESSIONS):
        ehlo, mail_from, rcpt_to, data = POISONS[n % len(POISONS)]
        threads.append(
            threading.Thread(
                target=session,
                args=(port, context, creds_a, ehlo, mail_from, rcpt_to, data, start, replies, "poisoned"),
            )
        )
        threads.append(
            threading.Thread(
                target=session,
                args=(
                    port,
                    context,
                    creds_b,
                    b"app.b.test",
                    b"MAIL FROM:<app@b.test>",
                    b"RCPT TO:<user@b.test>",
                    normal_message(round_no * SESSIONS + n),
                    start,
                    replies,
                    "normal",
                ),
            )
        )
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return replies, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of 10 poisoned + 10 normal sessions")
    args = parser.parse_args()

    port = maildog_process.free_port()
    data_dir, env = maildog_process.fresh_environment(f"{port}:starttls", MAILDOG_AUTH_CHECKS="0", LOG_LEVEL="ERROR")
    maildog_process.migrate(env)
    creds = {team: maildog_process.create_inbox(env, f"Team {team}", team) for team in ("A", "B")}
    server = maildog_process.start_smtp(env, port)
    try:
        context = ssl.create_default_context(cafile=maildog_process.ca_file(data_dir))
        print(f"# {maildog_process.machine_summary()}, database {maildog_process.database_summary()}")
        print(f"# {args.rounds} rounds of {SESSIONS} poisoned + {SESSIONS} normal concurrent sessions")
        normal, poisoned, durations = Counter(), Counter(), []
        for round_no in range(args.rounds):
            replies, seconds = run_round(port, context, creds["A"], creds["B"], round_no)
            durations.append(seconds)
            for kind, code in replies:
                (normal if kind == "normal" else poisoned)[code] += 1
        total = args.rounds * SESSIONS
        print(
            json.dumps(
                {
                    "normal_250": normal[250],
                    "normal_sent": total,
                    "normal_replies": dict(normal),
                    "poisoned_replies": {str(code): count for code, count in poisoned.items()},
                    "round_seconds_median": round(sorted(durations)[len(durations) // 2], 3),
                }
            )
        )
        print(f"normal messages answered 250: {normal[250]} of {total} ({normal[250] / total:.0%})")
    finally:
        maildog_process.stop(server)


if __name__ == "__main__":
    main()
