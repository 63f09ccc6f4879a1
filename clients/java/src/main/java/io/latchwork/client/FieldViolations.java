package io.latchwork.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.util.List;

/**
 * What an INVALID_ARGUMENT from the supervisor says about each field, for programs.
 *
 * <p>The supervisor puts a {@code google.rpc.Status} in the status details ({@code
 * grpc-status-details-bin}) of every INVALID_ARGUMENT, and in it one {@code
 * google.rpc.BadRequest}: one {@code FieldViolation} per problem, {@code getField()} its path in
 * the request ({@code jobs[2].label}, {@code page_token}) and {@code getDescription()} what is
 * wrong, at most 20 (the status description counts the rest, "and N more"). See docs/errors.md.
 *
 * <pre>{@code
 * try {
 *   lw.supervisor().submit(request);
 * } catch (StatusRuntimeException error) {
 *   for (BadRequest.FieldViolation v : FieldViolations.of(error)) {
 *     System.err.println(v.getField() + ": " + v.getDescription());
 *   }
 * }
 * }</pre>
 */
public final class FieldViolations {
  private FieldViolations() {}

  /**
   * The field violations {@code error} carries, in the order the supervisor found them. Empty for
   * anything but an INVALID_ARGUMENT; never throws on details it cannot read.
   */
  public static List<BadRequest.FieldViolation> of(Throwable error) {
    List<BadRequest.FieldViolation> violations = new ArrayList<>();
    if (Status.fromThrowable(error).getCode() != Status.Code.INVALID_ARGUMENT) {
      return violations;
    }
    com.google.rpc.Status details = StatusProto.fromThrowable(error);
    if (details == null) {
      return violations;
    }
    for (Any detail : details.getDetailsList()) {
      if (!detail.is(BadRequest.class)) {
        continue;
      }
      try {
        violations.addAll(detail.unpack(BadRequest.class).getFieldViolationsList());
      } catch (InvalidProtocolBufferException unreadable) {
        // the message still names the problems; the list keeps what could be read
      }
    }
    return violations;
  }
}
