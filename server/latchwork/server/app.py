"""``latchwork serve``: wires the store, the supervisor, the worker pool and the gRPC server.

Start-up refuses, with one line and a non-zero exit, what would corrupt or confuse: a second
supervisor on the same data directory (an exclusive lock, taken before anything is read) or on
the same port, a database that is read-only, foreign, newer or corrupt (the SQLite file in the
data directory, or the PostgreSQL database of ``store``, named without its password), a
tokens file others can read, and open mode (no tokens) on a network address unless allowed
(open_mode.py).

Shutdown on SIGTERM or SIGINT is orderly: stop taking requests, requeue the local pool's
running work and end its processes, then close the store, so a restart finds nothing half done.
Remote workers' frames run on through a restart, however the supervisor stops, and are
re-attached when their workers register again (``reattach_grace_seconds``, docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from latchwork.common import keepalive
from latchwork.sandbox.python.pool import Limits, SandboxPool
from latchwork.v1 import supervisor_pb2, worker_pb2, worker_pb2_grpc

from .api.registration import add_supervisor_service
from .api.supervisor_service import SupervisorService
from .api.unexpected import UnexpectedErrorInterceptor
from .api.worker_service import WorkerService
from .auth import Identity, TokenFileError, TokenInterceptor, load_tokens
from .callbacks import LanguagePolicy
from .callrunner import CallbackRunner, OwnerQueue
from .config import Settings
from .core.firing_budget import FiringBudget
from .core.limits import DEFAULT_LIMITS
from .core.model import CallbackLanguage
from .core.visibility import ReadPolicy, Visibility
from .file_modes import private_dir
from .http.bridge import BridgeSocket
from .http.local_events import LocalEvents
from .http.local_overview import LocalOverview
from .http.sessions import AccessPolicy
from .http.site import HttpSide, bind_http, start_http
from .instance_lock import InstanceLock, InstanceLocked
from .localpool import LocalPool
from .log_format import configure_logging
from .mailer import Mailer, MailSettings
from .metrics import Metrics
from .open_mode import check_open_mode
from .output import OutputStore
from .runner import kill_orphans
from .startup import StartupError
from .store.errors import StorageError, StoreUnusable
from .store.opening import open_store
from .store.protocol import Store
from .store_location import is_postgres, redacted
from .supervisor import Supervisor
from .throttled_log import ThrottledLog
from .universal_callbacks import UniversalCallbacksError, watch_universal_callbacks

log = logging.getLogger("latchwork")

SERVICE_NAMES = (
    supervisor_pb2.DESCRIPTOR.services_by_name["SupervisorService"].full_name,
    worker_pb2.DESCRIPTOR.services_by_name["WorkerService"].full_name,
)


def language_policy(settings: Settings, mail: MailSettings) -> LanguagePolicy:
    """The languages callbacks may use here, and the reason for each one refused."""
    enabled = set(settings.enabled_languages)
    reasons: dict[str, str] = {
        language: "disabled in this supervisor's configuration (languages)"
        for language in CallbackLanguage
        if language not in enabled
    }
    if CallbackLanguage.MAIL in enabled and not mail.configured:
        enabled.discard(CallbackLanguage.MAIL)
        reasons[CallbackLanguage.MAIL] = "no SMTP server is configured (smtp_host)"
    return LanguagePolicy(enabled=frozenset(enabled), reasons=reasons)


LOCK_NAME = "latchwork.lock"
RESTART_FIRST_SECONDS = 0.5
RESTART_MAX_SECONDS = 5.0


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run the supervisor until ``stop`` (or SIGTERM/SIGINT). Raises ``StartupError``, one line
    naming what is in the way, when it cannot start: the data directory is in use by another
    supervisor, the address is taken, the database cannot be used."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    lock = _lock_data_dir(settings.data_dir)
    try:
        await _serve_locked(settings, stop, lock)
    finally:
        lock.release()


def _lock_data_dir(data_dir: Path) -> InstanceLock:
    """One supervisor per data directory, locked before anything in it is read. The
    directory is private (0700: :mod:`latchwork.server.file_modes`)."""
    try:
        private_dir(data_dir)
        return InstanceLock.acquire(data_dir / LOCK_NAME, "starting")
    except InstanceLocked as held:
        raise StartupError(f"data directory {data_dir} is in use by {held.holder()}") from None
    except OSError as error:
        problem = "read-only" if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM) else ""
        raise StartupError(
            f"data directory {data_dir} cannot be used"
            f"{f' ({problem})' if problem else ''}: {error.strerror or error}"
        ) from None


def _address_in_use(listen: str) -> bool:
    """Whether another process listens on ``listen`` already. A plain bind first, so the
    refusal is our one line rather than gRPC's log; gRPC's own bind still decides."""
    host, _, port_text = listen.rpartition(":")
    host = host.strip("[]")
    if not port_text.isdigit() or int(port_text) == 0:
        return False
    try:
        addresses = socket.getaddrinfo(host or None, int(port_text), type=socket.SOCK_STREAM)
    except OSError:
        return False
    for family, kind, proto, _, address in addresses:
        with contextlib.suppress(OSError), socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return True
    return False


def _listen(settings: Settings, server: grpc.aio.Server) -> int:
    """Bind the address (before the store is opened: a taken port changes nothing)."""
    if _address_in_use(settings.listen):
        raise StartupError(
            f"cannot listen on {settings.listen}: the address is in use (another supervisor?)"
        )
    try:
        if settings.tls_cert and settings.tls_key:
            credentials = grpc.ssl_server_credentials(
                [(Path(settings.tls_key).read_bytes(), Path(settings.tls_cert).read_bytes())]
            )
            port = server.add_secure_port(settings.listen, credentials)
        else:
            port = server.add_insecure_port(settings.listen)
    except RuntimeError:
        port = 0
    if port == 0:
        raise StartupError(
            f"cannot listen on {settings.listen}: the address is in use (another supervisor?) "
            "or not available on this machine"
        )
    return port


async def _serve_locked(settings: Settings, stop: asyncio.Event, lock: InstanceLock) -> None:
    try:
        tokens = load_tokens(Path(settings.tokens_file)) if settings.tokens_file else {}
    except TokenFileError as error:
        raise StartupError(str(error)) from None
    check_open_mode(settings.listen, bool(tokens), settings.allow_open_network)
    interceptors: list[grpc.aio.ServerInterceptor] = [UnexpectedErrorInterceptor()]
    if tokens:
        interceptors.append(TokenInterceptor(tokens))
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[
            # A Submit over limits.request_bytes is refused as INVALID_ARGUMENT, naming the
            # limit; over twice that, the transport refuses it unread (RESOURCE_EXHAUSTED),
            # which bounds the time spent decoding a hostile message on the loop.
            ("grpc.max_receive_message_length", 2 * DEFAULT_LIMITS.request_bytes),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            # Without this gRPC sets SO_REUSEPORT, and a second supervisor on the same port
            # starts and silently takes half of the connections.
            ("grpc.so_reuseport", 0),
            # Clients' keepalive pings, which find a hung leader, are welcome.
            *keepalive.SERVER_OPTIONS,
        ],
    )
    if not is_postgres(settings.store_location):
        port = _listen(settings, server)
        http_socket = _bind_http(settings, tokens)
        try:
            await _serve_bound(settings, stop, lock, server, tokens, port, http_socket)
        finally:
            if http_socket is not None:
                http_socket.close()
        return
    # PostgreSQL: stand by until this supervisor leads (standby.py); only then bind gRPC.
    from .leadership import Leadership  # psycopg, for PostgreSQL only
    from .standby import keep_the_lead, stand_by
    from .store.postgres_connection import prepare_database

    try:
        await asyncio.to_thread(prepare_database, settings.store)
    except StoreUnusable as error:
        raise StartupError(redacted(str(error), settings.store_location)) from None
    http_socket = _bind_http(settings, tokens)
    leadership = Leadership(
        settings.store, _advertised(settings.listen), lease_seconds=settings.leader_lease_seconds
    )
    deposed = asyncio.Event()
    try:
        lock.describe(f"standing by for {settings.store_name}")
        if not await stand_by(leadership, stop, http_socket):
            return
        port = _listen(settings, server)
        leadership.address = _advertised(settings.listen, port)  # published at the renewal
        keeper = asyncio.create_task(keep_the_lead(leadership, deposed))
        deposed_stops = asyncio.create_task(_stop_when(deposed, stop))
        try:
            await _serve_bound(
                settings, stop, lock, server, tokens, port, http_socket, leadership.epoch, deposed
            )
        finally:
            keeper.cancel()
            deposed_stops.cancel()
        if deposed.is_set():
            raise StartupError(
                f"another supervisor took over {settings.store_name}: this one stopped, having "
                "written nothing since (start it again to stand by)"
            )
        leadership.resign()  # a standby need not wait for the lease to run out
    finally:
        leadership.close()
        if http_socket is not None:
            http_socket.close()


def _bind_http(settings: Settings, tokens: dict[str, Identity]) -> socket.socket | None:
    return bind_http(
        settings.http_listen,
        has_tokens=bool(tokens),
        allow_open_network=settings.allow_open_network,
    )


def _advertised(listen: str, port: int = 0) -> str:
    """The address clients reach this supervisor at, for the leader's row: the listen
    address, with this host's name for a wildcard host and the bound port for port 0."""
    host, _, configured = listen.rpartition(":")
    if host.strip("[]") in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()
    return f"{host}:{port or configured}"


