package io.latchwork.examples;

import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.latchwork.client.Latchwork;
import io.latchwork.client.ResumingSubscription;
import io.latchwork.client.StreamGapException;
import io.latchwork.v1.Command;
import io.latchwork.v1.Event;
import io.latchwork.v1.EventName;
import io.latchwork.v1.EventType;
import io.latchwork.v1.Job;
import io.latchwork.v1.JobSpec;
import io.latchwork.v1.Prototype;
import io.latchwork.v1.SubmitRequest;
import io.latchwork.v1.SubmitResponse;
import io.latchwork.v1.SubscribeRequest;
import io.latchwork.v1.SubscribeResponse;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The clients' shared example: submit job A (three frames) and job B that waits for A, follow
 * their process group's events from the submission on, print every event as a JSON line until
 * B completes. Resumes transparently when the connection is lost. Exit status 0 when B
 * completed, 1 on a failure or a gap.
 */
public final class DependentJobs {
  private static final long SUBMIT_DEADLINE_SECONDS = 30;

  private static final PrintStream OUT =
      new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

  private DependentJobs() {}

  public static void main(String[] args) {
    int status;
    try {
      status = run(args.length > 0 ? args[0] : null);
    } catch (StreamGapException gap) {
      System.err.println("dependent-jobs: " + gap.getStatus().getDescription());
      status = 1;
    } catch (StatusRuntimeException error) {
      Status s = error.getStatus();
      System.err.println("dependent-jobs: " + s);
      status = 1;
    } catch (Exception error) {
      System.err.println("dependent-jobs: " + error);
      status = 1;
    }
    OUT.flush();
    System.exit(status);
  }

  private static int run(String address) throws Exception {
    try (Latchwork latchwork = Latchwork.connect(address)) {
      // 1. A (frames 1-3), and B which waits for A to complete. A unary call has a deadline.
      Deadline deadline = Deadline.after(SUBMIT_DEADLINE_SECONDS, TimeUnit.SECONDS);
      SubmitRequest submit =
          SubmitRequest.newBuilder()
              .setRequestId(UUID.randomUUID().toString())
              .addJobs(
                  JobSpec.newBuilder()
                      .setName("example-A")
                      .setLabel("A")
                      .setPrototype(Prototype.PROTOTYPE_CMDRANGE)
                      .setCommand(
                          Command.newBuilder()
                              .setCmdline("sleep 0.3; echo frame QB_FRAME_NUMBER")
                              .setFrameRange("1-3")))
              .addJobs(
                  JobSpec.newBuilder()
                      .setName("example-B")
                      .setLabel("B")
                      .setPrototype(Prototype.PROTOTYPE_CMDLINE)
                      .setCommand(Command.newBuilder().setCmdline("echo B ran after A"))
                      .setDependency("link-complete-job-A"))
              .build();
      SubmitResponse submitted = submit(latchwork, submit, deadline);
      long pgrp = submitted.getPgrp();
      long idA = jobId(submitted, "A");
      long idB = jobId(submitted, "B");
      line(
          new Json()
              .object("submitted", new Json().field("pgrp", pgrp).field("A", idA).field("B", idB)));

      // 2. Only this process group's events, after the submission's seq: nothing of A and B can
      // be missed, nothing of the rest of the farm is sent. include_callback_runs: the callback
      // run that unblocks B is an event too (type callback). No deadline: a stream lasts as
      // long as the jobs take.
      SubscribeRequest request =
          SubscribeRequest.newBuilder()
              .addPgrps(pgrp)
              .setAfterSeq(submitted.getSeq())
              .setHeartbeatSeconds(1)
              .setIncludeCallbackRuns(true)
              .build();
      try (ResumingSubscription events =
          ResumingSubscription.builder(latchwork.supervisor(), request)
              .onResume(
                  (afterSeq, cause, delayMillis) ->
                      System.err.printf(
                          "dependent-jobs: stream lost (%s), resuming after seq %d in %d ms%n",
                          cause.getCode(), afterSeq, delayMillis))
              .build()) {
        line(new Json().field("live", submitted.getSeq()));
        return follow(events, pgrp, idA, idB);
      }
    }
  }

