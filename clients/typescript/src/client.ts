/**
 * The small hand-written layer over the generated grpc-js clients (src/gen, from ts-proto):
 *
 * - `connect` builds both service clients on one channel and puts the caller's identity on every
 *   call, so no call site has to remember the metadata;
 * - `unary` turns a callback-style unary method into a Promise;
 * - `subscribe` is the event stream as an async generator that survives a lost connection or a
 *   supervisor restart: it reopens the stream after the last position it delivered.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import * as grpc from "@grpc/grpc-js";

import { FailoverChannel, addressCount, failoverInterceptor, splitAddresses } from "./failover.js";
import { SubscribeRequest, type SubscribeResponse, SupervisorServiceClient } from "./gen/latchwork/v1/supervisor.js";
import { WorkerServiceClient } from "./gen/latchwork/v1/worker.js";

/** Where `connect` goes when neither an address nor LATCHWORK_ADDRESS is given. */
export const DEFAULT_ADDRESS = "localhost:50051";

/** What `connect` needs; every field falls back to the environment, as the other clients do. */
export interface ConnectOptions {
  /**
   * host:port of the supervisor, or several comma-separated (supervisors of which one leads: calls
   * go to one at a time and move on when it is UNAVAILABLE; failover.ts). Default:
   * LATCHWORK_ADDRESS, else localhost:50051.
   */
  address?: string;
  /** Sent as `latchwork-user` on every call (default: LATCHWORK_USER, else USER, else "example"). */
  user?: string;
  /** Sent as `authorization: Bearer <token>` when set (default: LATCHWORK_TOKEN). */
  token?: string;
  /** PEM file of the CA to trust; when set the channel uses TLS (default: LATCHWORK_TLS_CA). */
  tlsCaFile?: string;
  /** Extra grpc-js channel options (they override the reconnect backoff set here). */
  channelOptions?: Partial<grpc.ChannelOptions>;
}

/** The two service clients, sharing one channel. */
export interface Latchwork {
  readonly address: string;
  readonly supervisor: SupervisorServiceClient;
  readonly worker: WorkerServiceClient;
  /** Closes the shared channel; calls in flight are cancelled. */
  close(): void;
}

// grpc-js backs off up to two minutes between reconnect attempts by default; a supervisor
// restart takes about a second, so keep the waits short (the Python client does the same).
const RECONNECT_OPTIONS: Partial<grpc.ChannelOptions> = {
  "grpc.initial_reconnect_backoff_ms": 200,
  "grpc.max_reconnect_backoff_ms": 2000,
  // A leader that hangs with its connections open answers nothing and closes nothing: while a
  // call is in flight, ping after 10 s without a frame and close the connection when a ping goes
  // unanswered for 5 s, so the call fails UNAVAILABLE and the client moves to its next address.
  "grpc.keepalive_time_ms": 10000,
  "grpc.keepalive_timeout_ms": 5000,
};

/** Opens a channel to the supervisor; no I/O happens until the first call. */
export function connect(options: ConnectOptions = {}): Latchwork {
  const env = process.env;
  const address = options.address || env.LATCHWORK_ADDRESS || DEFAULT_ADDRESS;
  const user = options.user || env.LATCHWORK_USER || env.USER || "example";
  const token = options.token ?? (env.LATCHWORK_TOKEN || undefined);
  const caFile = options.tlsCaFile ?? (env.LATCHWORK_TLS_CA || undefined);
  const credentials = caFile
    ? grpc.credentials.createSsl(readFileSync(caFile))
    : grpc.credentials.createInsecure();

  // An interceptor rather than call credentials: grpc-js refuses call credentials on an insecure
  // channel, and the identity must travel on plain-text local channels too.
  const identify: grpc.Interceptor = (callOptions, nextCall) =>
    new grpc.InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        metadata.set("latchwork-user", user);
        if (token) metadata.set("authorization", `Bearer ${token}`);
        next(metadata, listener);
      },
    });

  const channelOptions = { ...RECONNECT_OPTIONS, ...options.channelOptions };
  const clientOptions: grpc.ClientOptions = { ...channelOptions, interceptors: [identify] };
  const addresses = splitAddresses(address);
  if (addresses.length === 0) throw new Error(`latchwork: no address in ${JSON.stringify(address)}`);
  if (addresses.length > 1) {
    const channel = new FailoverChannel(addresses, credentials, channelOptions);
    clientOptions.channelOverride = channel;
    clientOptions.interceptors = [identify, failoverInterceptor(channel)];
  }
  const supervisor = new SupervisorServiceClient(address, credentials, clientOptions);
  const worker = new WorkerServiceClient(address, credentials, {
    ...clientOptions,
    channelOverride: supervisor.getChannel(),
  });
  return { address, supervisor, worker, close: () => supervisor.close() };
}

/** The last (fullest) overload of every unary method of a generated client. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * Calls a unary method as a Promise that rejects with the grpc-js `ServiceError`. Pass the method
 * bound to its client, e.g. `await unary(lw.supervisor.submit.bind(lw.supervisor), request)`:
 * generated clients are callback-style and read `this`.
 */
export function unary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  options: Partial<grpc.CallOptions> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new grpc.Metadata(), options, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

/**
 * The events the stream should resume after are no longer in the supervisor's retention
 * (OUT_OF_RANGE): resuming would silently skip some, so the stream stops instead. Start over from
 * a snapshot (or `afterSeq: -1`) if missing events is acceptable.
 */
