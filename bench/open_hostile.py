"""Opening hostile messages: server time and peak extra memory per request, against the budgets.

For each message of the hostile corpus (tests/hostile.py) a fresh child
process stores it through ingest (as the SMTP side does), then opens it the
way a user does, through Django's test client against a real database: the
message page, its Text and MIME tabs, the API detail and the download of the
part the corpus names. For each request it prints the time spent in Django
and the peak resident memory above what the process held before the request
(VmHWM, reset before each request), and compares the worst figures with the
budgets: < 2 s and < 3x the message size.

SQLite in a fresh data directory by default; DATABASE_URL picks another
database (it must be empty or a Maildog database: the bench migrates it).

    python bench/open_hostile.py [--only NAME ...]
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

from maildog_process import ROOT

# The child imports the project (Django settings, the apps, tests.hostile) in-process.
sys.path.insert(0, str(ROOT))

TIME_BUDGET = 2.0
MEMORY_BUDGET = 3.0  # times the message size
# Any request allocates some memory whatever the message (templates, JSON, the session): a fixed allowance.
FIXED_ALLOWANCE = 2**20
# Fixed glibc thresholds: big buffers are mapped and unmapped, never kept in the heap after free,
# so the resident peak during a request counts what the request holds (not memory reused from before).
MEASURING_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


def setup_django(data_dir: str) -> None:
    # The test settings: production settings with static files served from the apps (no collectstatic).
    os.environ["MAILDOG_DATA_DIR"] = data_dir
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()


def prepare(data_dir: str) -> dict:
    """Migrate the database; a team, its owner, an inbox and an API key."""
    setup_django(data_dir)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts.models import Membership, Team
    from api.tokens import issue_token
    from inboxes.models import Inbox

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(username=f"bench-{time.time_ns()}@example.com", password="x")
    team = Team.objects.create(name="Bench")
    Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    inbox = Inbox.objects.create(team=team, name="Hostile")
    return {"user": user.pk, "inbox": inbox.pk, "key": issue_token(user, "bench", None)[1]}


def child(name: str, data_dir: str, context: dict) -> dict:
    setup_django(data_dir)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from inboxes.ingest import Incoming, SessionFacts, store_each
    from tests.hostile import CORPUS, _status, reset_peak

    hostile = CORPUS[name]()
    size = len(hostile.raw)
    started = time.perf_counter()
    [message] = store_each(
        [
            Incoming(
                context["inbox"], hostile.raw, SessionFacts(mail_from="app@example.com", rcpt_tos=["qa@example.com"])
            )
        ]
    )
    store_seconds = time.perf_counter() - started
    path = hostile.part[0]
    del hostile
    gc.collect()

    web = Client()
    web.force_login(get_user_model().objects.get(pk=context["user"]))
    api = Client(headers={"Authorization": f"Bearer {context['key']}"})
    args = [message.inbox_id, message.pk]
    page = reverse("inboxes:message", args=args)
    requests = {
        "page": (web, page),
        "text tab": (web, page + "?tab=text"),
        "MIME tab": (web, page + "?tab=mime"),
        "API detail": (api, reverse("api:message-detail", args=args)),
        "part download": (web, reverse("inboxes:message_part", args=[*args, path])),
    }
    web.get(page)  # first request: templates, URL resolvers, sessions are loaded and cached
    figures = {}
    for label, (client, url) in requests.items():
        gc.collect()
        before = reset_peak()
        started = time.perf_counter()
        response = client.get(url)
        seconds = time.perf_counter() - started
        extra = _status("VmHWM") - before
        figures[label] = {"status": response.status_code, "seconds": seconds, "extra": extra}
        del response
    return {"name": name, "size": size, "store_seconds": store_seconds, "requests": figures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="corpus names to run (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--context", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        result = child(options.child, options.data_dir, json.loads(options.context))
        sys.stdout.write(json.dumps(result) + "\n")
        return 0

    from tests.hostile import CORPUS

    names = options.only or list(CORPUS)
    with tempfile.TemporaryDirectory(prefix="maildog-bench-") as data_dir:
        context = prepare(data_dir)
        database = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "SQLite"
        sys.stdout.write(
            f"Opening hostile messages ({database}); budgets: < {TIME_BUDGET:g} s, "
            f"< {MEMORY_BUDGET:g}x size + {FIXED_ALLOWANCE // 2**20} MiB per request\n\n"
        )
        header = (
            f"{'message':22} {'size':>12} {'store s':>8} "
            + " ".join(f"{label:>22}" for label in ("page", "text tab", "MIME tab", "API detail", "part download"))
            + "   worst s  worst x  verdict\n"
        )
        sys.stdout.write(header)
        failures = 0
        for name in names:
            process = subprocess.run(
                [sys.executable, __file__, "--child", name, "--data-dir", data_dir, "--context", json.dumps(context)],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=ROOT,
                env={**os.environ, **MEASURING_ENV},
            )
            if process.returncode:
                sys.stdout.write(f"{name:22} FAILED\n{process.stderr[-2000:]}\n")
                failures += 1
                continue
            result = json.loads(process.stdout.strip().splitlines()[-1])
            size, cells = result["size"], []
            worst_seconds = max(item["seconds"] for item in result["requests"].values())
            worst_extra = max(item["extra"] for item in result["requests"].values())
            for item in result["requests"].values():
                cells.append(f"{item['status']} {item['seconds']:6.3f}s {item['extra'] / 2**20:6.1f}MB")
            ratio = worst_extra / size
            ok = worst_seconds < TIME_BUDGET and worst_extra < MEMORY_BUDGET * size + FIXED_ALLOWANCE
            failures += not ok
            sys.stdout.write(
                f"{name:22} {size:>12,} {result['store_seconds']:8.3f} "
                + " ".join(f"{cell:>22}" for cell in cells)
                + f"   {worst_seconds:7.3f}  {ratio:7.2f}  {'ok' if ok else 'OVER BUDGET'}\n"
            )
        sys.stdout.write(
            "\nextra = peak resident memory during the request above the process's resident size before it.\n"
            "worst x = the worst extra divided by the message size; small messages are dominated by the fixed\n"
            "cost of any request (templates, JSON, session), hence the 1 MiB allowance in the verdict.\n"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