  /** Prints every event until B's job completes (0) or a job fails (1). */
  private static int follow(ResumingSubscription events, long pgrp, long idA, long idB) {
    while (true) {
      SubscribeResponse item = nextItem(events);
      if (!item.hasEvent()) {
        continue;
      }
      Event event = item.getEvent();
      line(
          new Json()
              .field("seq", event.getSeq())
              .field("job", event.getPgrp() == pgrp ? event.getLabel() : "")
              .field("job_id", event.getJobId())
              .field("name", enumName(event.getName(), "EVENT_NAME_", event.getNameValue()))
              .field("type", enumName(event.getEventType(), "EVENT_TYPE_", event.getEventTypeValue()))
              .field("work", event.getWorkName())
              .field("status", event.getStatus()));
      boolean jobEvent = event.getEventType() == EventType.EVENT_TYPE_JOB;
      if (jobEvent && event.getName() == EventName.EVENT_NAME_FAILED
          && (event.getJobId() == idA || event.getJobId() == idB)) {
        System.err.printf(
            "dependent-jobs: job %s (%d) failed: %s%n",
            event.getLabel(), event.getJobId(), event.getMessage());
        return 1;
      }
      if (jobEvent && event.getName() == EventName.EVENT_NAME_COMPLETE
          && event.getJobId() == idB) {
        return 0;
      }
    }
  }

  /** Submit, retried while the supervisor is unreachable (same request_id: idempotent). */
  private static SubmitResponse submit(Latchwork latchwork, SubmitRequest request, Deadline deadline)
      throws InterruptedException {
    long backoff = 100;
    while (true) {
      try {
        return latchwork.supervisor().withWaitForReady().withDeadline(deadline).submit(request);
      } catch (StatusRuntimeException error) {
        if (error.getStatus().getCode() != Status.Code.UNAVAILABLE) {
          throw error;
        }
        System.err.println("dependent-jobs: submit failed (" + error.getStatus() + "), retrying");
        Thread.sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  private static SubscribeResponse nextItem(ResumingSubscription events) {
    if (!events.hasNext()) {
      throw Status.CANCELLED.withDescription("the subscription was closed").asRuntimeException();
    }
    return events.next();
  }

  private static long jobId(SubmitResponse response, String label) {
    for (Job job : response.getJobsList()) {
      if (job.getLabel().equals(label)) {
        return job.getId();
      }
    }
    throw new IllegalStateException("the submit response has no job labelled " + label);
  }

  /** EVENT_NAME_COMPLETE -> "complete"; a value this client does not know -> its number. */
  private static String enumName(Enum<?> value, String prefix, int number) {
    String name = value.name();
    if (!name.startsWith(prefix)) {
      return Integer.toString(number);
    }
    return name.substring(prefix.length()).toLowerCase(Locale.ROOT);
  }

  private static void line(Json json) {
    OUT.println(json);
    OUT.flush();
  }

  /** A flat JSON object writer: enough for the example's lines, pure ASCII output. */
  private static final class Json {
    private final StringBuilder text = new StringBuilder("{");

    Json field(String key, long value) {
      return key(key).append(value);
    }

    Json field(String key, String value) {
      key(key);
      quote(value);
      return this;
    }

    Json object(String key, Json value) {
      return key(key).append(value);
    }

    private Json key(String key) {
      if (text.length() > 1) {
        text.append(", ");
      }
      quote(key);
      text.append(": ");
      return this;
    }

    private Json append(Object value) {
      text.append(value);
      return this;
    }

    private void quote(String value) {
      text.append('"');
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        switch (c) {
          case '"':
            text.append("\\\"");
            break;
          case '\\':
            text.append("\\\\");
            break;
          case '\n':
            text.append("\\n");
            break;
          case '\r':
            text.append("\\r");
            break;
          case '\t':
            text.append("\\t");
            break;
          default:
            if (c < 0x20 || c > 0x7e) {
              text.append(String.format("\\u%04x", (int) c));
            } else {
              text.append(c);
            }
        }
      }
      text.append('"');
    }

    @Override
    public String toString() {
      return text + "}";
    }
  }
}
