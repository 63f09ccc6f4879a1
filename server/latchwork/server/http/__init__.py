"""The supervisor's HTTP side: the dashboard, a JSON + server-sent-events API, health, metrics.

It runs in the supervisor's process and event loop, beside the gRPC server, and adds no second
way in: every JSON handler calls the gRPC API itself, over a private channel (a Unix socket in
the data directory served by the same grpc.aio server), with the caller's bearer token or, in
open mode, their user name as metadata, exactly as a gRPC client would. So authorization,
visibility, validation and every refusal are the gRPC ones, and the HTTP side maps their
status codes to HTTP ones. Two reads that every open dashboard makes all the time, the event
stream and the overview, ask the supervisor in process instead: the same request checks, the
same summaries and the same read scope for the same identity, without encoding every event and
every overview twice in the supervisor's one event loop (docs/benchmarks.md, dashboard load).
The layers, outermost first:

- :mod:`.site`: binding the address (the default port may be taken: a warning; an explicit one:
  a refusal at start), starting and stopping the aiohttp runner;
- :mod:`.app`: the aiohttp application: static files, ``/healthz``, ``/metrics`` and the routes;
- :mod:`.sessions`: who is calling (bearer header or session cookie), login and logout, the
  CSRF header on every POST, and open mode's read-only rule;
- :mod:`.routes`, :mod:`.overview`, :mod:`.graph`, :mod:`.job_events`, :mod:`.sse`: the
  endpoints, each turning HTTP requests into gRPC calls and their answers into JSON;
- :mod:`.bridge` and :mod:`.calls`: the in-process gRPC channel, the credentials passed on it
  and a handler's stub and metadata;
- :mod:`.local_events` and :mod:`.local_overview`: Subscribe's generator and SummarizeFarm's
  summaries, called directly for the caller the sessions authenticated;
- :mod:`.json_bodies` and :mod:`.errors`: proto messages as JSON (proto field names) and gRPC
  statuses as ``{"error": {...}}`` with the matching HTTP status.
"""
