package io.latchwork.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The event stream cannot go on without a gap: the supervisor no longer retains the events after
 * {@link #afterSeq()} (it answered OUT_OF_RANGE). Start over, e.g. with {@code snapshot=true}.
 */
public final class StreamGapException extends StatusRuntimeException {
  private static final long serialVersionUID = 1L;

  private final long afterSeq;

  /**
   * @param afterSeq the position the stream could not resume after
   * @param cause the server's OUT_OF_RANGE status
   */
  public StreamGapException(long afterSeq, Status cause) {
    super(
        Status.OUT_OF_RANGE
            .withDescription(
                "cannot resume the event stream after seq "
                    + afterSeq
                    + ": "
                    + cause.getDescription())
            .withCause(cause.getCause()));
    this.afterSeq = afterSeq;
  }

  /** The seq after which events are missing. */
  public long afterSeq() {
    return afterSeq;
  }
}
