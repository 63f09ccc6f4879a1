package io.latchwork.examples;

import com.google.rpc.BadRequest;
import io.grpc.StatusRuntimeException;
import io.latchwork.client.FieldViolations;
import io.latchwork.client.Latchwork;
import io.latchwork.v1.JobSpec;
import io.latchwork.v1.SubmitRequest;
import java.util.concurrent.TimeUnit;

/**
 * An invalid request, read as a program reads it (the same example as in every Latchwork client):
 * submit 25 jobs without a command line and print the refusal as one JSON line: the status code
 * (a number, 3 is INVALID_ARGUMENT), the message, and the field violations ({@link
 * FieldViolations}). Exit status 0 when it was refused, 1 otherwise.
 */
public final class InvalidRequest {
  private InvalidRequest() {}

  public static void main(String[] args) throws Exception {
    SubmitRequest.Builder request = SubmitRequest.newBuilder();
    for (int i = 0; i < 25; i++) {
      request.addJobs(JobSpec.newBuilder().setName("shot" + i)); // no command
    }
    int exit;
    try (Latchwork lw = Latchwork.connect(args.length > 0 ? args[0] : null)) {
      lw.supervisor().withDeadlineAfter(30, TimeUnit.SECONDS).submit(request.build());
      System.err.println("invalid-request: the supervisor accepted jobs without a command line");
      exit = 1;
    } catch (StatusRuntimeException error) {
      StringBuilder violations = new StringBuilder();
      for (BadRequest.FieldViolation v : FieldViolations.of(error)) {
        violations.append(violations.length() == 0 ? "" : ",");
        violations.append(
            "{\"field\":" + quote(v.getField()) + ",\"description\":" + quote(v.getDescription()) + "}");
      }
      System.out.println(
          "{\"code\":" + error.getStatus().getCode().value()
              + ",\"message\":" + quote(error.getStatus().getDescription())
              + ",\"violations\":[" + violations + "]}");
      exit = 0;
    }
    System.out.flush();
    System.exit(exit);
  }

  private static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : (text == null ? "" : text).toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }
}
