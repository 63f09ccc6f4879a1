"""``latchwork serve``: wires the store, the supervisor, the worker pool and the gRPC server.

Shutdown on SIGTERM or SIGINT is orderly: stop taking requests, requeue running work and end
its processes, then close the store, so a restart finds nothing half done.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from latchwork.sandbox.python.pool import Limits, SandboxPool
from latchwork.v1 import supervisor_pb2, worker_pb2, worker_pb2_grpc

from .api.registration import add_supervisor_service
from .api.supervisor_service import SupervisorService
from .api.worker_service import WorkerService
from .auth import TokenInterceptor, load_tokens
from .callbacks import LanguagePolicy
from .callrunner import CallbackRunner
from .config import Settings
from .localpool import LocalPool
from .mailer import Mailer, MailSettings
from .output import OutputStore
from .runner import kill_orphans
from .store import SqliteStore
from .supervisor import Supervisor

log = logging.getLogger("latchwork")

SERVICE_NAMES = (
    supervisor_pb2.DESCRIPTOR.services_by_name["SupervisorService"].full_name,
    worker_pb2.DESCRIPTOR.services_by_name["WorkerService"].full_name,
)


def language_policy(settings: Settings, mail: MailSettings) -> LanguagePolicy:
    """The languages callbacks may use here, and the reason for each one refused."""
    enabled = set(settings.enabled_languages)
    reasons = {
        language: "disabled in this supervisor's configuration (languages)"
        for language in ("qube", "python", "mail")
        if language not in enabled
    }
    if "mail" in enabled and not mail.configured:
        enabled.discard("mail")
        reasons["mail"] = "no SMTP server is configured (smtp_host)"
    return LanguagePolicy(enabled=frozenset(enabled), reasons=reasons)


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(settings.database, durability=settings.durability)
    outputs = OutputStore(settings.output_dir)
    mail = MailSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        username=settings.smtp_user,
        password=settings.smtp_password,
        sender=settings.mail_from,
    )
    policy = language_policy(settings, mail)
    tokens = load_tokens(Path(settings.tokens_file)) if settings.tokens_file else {}
    admins = settings.admin_set | {who.user for who in tokens.values() if who.admin}
    supervisor = Supervisor(store, outputs, languages=policy, admins=admins)
    sandbox: SandboxPool | None = None
    if "python" in policy.enabled:
        sandbox = SandboxPool(
            size=settings.sandbox_workers,
            limits=Limits(
                cpu_seconds=settings.callback_cpu_seconds,
                wall_seconds=settings.callback_wall_seconds,
                memory_bytes=settings.callback_memory_mb * 2**20,
            ),
        )
        await sandbox.start()
    callback_runner = CallbackRunner(
        supervisor, sandbox, Mailer(mail), concurrency=settings.sandbox_workers
    )
    supervisor.callback_runner = callback_runner
    stale = supervisor.recover()
    if stale:
        orphans = kill_orphans(stale)
        log.warning(
            "requeued %d work items left running by the previous supervisor "
            "(killed %d leftover processes)",
            len(stale),
            len(orphans),
        )
    runner_task = asyncio.create_task(callback_runner.serve())
    # Firings recorded but not carried out before the last stop run first (the outbox).
    supervisor.resume_pending_runs()

    server = grpc.aio.server(
        interceptors=[TokenInterceptor(tokens)] if tokens else None,
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ],
    )
    add_supervisor_service(
        SupervisorService(supervisor, heartbeat_seconds=settings.heartbeat_seconds), server
    )
    worker_service = WorkerService(supervisor, heartbeat_seconds=settings.heartbeat_seconds)
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(worker_service, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    if settings.tls_cert and settings.tls_key:
        credentials = grpc.ssl_server_credentials(
            [(Path(settings.tls_key).read_bytes(), Path(settings.tls_cert).read_bytes())]
        )
        port = server.add_secure_port(settings.listen, credentials)
    else:
        port = server.add_insecure_port(settings.listen)
    if port == 0:
        raise SystemExit(f"latchwork: cannot listen on {settings.listen}")
    await server.start()
    for name in ("", *SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    pool = LocalPool(
        supervisor,
        outputs,
        slots=settings.slots,
        host=settings.host,
        kill_grace=settings.kill_grace_seconds,
    )
    pool_task = asyncio.create_task(pool.run()) if settings.slots > 0 else None
    reaper = asyncio.create_task(worker_service.reap_lost_workers())
    timers = asyncio.create_task(supervisor.run_timers())
    retention = asyncio.create_task(_retain(supervisor, settings))
    host = settings.listen.rsplit(":", 1)[0]
    print(
        f"latchwork: serving on {host}:{port} (data {settings.data_dir}, "
        f"{settings.slots} local slots)",
        flush=True,
    )

    await stop.wait()
    log.info("shutting down")
    await health_servicer.enter_graceful_shutdown()
    reaper.cancel()
    timers.cancel()
    retention.cancel()
    runner_task.cancel()
    if sandbox is not None:
        await sandbox.close()
    supervisor.requeue_all("the supervisor shut down while it ran")
    await pool.stop()
    if pool_task is not None:
        pool_task.cancel()
    await server.stop(settings.shutdown_grace_seconds)
    store.close()
    print("latchwork: stopped", flush=True)


async def _retain(supervisor: Supervisor, settings: Settings) -> None:
    """Trim the event log to its retention, now and then (nothing, by default)."""
    if settings.retention_events <= 0 and settings.retention_days <= 0:
        return
    while True:
        before = time.time() - settings.retention_days * 86400 if settings.retention_days else 0
        store = supervisor.store
        deleted = store.trim_events(keep_last=settings.retention_events, before_time=before)
        if deleted:
            oldest = store.oldest_seq()
            supervisor.log.forget_before(oldest)
            log.info("retention: deleted %d events; the oldest is now %d", deleted, oldest)
        await asyncio.sleep(settings.retention_check_seconds)


def run(settings: Settings) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(serve(settings))
