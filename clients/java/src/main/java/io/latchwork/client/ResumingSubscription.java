package io.latchwork.client;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.latchwork.v1.SubscribeRequest;
import io.latchwork.v1.SubscribeResponse;
import io.latchwork.v1.SupervisorServiceGrpc.SupervisorServiceBlockingStub;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code Subscribe} that survives lost connections: a blocking iterator of {@link
 * SubscribeResponse} items (events, heartbeats, snapshot jobs, the snapshot's end).
 *
 * <p>It remembers its position: the seq of the last event, or a heartbeat's {@code head_seq} or the
 * snapshot's end when later. When the stream ends with UNAVAILABLE (connection lost, supervisor
 * restarted), UNKNOWN (a broken HTTP/2 stream, as some stacks report it), with CANCELLED from the
 * server (it shut down), or simply ends, it calls {@code
 * Subscribe} again with the same filters and {@code after_seq} = the position, with wait-for-ready
 * and a small backoff (100 ms doubling to 2 s), and goes on as if nothing happened. Only once the
 * supervisor has answered: a first call that fails (a wrong address, a supervisor that is down)
 * throws at once (with several addresses, a {@link FailoverChannel}, once each was tried; a
 * broken stream then reopens on the next address, after the same position). It never
 * yields an event whose seq is not above the last one. With {@code snapshot=true} only the first
 * call asks for the snapshot; resumes ask for events after the position (a stream lost before the
 * snapshot's end asks for the snapshot again, so items of the snapshot may repeat).
 *
 * <p>{@link #hasNext()} blocks until an item arrives and throws {@link StreamGapException} when the
 * server no longer has the events after the position (OUT_OF_RANGE), and {@link
 * StatusRuntimeException} for any other error (DEADLINE_EXCEEDED once the deadline passed). It
 * returns false only after {@link #close()}, which may be called from another thread.
 */
public final class ResumingSubscription implements Iterator<SubscribeResponse>, AutoCloseable {
  /** Told about every resume, before waiting; e.g. to log it. */
  @FunctionalInterface
  public interface ResumeListener {
    /**
     * @param afterSeq the position the stream resumes after (-1: only new events)
     * @param cause why the previous call ended
     * @param delayMillis how long it waits before calling again
     */
    void resuming(long afterSeq, Status cause, long delayMillis);
  }

  /** Options of a {@link ResumingSubscription}. */
  public static final class Builder {
    private final SupervisorServiceBlockingStub stub;
    private final SubscribeRequest request;
    private Deadline deadline;
    private ResumeListener listener = (afterSeq, cause, delayMillis) -> {};
    private long initialBackoffMillis = 100;
    private long maxBackoffMillis = 2000;

    private Builder(SupervisorServiceBlockingStub stub, SubscribeRequest request) {
      this.stub = stub;
      this.request = request;
    }

    /** Give up with DEADLINE_EXCEEDED at this deadline (default: never). */
    public Builder deadline(Deadline deadline) {
      this.deadline = deadline;
      return this;
    }

    /** Called on every resume. */
    public Builder onResume(ResumeListener listener) {
      this.listener = listener;
      return this;
    }

    /** Backoff between attempts: from {@code initial} doubling up to {@code max}, jittered. */
    public Builder backoff(long initial, long max, TimeUnit unit) {
      this.initialBackoffMillis = unit.toMillis(initial);
      this.maxBackoffMillis = unit.toMillis(max);
      return this;
    }

    /** The subscription; the first call starts on the first {@link #hasNext()}. */
    public ResumingSubscription build() {
      return new ResumingSubscription(this);
    }
  }

  private final SupervisorServiceBlockingStub stub;
  private final SupervisorServiceBlockingStub readyStub;
  private final SubscribeRequest request;
  private final Deadline deadline;
  private final ResumeListener listener;
  private final long initialBackoffMillis;
  private final long maxBackoffMillis;
  private final Object lock = new Object();

  private volatile long position;
  private boolean snapshotPending;
  private long backoffMillis;
  private boolean started;
  // The supervisor has answered once. Until then a failure is a wrong address, a supervisor that
  // is down or a refused request: thrown at once (no wait-for-ready, no retry), not waited out.
  private boolean answered;
  // With several addresses, the first call tries each once before it throws.
  private int untried;
  private Iterator<SubscribeResponse> call;
  private volatile Context.CancellableContext context;
  private volatile boolean closed;
  private SubscribeResponse next;

  private ResumingSubscription(Builder builder) {
    SupervisorServiceBlockingStub stub = builder.stub;
    if (builder.deadline != null) {
      stub = stub.withDeadline(builder.deadline);
    }
    this.stub = stub;
    this.readyStub = stub.withWaitForReady();
    this.request = builder.request;
    this.deadline = builder.deadline;
    this.listener = builder.listener;
    this.initialBackoffMillis = builder.initialBackoffMillis;
    this.maxBackoffMillis = Math.max(builder.maxBackoffMillis, builder.initialBackoffMillis);
    this.position = request.getAfterSeq();
    this.snapshotPending = request.getSnapshot();
    this.backoffMillis = initialBackoffMillis;
    this.untried =
        stub.getChannel() instanceof FailoverChannel
            ? ((FailoverChannel) stub.getChannel()).addresses().size() - 1
            : 0;
  }

  /** Starts building a subscription that sends {@code request} through {@code stub}. */
  public static Builder builder(SupervisorServiceBlockingStub stub, SubscribeRequest request) {
    return new Builder(stub, request);
  }

  /**
   * The position: every event with a seq up to it was delivered (or filtered out by the server);
   * a resume asks for events after it. -1 (from {@code after_seq=-1}) until the first heartbeat
   * or event.
   */
  public long position() {
    return position;
  }

  @Override
  public boolean hasNext() {
    synchronized (this) {
      if (next != null) {
        return true;
      }
      while (!closed) {
        StatusRuntimeException error;
        try {
          if (call == null) {
            open();
          }
          if (call.hasNext()) {
            SubscribeResponse item = accept(call.next());
            if (item != null) {
              next = item;
              return true;
            }
            continue;
          }
          error = Status.UNAVAILABLE.withDescription("the server ended the stream").asRuntimeException();
        } catch (StatusRuntimeException e) {
          error = e;
        }
        Context.CancellableContext ended = context;
        boolean cancelledHere = ended != null && ended.isCancelled();
        drop();
        if (closed) {
          break;
        }
        if (!answered && untried > 0 && error.getStatus().getCode() == Status.Code.UNAVAILABLE) {
          untried -= 1; // the channel has moved on to the next address
          continue;
        }
        waitToResume(error, cancelledHere);
      }
      return false;
    }
  }

  @Override
  public SubscribeResponse next() {
    synchronized (this) {
      if (!hasNext()) {
        throw new NoSuchElementException("the subscription is closed");
      }
      SubscribeResponse item = next;
      next = null;
      return item;
    }
  }

  /** Cancels the stream; a blocked {@link #hasNext()} returns false. Safe from any thread. */
  @Override
  public void close() {
    closed = true;
    Context.CancellableContext current = context;
    if (current != null) {
      current.cancel(null);
    }
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  private void open() {
    SubscribeRequest.Builder builder = request.toBuilder();
    if (started) {
      builder.setAfterSeq(position).setSnapshot(snapshotPending);
    }
    started = true;
    Context.CancellableContext opened = Context.current().withCancellation();
    context = opened;
    if (closed) {
      opened.cancel(null);
    }
    SubscribeRequest sent = builder.build();
    Context previous = opened.attach();
    try {
      call = (answered ? readyStub : stub).subscribe(sent);
    } finally {
      opened.detach(previous);
    }
  }

  private void drop() {
    Context.CancellableContext current = context;
    if (current != null) {
      current.cancel(null);
    }
    call = null;
  }

  /** What to hand out for {@code item} (null: nothing), moving the position. */
  private SubscribeResponse accept(SubscribeResponse item) {
    backoffMillis = initialBackoffMillis;
    answered = true;
    switch (item.getItemCase()) {
      case EVENT:
        long seq = item.getEvent().getSeq();
        if (position >= 0 && seq <= position) {
          return null; // delivered before the resume
        }
        position = seq;
        return item;
      case SNAPSHOT_END:
        snapshotPending = false;
        position = item.getSnapshotEnd().getSeq();
        return item;
      case HEARTBEAT:
        // Sent only when the server has nothing left to send up to head_seq.
        if (!snapshotPending) {
          position = Math.max(position, item.getHeartbeat().getHeadSeq());
        }
        return item;
      default:
        return item;
    }
  }

  /** Waits before the next attempt after {@code error}, or throws it when it is final. */
  private void waitToResume(StatusRuntimeException error, boolean cancelledHere) {
    Status status = error.getStatus();
    if (stub.getChannel() instanceof ManagedChannel
        && ((ManagedChannel) stub.getChannel()).isShutdown()) {
      throw error; // the channel was closed: nothing to resume on
    }
    if (status.getCode() == Status.Code.OUT_OF_RANGE) {
      throw new StreamGapException(position, status);
    }
    if (!answered) {
      throw error;
    }
    switch (status.getCode()) {
      case UNAVAILABLE:
      case UNKNOWN:
        // UNKNOWN: the supervisor never sends it, so it is the transport's (other stacks report
        // a broken HTTP/2 stream that way). docs/subscribe.md, "Resuming, from any language".
        break;
      case CANCELLED:
        // The server cancels streams when it shuts down: resume. A cancelled context of the
        // caller's, or an interrupt, is final.
        if (cancelledHere || Thread.currentThread().isInterrupted()) {
          throw error;
        }
        break;
      default:
        throw error;
    }
    long delay = backoffMillis / 2 + ThreadLocalRandom.current().nextLong(backoffMillis / 2 + 1);
    backoffMillis = Math.min(backoffMillis * 2, maxBackoffMillis);
    if (deadline != null && deadline.timeRemaining(TimeUnit.MILLISECONDS) <= delay) {
      throw Status.DEADLINE_EXCEEDED
          .withDescription("event stream deadline passed while resuming after seq " + position)
          .withCause(error)
          .asRuntimeException();
    }
    listener.resuming(position, status, delay);
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay);
    synchronized (lock) {
      long left;
      while (!closed && (left = until - System.nanoTime()) > 0) {
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw Status.CANCELLED
              .withDescription("interrupted while resuming")
              .withCause(interrupted)
              .asRuntimeException();
        }
      }
    }
  }
}
