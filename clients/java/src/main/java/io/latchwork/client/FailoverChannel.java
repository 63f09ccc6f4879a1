package io.latchwork.client;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A channel over several supervisors' addresses, of which one leads: a standby refuses connections
 * until it takes over. Calls go to one address at a time; a call that fails with UNAVAILABLE moves
 * the channel on to the next address (cycling). The unary calls that are safe to repeat ({@link
 * #REPEATABLE}: the reads, Submit with its request id, the controls) are retried on the next
 * address, each address once per cycle, with a backoff between cycles, within the call's deadline
 * (30 s without one). AddCallbacks is not retried (it would add twice): it fails, and the next
 * call goes to the next address. No call waits for an address to come back (wait-for-ready is
 * dropped): it fails over.
 */
public final class FailoverChannel extends ManagedChannel {
  /** Full names of the calls whose effect is the same when sent twice. */
  public static final Set<String> REPEATABLE =
      Set.of(
          "GetJob", "ListJobs", "ExplainJob", "SummarizeFarm", "ValidateTrigger", "GetWorkOutput",
          "ListHosts", "GetHost", "ListCallbackRuns", "Submit", "ControlJobs", "ControlHosts",
          "ModifyJobs")
          .stream()
          .map(name -> "latchwork.v1.SupervisorService/" + name)
          .collect(java.util.stream.Collectors.toUnmodifiableSet());

  private static final long RETRY_FOR_MILLIS = 30_000;
  private static final long FIRST_DELAY_MILLIS = 100;
  private static final long MAX_DELAY_MILLIS = 2000;

  private final List<String> addresses;
  private final List<ManagedChannel> channels;
  private final ScheduledExecutorService scheduler;
  private final AtomicInteger current = new AtomicInteger();

  FailoverChannel(
      List<String> addresses, List<ManagedChannel> channels, ScheduledExecutorService scheduler) {
    this.addresses = List.copyOf(addresses);
    this.channels = List.copyOf(channels);
    this.scheduler = scheduler;
  }

  /** Splits {@code "host:port, host:port"} into its addresses, in order, blanks dropped. */
  public static List<String> split(String list) {
    List<String> addresses = new ArrayList<>();
    for (String address : list.split(",")) {
      if (!address.isBlank()) {
        addresses.add(address.strip());
      }
    }
    return addresses;
  }

  /** The addresses, in order. */
  public List<String> addresses() {
    return addresses;
  }

  /** The address new calls go to. */
  public String currentAddress() {
    return addresses.get(current.get());
  }

  /** Moves on from address {@code index} after UNAVAILABLE (once, however many calls failed). */
  private void failed(int index, Status status) {
    if (status.getCode() == Status.Code.UNAVAILABLE) {
      current.compareAndSet(index, (index + 1) % channels.size());
    }
  }

  @Override
  public <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> method, CallOptions options) {
    CallOptions once = options.withoutWaitForReady();
    if (method.getType() == MethodDescriptor.MethodType.UNARY
        && REPEATABLE.contains(method.getFullMethodName())) {
      return new RetryingCall<>(method, once);
    }
    int index = current.get();
    return new ForwardingClientCall.SimpleForwardingClientCall<Q, R>(
        channels.get(index).newCall(method, once)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        super.start(
            new ForwardingClientCallListener.SimpleForwardingClientCallListener<R>(listener) {
              @Override
              public void onClose(Status status, Metadata trailers) {
                failed(index, status);
                super.onClose(status, trailers);
              }
            },
            headers);
      }
    };
  }

  @Override
  public String authority() {
    return channels.get(current.get()).authority();
  }

  @Override
  public ManagedChannel shutdown() {
    channels.forEach(ManagedChannel::shutdown);
    return this;
  }

  @Override
  public ManagedChannel shutdownNow() {
    channels.forEach(ManagedChannel::shutdownNow);
    return this;
  }

  @Override
  public boolean isShutdown() {
    return channels.stream().allMatch(ManagedChannel::isShutdown);
  }

  @Override
  public boolean isTerminated() {
    return channels.stream().allMatch(ManagedChannel::isTerminated);
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    long until = System.nanoTime() + unit.toNanos(timeout);
    for (ManagedChannel channel : channels) {
      if (!channel.awaitTermination(until - System.nanoTime(), TimeUnit.NANOSECONDS)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public ConnectivityState getState(boolean requestConnection) {
    return channels.get(current.get()).getState(requestConnection);
  }

  @Override
  public void notifyWhenStateChanged(ConnectivityState source, Runnable callback) {
    channels.get(current.get()).notifyWhenStateChanged(source, callback);
  }

  @Override
  public void resetConnectBackoff() {
    channels.forEach(ManagedChannel::resetConnectBackoff);
  }

  /** A repeatable unary call: replayed on the next address while the last one is UNAVAILABLE. */
  private final class RetryingCall<Q, R> extends ClientCall<Q, R> {
    private final MethodDescriptor<Q, R> method;
    private final CallOptions options;
    private final long giveUpAt;
    private long delayMillis = FIRST_DELAY_MILLIS;
    private int attempts;
    private Listener<R> outer;
    private Metadata headers;
    private Q message;
    private int requested;
    private boolean halfClosed;
    private boolean cancelled;
    private ClientCall<Q, R> call;
    private ScheduledFuture<?> pending;

    RetryingCall(MethodDescriptor<Q, R> method, CallOptions options) {
      this.method = method;
      this.options = options;
      long within =
          options.getDeadline() != null
              ? options.getDeadline().timeRemaining(TimeUnit.NANOSECONDS)
              : TimeUnit.MILLISECONDS.toNanos(RETRY_FOR_MILLIS);
      this.giveUpAt = System.nanoTime() + within;
    }

    @Override
    public synchronized void start(Listener<R> listener, Metadata headers) {
      this.outer = listener;
      this.headers = headers;
      attempt();
    }

    @Override
    public synchronized void request(int count) {
      requested += count;
      call.request(count);
    }

    @Override
    public synchronized void sendMessage(Q sent) {
      message = sent;
      call.sendMessage(sent);
    }

    @Override
    public synchronized void halfClose() {
      halfClosed = true;
      call.halfClose();
    }

    @Override
    public boolean isReady() {
      synchronized (this) {
        return call.isReady();
      }
    }

    @Override
    public void cancel(String why, Throwable cause) {
      boolean waiting;
      synchronized (this) {
        cancelled = true;
        waiting = pending != null && pending.cancel(false);
        if (!waiting) {
          call.cancel(why, cause);
        }
      }
      if (waiting) {
        outer.onClose(Status.CANCELLED.withDescription(why).withCause(cause), new Metadata());
      }
    }

    /** Starts an attempt on the current address, replaying what the caller sent so far. */
    private void attempt() {
      pending = null;
      attempts += 1;
      int index = current.get();
      ClientCall<Q, R> next = channels.get(index).newCall(method, options);
      call = next;
      Metadata copy = new Metadata();
      copy.merge(headers);
      next.start(new Attempt(index), copy);
      if (requested > 0) {
        next.request(requested);
      }
      if (message != null) {
        next.sendMessage(message);
      }
      if (halfClosed) {
        next.halfClose();
      }
    }

    /** One attempt's answer, held until its status says whether it is the call's answer. */
    private final class Attempt extends Listener<R> {
      private final int index;
      private Metadata replyHeaders;
      private R reply;

      Attempt(int index) {
        this.index = index;
      }

      @Override
      public void onHeaders(Metadata received) {
        replyHeaders = received;
      }

      @Override
      public void onMessage(R received) {
        reply = received;
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        failed(index, status);
        synchronized (RetryingCall.this) {
          if (status.getCode() == Status.Code.UNAVAILABLE && halfClosed && !cancelled) {
            if (attempts % channels.size() != 0) {
              attempt();
              return;
            }
            if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMillis) < giveUpAt) {
              try {
                pending = scheduler.schedule(this::retry, delayMillis, TimeUnit.MILLISECONDS);
                delayMillis = Math.min(delayMillis * 2, MAX_DELAY_MILLIS);
                return;
              } catch (RejectedExecutionException closed) {
                // the connection is closing: report this attempt's status
              }
            }
          }
        }
        if (replyHeaders != null) {
          outer.onHeaders(replyHeaders);
        }
        if (reply != null) {
          outer.onMessage(reply);
        }
        outer.onClose(status, trailers);
      }

      @Override
      public void onReady() {
        outer.onReady();
      }

      private void retry() {
        synchronized (RetryingCall.this) {
          if (!cancelled) {
            attempt();
            return;
          }
        }
        outer.onClose(Status.CANCELLED.withDescription("cancelled while failing over"), new Metadata());
      }
    }
  }
}