async def _stop_when(event: asyncio.Event, stop: asyncio.Event) -> None:
    await event.wait()
    stop.set()


async def _serve_bound(
    settings: Settings,
    stop: asyncio.Event,
    lock: InstanceLock,
    server: grpc.aio.Server,
    tokens: dict[str, Identity],
    port: int,
    http_socket: socket.socket | None,
    epoch: int | None = None,
    deposed: asyncio.Event | None = None,
) -> None:
    """Open the store (fenced by ``epoch``, when leading a shared database) and serve."""
    host = settings.listen.rsplit(":", 1)[0]
    lock.describe(f"serving on {host}:{port}")
    loop = asyncio.get_running_loop()

    def on_deposed() -> None:  # a write found another leader (from any thread)
        if deposed is not None:
            loop.call_soon_threadsafe(deposed.set)

    store = _open_store(settings, epoch, on_deposed if deposed is not None else None)
    try:
        await _run(settings, stop, server, store, tokens, port, http_socket)
    finally:
        store.close()


def _open_store(
    settings: Settings, epoch: int | None = None, on_deposed: Callable[[], None] | None = None
) -> Store:
    """The SQLite file under the data directory, or the PostgreSQL database of ``store``.
    A refusal names the store with its URL's password masked (store_location.py)."""
    where = settings.store_location
    try:
        return open_store(
            where,
            durability=settings.durability,
            epoch=epoch,
            on_deposed=on_deposed,
            background_check=True,
        )
    except StoreUnusable as error:
        raise StartupError(redacted(str(error), where)) from None
    except StorageError as error:
        problem = redacted(str(error), where)
        raise StartupError(f"{settings.store_name} cannot be used: {problem}") from None
    except OSError as error:
        problem = redacted(str(error), where)
        raise StartupError(f"{settings.store_name} cannot be opened: {problem}") from None


