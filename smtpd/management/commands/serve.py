import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from maildog_site.heap import freeze_startup_objects
from maildog_site.queries import stop_recording_queries
from smtpd.server import build_service

from .runsmtp import describe_listeners


class Command(BaseCommand):
    help = (
        "Run all of Maildog in one process: the web app (HTTP and websockets, through daphne) "
        "and the SMTP listeners, on one event loop. For the embedded default (SQLite, in-memory "
        "channel layer); production runs `web` and `smtp` as separate processes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--http-bind", default="127.0.0.1", help="Address for the web app (default 127.0.0.1).")
        parser.add_argument("--http-port", type=int, default=8000, help="Port for the web app (default 8000).")
        parser.add_argument("--smtp-bind", help="Address for SMTP (default: MAILDOG_SMTP_BIND).")
        parser.add_argument("--smtp-ports", help='SMTP listeners "port:mode,..." (default: MAILDOG_SMTP_PORTS).')

    def handle(self, *args, **options):
        # daphne.server installs Twisted's asyncio reactor; import it before Twisted.
        from daphne.server import Server
        from twisted.internet import defer, reactor

        from maildog_site.asgi import application

        # The SMTP side and the checks run many queries nobody reads (DEBUG, scripts/dev).
        stop_recording_queries()
        service = build_service(bind=options["smtp_bind"], ports=options["smtp_ports"])

        def smtp_started(task):
            if task.exception() is not None:
                self.stderr.write(f"SMTP listeners could not start: {task.exception()}")
                reactor.stop()  # type: ignore[misc]  # Twisted types the global reactor as a module
                return
            describe_listeners(service, self.stdout)
            freeze_startup_objects()  # what start-up loaded stays out of every later collection
            self.stdout.write(f"Web app on http://{options['http_bind']}:{options['http_port']}/")

        def start_smtp():
            asyncio.get_event_loop().create_task(service.start()).add_done_callback(smtp_started)

        def stop_smtp():
            return defer.Deferred.fromFuture(asyncio.ensure_future(service.stop(settings.MAILDOG_SHUTDOWN_GRACE)))

        reactor.addSystemEventTrigger("before", "shutdown", stop_smtp)  # type: ignore[arg-type]  # (as above)
        endpoint = f"tcp:port={options['http_port']}:interface={options['http_bind']}"
        try:
            Server(application, endpoints=[endpoint], ready_callable=start_smtp).run()
        except OSError as exc:
            raise CommandError(str(exc)) from exc
