"""What the search index costs SMTP ingest end to end: Maildog with it against Maildog without it.

`bench/inbox_scale.py` times the storing step alone (`ingest_many`, one thread,
nothing else running). This times what a user sees: Maildog as the Procfile runs
it (`runsmtp` beside `runchecks`, checks on, `DEBUG` off) taking 8 reused
STARTTLS sessions of 4 KB messages (`bench/compare.py`'s workload), in
alternating runs, each on a fresh data directory (SQLite) or a freshly migrated
database (DATABASE_URL):

- with the index, as shipped;
- without it: the index dropped after migrating (FTS5 table and triggers, or the
  GIN and pending indexes) and both processes started through this script
  (`--without-index`), which turns off the search words (`document.search_terms`)
  and, on PostgreSQL, the indexer, before handing over to manage.py.

Prints each pair, then the median rates and the median of the pairwise costs
(with / without - 1). On PostgreSQL the runs with the index also wait until
the indexer has written every message's words, and say how long after the last 250.

    python bench/index_cost.py --pairs 5
    DATABASE_URL=postgres://.../maildog_bench REDIS_URL=redis://... python bench/index_cost.py --pairs 5

DATABASE_URL must name a database of the bench's own: its messages are deleted before each run.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_without_index(argv: list[str]) -> None:
    """manage.py `argv` with no search words made or written (this process only)."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maildog_site.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    from inboxes.search import document, indexer

    document.search_terms = lambda message, vendor: None
    indexer.index_pending = lambda batch=indexer.BATCH: 0
    execute_from_command_line([str(ROOT / "manage.py"), *argv])


def drop_index(env) -> None:
    code = "from inboxes.search import index; index.drop()"
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", code], env=env, check=True)


def manage_shell(env, code: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code], env=env, check=True, capture_output=True
    )
    return done.stdout.decode().strip().splitlines()[-1]


def index_state(env) -> dict:
    """What the database holds of the index after a run: so that "without" is known to be without."""
    code = (
        "from django.db import connection; from inboxes.search import index; from inboxes.models import Message; "
        "print(int(index._exists(connection.cursor(), connection.vendor)), "
        "Message.objects.filter(search_vector__isnull=False).count(), Message.objects.count())"
    )
    present, with_words, messages = manage_shell(env, code).split()
    return {"index_present": present == "1", "messages_with_words": int(with_words), "messages": int(messages)}


def one_run(with_index: bool, sessions: int, per_session: int) -> dict:
    import compare
    import maildog_process

    dns = compare.LoopbackDNS()
    dns.start()
    dns.add_txt("example.com", "v=spf1 ip4:127.0.0.1 -all")
    dns.add_txt("_dmarc.example.com", "v=DMARC1; p=none")
    manage = maildog_process.MANAGE if with_index else [sys.executable, __file__, "--without-index"]
    maildog = compare.Maildog(dns.port, "process", manage=manage)
    if maildog.env.get("DATABASE_URL"):  # the database is the bench's own: each run starts with no mail
        manage_shell(maildog.env, "from inboxes.models import Message; print(Message.objects.all().delete())")
    if not with_index:
        drop_index(maildog.env)
    maildog.start()
    try:
        port, implicit_tls = maildog.ports()["reuse"]
        result = compare.run_clients("reuse", port, implicit_tls, maildog.ca, sessions, per_session)
        if with_index:
            result.update(maildog.checks_behind())
    finally:
        maildog.stop()
        dns.stop()
    state = index_state(maildog.env)
    if with_index:
        assert state["index_present"], state
        if maildog.env.get("DATABASE_URL"):  # the indexer wrote every message's words
            assert state["messages_with_words"] == state["messages"], state
    else:  # nothing of the index was there or written
        assert not state["index_present"] and state["messages_with_words"] == 0, state
    return result


def main():
    if sys.argv[1:2] == ["--without-index"]:
        run_without_index(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="alternating runs with and without the index")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--per-session", type=int, default=250)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    import maildog_process

    print(f"# {maildog_process.machine_summary()}, Maildog on {maildog_process.database_summary()}")
    with_rates, without_rates, costs = [], [], []
    for pair in range(args.pairs):
        with_index = one_run(True, args.sessions, args.per_session)
        without = one_run(False, args.sessions, args.per_session)
        with_rates.append(with_index["messages_per_second"])
        without_rates.append(without["messages_per_second"])
        costs.append(without["messages_per_second"] / with_index["messages_per_second"] - 1)
        indexed = {k: v for k, v in with_index.items() if k.startswith("search_")}
        print(
            json.dumps(
                {
                    "pair": pair + 1,
                    "with_index": with_index["messages_per_second"],
                    "without": without["messages_per_second"],
                    "cost": f"{costs[-1]:+.1%}",
                    "p99_ms_with_without": [with_index["p99_ms"], without["p99_ms"]],
                    **indexed,
                }
            ),
            flush=True,
        )
    print(
        json.dumps(
            {
                "median_with_index": statistics.median(with_rates),
                "median_without": statistics.median(without_rates),
                "median_pairwise_cost": f"{statistics.median(costs):+.1%}",
                "costs": [f"{cost:+.1%}" for cost in costs],
                "budget": "+10.0%",
            }
        )
    )


if __name__ == "__main__":
    main()