async def _run(
    settings: Settings,
    stop: asyncio.Event,
    server: grpc.aio.Server,
    store: Store,
    tokens: dict[str, Identity],
    port: int,
    http_socket: socket.socket | None,
) -> None:
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
    admins = settings.admin_set | {who.user for who in tokens.values() if who.admin}
    read_policy = ReadPolicy(Visibility(settings.visibility), admins, tokens=bool(tokens))
    # Python and mail runs go from the supervisor to the runner through this queue.
    run_queue = OwnerQueue.for_slots(settings.sandbox_workers, settings.sandbox_owner_runs)
    try:
        supervisor = Supervisor(
            store,
            outputs,
            languages=policy,
            admins=admins,
            freeze_long_lived=True,
            run_queue=run_queue,
            firing_budget=FiringBudget(settings.firing_budget),
            global_resources=settings.global_resource_limits,
            read_policy=read_policy,
            keep_finished_seconds=settings.keep_finished_seconds,
        )
    except StoreUnusable as error:  # the quick check that ran while the state loaded
        raise StartupError(redacted(str(error), settings.store_location)) from None
    try:
        watch_universal_callbacks(supervisor.universal_callbacks, settings.universal_callbacks_dir)
    except UniversalCallbacksError as error:
        raise StartupError(f"universal_callbacks_dir: {error}") from None
    sandbox: SandboxPool | None = None
    if CallbackLanguage.PYTHON in policy.enabled:
        sandbox = SandboxPool(
            size=settings.sandbox_workers,
            limits=Limits(
                cpu_seconds=settings.callback_cpu_seconds,
                wall_seconds=settings.callback_wall_seconds,
                memory_bytes=settings.callback_memory_mb * 2**20,
            ),
            cage=settings.sandbox_cage_settings,
        )
        await sandbox.start()
    callback_runner = CallbackRunner(
        supervisor,
        sandbox,
        Mailer(mail),
        run_queue,
        concurrency=settings.sandbox_workers,
        read_policy=read_policy,
    )
    # Prometheus metrics (docs/operations.md#metrics): the HTTP side's /metrics serves
    # metrics.exposition().
    metrics = Metrics(supervisor, run_queue=run_queue, sandbox=sandbox)
    try:
        stale = supervisor.recover(settings.reattach_grace_seconds)
    except StorageError as error:
        raise StartupError(
            f"{settings.store_name}: cannot record the recovery of running work "
            f"({redacted(str(error), settings.store_location)})"
        ) from None
    if stale:
        # Only the requeued (local) leases: remote frames may run on this machine too.
        orphans = kill_orphans(stale)
        log.warning(
            "requeued %d work items left running by the previous supervisor "
            "(killed %d leftover processes)",
            len(stale),
            len(orphans),
        )
    if supervisor.reattach_deadline() is not None:
        log.info(
            "remote work left running waits up to %g s for its workers to re-attach it",
            settings.reattach_grace_seconds,
        )
    runner_task = asyncio.create_task(_keep_running("callback runner", callback_runner.serve))
    # Firings recorded but not carried out before the last stop run first (the outbox).
    supervisor.resume_pending_runs()

    supervisor_service = SupervisorService(
        supervisor, heartbeat_seconds=settings.heartbeat_seconds, read_policy=read_policy
    )
    add_supervisor_service(supervisor_service, server)
    worker_service = WorkerService(supervisor, heartbeat_seconds=settings.heartbeat_seconds)
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(worker_service, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    # The HTTP side calls the gRPC API over a private Unix socket (server/latchwork/server/http),
    # and reads the event stream and the overview in process (http/local_events.py,
    # http/local_overview.py).
    bridge_socket = BridgeSocket(settings.data_dir) if http_socket is not None else None
    if bridge_socket is not None:
        bridge_socket.add_to(server)
    await server.start()
    http_side: HttpSide | None = None
    if http_socket is not None and bridge_socket is not None:
        bridge_socket.restrict()
        access = AccessPolicy(tokens, frozenset(admins), settings.visibility)
        events = LocalEvents(supervisor, read_policy, settings.heartbeat_seconds)
        local_overview = LocalOverview(supervisor, read_policy, supervisor_service.farm_summaries)
        http_side = await start_http(
            http_socket,
            bridge_socket.address,
            access,
            events,
            local_overview,
            metrics_text=metrics.exposition,
        )
        print(f"latchwork serve: dashboard on {http_side.url}", flush=True)
    for name in ("", *SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    pool = LocalPool(
        supervisor,
        outputs,
        slots=settings.slots,
        host=settings.host,
        kill_grace=settings.kill_grace_seconds,
        policy=settings.frame_policy,
    )
    pool_task = asyncio.create_task(pool.run()) if settings.slots > 0 else None
    reaper = asyncio.create_task(_keep_running("worker reaper", worker_service.reap_lost_workers))
    timers = asyncio.create_task(_keep_running("timers", supervisor.run_timers))
    retention = asyncio.create_task(
        _keep_running("retention", lambda: _retain(supervisor, settings))
    )
    grace = asyncio.create_task(_keep_running("re-attach grace", lambda: _end_grace(supervisor)))
    retiring = asyncio.create_task(
        _keep_running("retiring", lambda: _retire(supervisor, settings.keep_finished_seconds))
    )
    host = settings.listen.rsplit(":", 1)[0]
    store_note = f", store {settings.store_name}" if settings.store else ""
    print(
        f"latchwork: serving on {host}:{port} (data {settings.data_dir}{store_note}, "
        f"{settings.slots} local slots)",
        flush=True,
    )

    await stop.wait()
    log.info("shutting down")
    if http_side is not None:
        await http_side.stop()
    await health_servicer.enter_graceful_shutdown()
    reaper.cancel()
    timers.cancel()
    retention.cancel()
    grace.cancel()
    retiring.cancel()
    runner_task.cancel()
    if sandbox is not None:
        await sandbox.close()
    try:
        # Remote frames run on: their workers re-attach them at the next start.
        supervisor.requeue_on_shutdown("the supervisor shut down while it ran")
    except StorageError as error:
        log.warning("could not requeue running work (%s); the next start requeues it", error)
    await pool.stop()
    if pool_task is not None:
        pool_task.cancel()
    worker_service.end_streams()  # else idle report streams hold the stop for its whole grace
    await server.stop(settings.shutdown_grace_seconds)
    try:
        # The workers' last reports in flight land before the store closes.
        supervisor.close_commits()
    except StorageError as error:
        log.warning("could not store the last reports (%s); their workers report again", error)
    if bridge_socket is not None:
        bridge_socket.remove()
    metrics.close()
    print("latchwork: stopped", flush=True)


async def _keep_running(name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run a background loop for the life of the supervisor. A failure (a full disk, say)
    pauses it and starts it again, rather than ending it silently for good."""
    throttled = ThrottledLog(log)
    delay = RESTART_FIRST_SECONDS
    while True:
        try:
            await work()
            return
        except StorageError as error:
            throttled.warning("%s: storage failure (%s); retrying", name, error)
        except Exception:
            log.exception("%s failed; starting it again", name)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RESTART_MAX_SECONDS)


async def _end_grace(supervisor: Supervisor) -> None:
    """Requeue the remote work no worker re-attached once the grace period after the start
    is over (nothing to do when none waits)."""
    while (deadline := supervisor.reattach_deadline()) is not None:
        await asyncio.sleep(max(deadline - supervisor.clock(), 0.0) + 0.01)
        if requeued := supervisor.requeue_unclaimed():
            log.warning("requeued %d work items no worker re-attached", len(requeued))


async def _retain(supervisor: Supervisor, settings: Settings) -> None:
    """Trim the event log to its retention, now and then (nothing, by default)."""
    if settings.retention_events <= 0 and settings.retention_days <= 0:
        return
    while True:
        before = time.time() - settings.retention_days * 86400 if settings.retention_days else 0
        deleted, oldest = supervisor.forget_history_before(
            before, keep_last=settings.retention_events
        )
        if deleted:
            log.info("retention: deleted %d events; the oldest is now %d", deleted, oldest)
        await asyncio.sleep(settings.retention_check_seconds)


# Rows (jobs, work items, instances) retired at a time, and the pause between two slices: a
# row takes about 1 µs to let go of (a job of 10 frames 12 µs), so a slice holds the event loop
# about a millisecond, and the slices of a busy second (3,000 jobs finished,
# bench/history_memory.py --batch 100) are spread out rather than landing together in
# whatever request is in flight.
RETIRE_SLICE_ROWS = 1_000
RETIRE_PAUSE_SECONDS = 0.002


def retire_period(keep_seconds: float) -> float:
    """How often finished jobs are retired: four times per ``keep_finished_seconds``, at
    least once a minute and at most once a second."""
    return min(60.0, max(1.0, keep_seconds / 4))


async def _retire(supervisor: Supervisor, keep_seconds: float) -> None:
    """Let finished jobs leave memory once they are ``keep_seconds`` old (checked a few times
    per period, at least once a minute): memory follows the live work, not the history."""
    period = retire_period(keep_seconds)
    while True:
        await asyncio.sleep(period)
        retired = 0
        while (slice_ := supervisor.retire_finished_jobs(RETIRE_SLICE_ROWS)) > 0:
            retired += slice_
            await asyncio.sleep(RETIRE_PAUSE_SECONDS)
        if retired:
            log.debug("%d finished jobs left memory (read from the store from now on)", retired)


def run(settings: Settings) -> None:
    """``latchwork serve``; raises ``StartupError`` (one line for the operator) if it cannot."""
    configure_logging(settings.log_format, sys.stderr)
    asyncio.run(serve(settings))
