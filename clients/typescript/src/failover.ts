/**
 * Several supervisors share one store and only the leader listens: a standby refuses connections
 * until it takes over. A client given several addresses ("host:port,host:port") therefore talks
 * to one at a time and, when a call fails with UNAVAILABLE, moves on to the next (cycling):
 *
 * - `FailoverChannel` is a grpc-js channel over one channel per address that sends each new call
 *   to the current one;
 * - `failoverInterceptor` moves it on after an UNAVAILABLE and retries the calls that are safe to
 *   repeat (the reads, Submit with its request id, the controls) on the next address, each address
 *   once per cycle, with a backoff between cycles, within the call's deadline (30 s without
 *   one). AddCallbacks is not retried (it would add twice): it fails, and the next call goes to
 *   the next address.
 *
 * With several addresses no call waits for an address to come back (no wait-for-ready).
 */
import * as grpc from "@grpc/grpc-js";

/** The calls whose effect is the same when sent twice. */
export const REPEATABLE: ReadonlySet<string> = new Set(
  [
    "GetJob", "ListJobs", "ExplainJob", "SummarizeFarm", "ValidateTrigger", "GetWorkOutput",
    "ListHosts", "GetHost", "ListCallbackRuns", "Submit", "ControlJobs", "ControlHosts", "ModifyJobs",
  ].map((name) => `/latchwork.v1.SupervisorService/${name}`),
);

const RETRY_FOR_MS = 30_000;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2000;

/** "a:1, b:2" -> ["a:1", "b:2"]: the addresses in order, blanks dropped. */
export function splitAddresses(list: string): string[] {
  return list.split(",").map((address) => address.trim()).filter((address) => address !== "");
}

type CreateCall = grpc.ChannelInterface["createCall"];
type AttemptCall = ReturnType<grpc.NextCall>;

/** One channel per address; new calls go to the current one. */
export class FailoverChannel implements grpc.ChannelInterface {
  readonly addresses: readonly string[];
  private readonly channels: grpc.ChannelInterface[];
  private current = 0;

  constructor(addresses: string[], credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions) {
    this.addresses = addresses;
    this.channels = addresses.map((address) => new grpc.Channel(address, credentials, options));
  }

  /** Index of the address new calls go to. */
  get index(): number {
    return this.current;
  }

  /** Moves on from address `index` after an UNAVAILABLE (once, however many calls failed there). */
  failed(index: number, code: grpc.status): void {
    if (code === grpc.status.UNAVAILABLE && this.current === index) {
      this.current = (index + 1) % this.channels.length;
    }
  }

  createCall(...args: Parameters<CreateCall>): ReturnType<CreateCall> {
    return this.channel().createCall(...args);
  }

  close(): void {
    for (const channel of this.channels) channel.close();
  }

  getTarget(): string {
    return this.addresses.join(",");
  }

  getConnectivityState(tryToConnect: boolean): grpc.connectivityState {
    return this.channel().getConnectivityState(tryToConnect);
  }

  watchConnectivityState(
    state: grpc.connectivityState,
    deadline: Date | number,
    callback: (error?: Error) => void,
  ): void {
    this.channel().watchConnectivityState(state, deadline, callback);
  }

  getChannelzRef(): ReturnType<grpc.ChannelInterface["getChannelzRef"]> {
    return this.channel().getChannelzRef();
  }

  private channel(): grpc.ChannelInterface {
    return this.channels[this.current] as grpc.ChannelInterface;
  }
}

/** How many addresses a client's calls can go to (1 unless it was given several). */
export function addressCount(client: grpc.Client): number {
  const channel = client.getChannel();
  return channel instanceof FailoverChannel ? channel.addresses.length : 1;
}

/** Moves `channel` on after UNAVAILABLE; retries the repeatable unary calls on the next address. */
export function failoverInterceptor(channel: FailoverChannel): grpc.Interceptor {
  return (options, nextCall) => {
    const definition = options.method_definition;
    const index = channel.index;
    const first = nextCall(options); // created on the current address's channel
    const observe: grpc.Requester = {
      start(metadata, listener, next) {
        metadata.setOptions({ ...metadata.getOptions(), waitForReady: false });
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            channel.failed(index, status.code);
            nextStatus(status);
          },
        });
      },
    };
    const unary = !definition.requestStream && !definition.responseStream;
    if (!unary || !REPEATABLE.has(definition.path)) return new grpc.InterceptingCall(first, observe);
    const deadline = options.deadline instanceof Date ? options.deadline.getTime() : options.deadline;
    const giveUpAt = Number.isFinite(deadline) ? (deadline as number) : Date.now() + RETRY_FOR_MS;
    return new grpc.InterceptingCall(first, retrying(channel, index, giveUpAt, () => nextCall(options)));
  };
}

/** The requester of a repeatable unary call: replays it on the next address after UNAVAILABLE. */
function retrying(
  channel: FailoverChannel,
  firstIndex: number,
  giveUpAt: number,
  nextCall: () => AttemptCall,
): grpc.Requester {
  let delayMs = FIRST_DELAY_MS;
  let attempts = 1;
  let metadata: grpc.Metadata | undefined;
  let message: unknown;
  let halfClosed = false;
  let cancelled = false;
  let retry: AttemptCall | undefined;
  let timer: NodeJS.Timeout | undefined;
  let outer: grpc.InterceptingListener | undefined;

  // One attempt's answer, held until its status says whether it is the call's answer.
  const attemptListener = (index: number) => {
    let headers: grpc.Metadata | undefined;
    let reply: unknown;
    return {
      onReceiveMetadata: (received: grpc.Metadata) => void (headers = received),
      onReceiveMessage: (received: unknown) => void (reply = received),
      onReceiveStatus: (status: grpc.StatusObject) => {
        channel.failed(index, status.code);
        const again = status.code === grpc.status.UNAVAILABLE && halfClosed && !cancelled;
        if (again && attempts % channel.addresses.length !== 0) return attempt();
        if (again && Date.now() + delayMs < giveUpAt) {
          timer = setTimeout(attempt, delayMs);
          delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
          return;
        }
        if (headers) outer?.onReceiveMetadata(headers);
        outer?.onReceiveMessage(reply);
        outer?.onReceiveStatus(status);
      },
    };
  };

  const attempt = (): void => {
    timer = undefined;
    attempts += 1;
    const index = channel.index;
    retry = nextCall();
    retry.start((metadata as grpc.Metadata).clone(), attemptListener(index));
    retry.sendMessage(message);
    retry.halfClose();
  };

  return {
    start(sent, listener, next) {
      sent.setOptions({ ...sent.getOptions(), waitForReady: false });
      metadata = sent.clone();
      outer = listener;
      const first = attemptListener(firstIndex);
      next(sent, {
        onReceiveMetadata: (received: grpc.Metadata) => first.onReceiveMetadata(received),
        onReceiveMessage: (received: unknown) => first.onReceiveMessage(received),
        onReceiveStatus: (status: grpc.StatusObject) => first.onReceiveStatus(status),
      });
    },
    sendMessage(sent, next) {
      message = sent;
      next(sent);
    },
    halfClose(next) {
      halfClosed = true;
      next();
    },
    cancel(next) {
      cancelled = true;
      if (timer !== undefined) {
        clearTimeout(timer);
        outer?.onReceiveStatus({
          code: grpc.status.CANCELLED,
          details: "Cancelled on client",
          metadata: new grpc.Metadata(),
        });
      }
      retry?.cancelWithStatus(grpc.status.CANCELLED, "Cancelled on client");
      next();
    },
  };
}