export class StreamGapError extends Error {
  override readonly name = "StreamGapError";
  /** The position the stream tried to resume after. */
  readonly afterSeq: number;

  constructor(afterSeq: number, cause: grpc.ServiceError) {
    super(`cannot resume the event stream after seq ${afterSeq}: ${cause.details}`, { cause });
    this.afterSeq = afterSeq;
  }
}

export interface SubscribeOptions {
  /** Ends the stream: the generator returns (it does not throw) once this is aborted. */
  signal?: AbortSignal;
  /**
   * Called before each reopen, with the seq the stream resumes after and why it ended
   * (undefined: the server closed it normally). Handy for a diagnostic line.
   */
  onResume?: (afterSeq: number, error: grpc.ServiceError | undefined) => void;
}

// A lost connection (UNAVAILABLE), a broken HTTP/2 stream that the transport reports as UNKNOWN
// (the supervisor never sends UNKNOWN itself) and a call cut by a shutting-down server
// (CANCELLED, which we never see for our own cancel since we stop reading first) are worth
// reopening: docs/subscribe.md, "Resuming, from any language". Anything else (a bad request,
// permission, the supervisor's INTERNAL) would fail the same way again, so it is thrown.
export const RESUMABLE: ReadonlySet<grpc.status> = new Set<grpc.status>([
  grpc.status.UNAVAILABLE,
  grpc.status.UNKNOWN,
  grpc.status.CANCELLED,
]);
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2000;

/**
 * `SupervisorService.Subscribe` that resumes by itself: it yields the `SubscribeResponse` items
 * (events, heartbeats, snapshot items) and, when the stream breaks (`RESUMABLE`: connection lost,
 * server restart or shutdown), reopens it with the same filters and `afterSeq` = the last position
 * delivered (the last event's seq, or a later heartbeat's head_seq), with wait-for-ready and a short
 * backoff. The consumer therefore sees every matching event once, in order; as a defence it never
 * yields an event whose seq is not above the last one. A snapshot is only requested again if the
 * previous call broke before its `snapshotEnd`.
 *
 * Errors: OUT_OF_RANGE throws `StreamGapError`; anything else is thrown as the grpc-js
 * `ServiceError`. Only the first call fails fast: until the supervisor has sent one item, even
 * UNAVAILABLE (a wrong address, a supervisor that is down) is thrown rather than waited out.
 * With several addresses (`connect`'s failover), that first call tries each address once, and a
 * broken stream reopens on the next address, after the same last position.
 *
 * Note: when the stream breaks before anything told it a position (afterSeq -1 and neither an
 * event nor a heartbeat yet), it can only resume "from now" (-1) again.
 */
export async function* subscribe(
  client: SupervisorServiceClient,
  request: Partial<SubscribeRequest>,
  options: SubscribeOptions = {},
): AsyncGenerator<SubscribeResponse, void, undefined> {
  const { signal, onResume } = options;
  const base = SubscribeRequest.fromPartial(request);
  let position = base.afterSeq; // every event up to here was delivered (-1: not known yet)
  let snapshotOwed = base.snapshot;
  // Until the supervisor has answered once, a failure is a wrong address, a supervisor that is
  // down or a refused request: reported at once (no wait-for-ready, no retry), not waited out.
  let answered = false;
  let untried = addressCount(client) - 1; // a first call tries each address once
  let delayMs = FIRST_DELAY_MS;

  while (!signal?.aborted) {
    const call = client.subscribe(
      { ...base, afterSeq: position, snapshot: snapshotOwed },
      new grpc.Metadata({ waitForReady: answered }),
    );
    const cancel = () => call.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    let error: grpc.ServiceError | undefined;
    try {
      for await (const response of call as AsyncIterable<SubscribeResponse>) {
        answered = true;
        delayMs = FIRST_DELAY_MS; // the call made progress: the next failure is a fresh one
        const item = response.item;
        if (item?.$case === "event") {
          if (position >= 0 && item.value.seq <= position) continue; // delivered before a reopen
          position = item.value.seq;
        } else if (item?.$case === "heartbeat" && !snapshotOwed) {
          // Sent only when the server has caught up: nothing up to head_seq is left to send.
          position = Math.max(position, item.value.headSeq);
        } else if (item?.$case === "snapshotEnd") {
          snapshotOwed = false;
          position = item.value.seq;
        }
        yield response;
      }
    } catch (caught) {
      if (!isServiceError(caught)) throw caught;
      error = caught;
    } finally {
      signal?.removeEventListener("abort", cancel);
      call.cancel(); // no-op if it already ended; frees the call when the consumer stopped early
    }
    if (signal?.aborted) return;
    if (error?.code === grpc.status.OUT_OF_RANGE) throw new StreamGapError(position, error);
    if (error?.code === grpc.status.UNAVAILABLE && !answered && untried-- > 0) continue;
    if (error && !(answered && RESUMABLE.has(error.code))) throw error;

    onResume?.(position, error);
    try {
      await sleep(delayMs * (0.5 + Math.random() / 2), undefined, { signal });
    } catch {
      return; // aborted while waiting
    }
    delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
  }
}

function isServiceError(value: unknown): value is grpc.ServiceError {
  return value instanceof Error && typeof (value as Partial<grpc.ServiceError>).code === "number";
}
