import asyncio
import ctypes
import ctypes.util
import signal

import uvloop
from django.conf import settings
from django.core.management.base import BaseCommand

from maildog_site.heap import freeze_startup_objects
from maildog_site.queries import stop_recording_queries
from metrics.exposition import serve_from_settings as serve_metrics
from smtpd.health import SMTPHealthServer
from smtpd.server import build_service
from smtpd.tls import tls_files


def describe_listeners(service, stdout):
    for listener, port in service.bound:
        mode = "STARTTLS" if listener.mode == "starttls" else "TLS from the first byte"
        stdout.write(f"SMTP listening on {service.bind}:{port} ({mode})")
    files = tls_files()
    if files.ca is not None:
        stdout.write(
            f"TLS: certificates signed by Maildog's local CA. Trust it in your app, e.g.\n"
            f"  SSL_CERT_FILE={files.ca} python manage.py runserver\n"
            f"(the CA is also offered for download on each inbox's Integration tab)."
        )


M_MMAP_THRESHOLD = -3


def return_large_blocks_to_the_system():
    """Have glibc map every block of 1 MB or more on its own, so freeing it returns the memory.

    By default glibc raises that threshold to the size of the largest block
    freed (up to 32 MB): after one 25 MB message, later ones come from the
    heap and stay resident once freed. Other C libraries are left as they are.
    """
    name = ctypes.util.find_library("c")
    if name and "libc.so.6" in name:
        ctypes.CDLL(name).mallopt(M_MMAP_THRESHOLD, 1024 * 1024)


class Command(BaseCommand):
    help = "Run Maildog's SMTP server: catches every message, delivers none."

    def add_arguments(self, parser):
        parser.add_argument("--bind", help="Address to listen on (default: MAILDOG_SMTP_BIND).")
        parser.add_argument(
            "--ports", help='Listeners as "port:mode,..." with mode starttls or tls (default: MAILDOG_SMTP_PORTS).'
        )

    def handle(self, *args, **options):
        return_large_blocks_to_the_system()
        stop_recording_queries()
        # uvloop: the SMTP server spends much of its time in socket and TLS I/O.
        uvloop.run(self.serve(options["bind"], options["ports"]))

    async def serve(self, bind, ports):
        service = build_service(bind=bind, ports=ports)
        await service.start()
        freeze_startup_objects()  # what start-up loaded stays out of every later collection
        describe_listeners(service, self.stdout)
        serve_metrics(self.stdout)  # MAILDOG_METRICS_ADDR, when set
        health = None
        if settings.MAILDOG_SMTP_HEALTH_PORT:
            health = SMTPHealthServer(service, settings.MAILDOG_SMTP_HEALTH_BIND, settings.MAILDOG_SMTP_HEALTH_PORT)
            await health.start()
            self.stdout.write(f"Health check on http://{health.bind}:{health.port}/health")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        self.stdout.write(f"Shutting down: finishing sessions (up to {settings.MAILDOG_SHUTDOWN_GRACE}s)")
        # The health check stays up while sessions finish, answering 503 (listeners closed).
        await service.stop(settings.MAILDOG_SHUTDOWN_GRACE)
        if health is not None:
            await health.stop()
        self.stdout.write("SMTP server stopped")
