package io.latchwork.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.latchwork.v1.Event;
import io.latchwork.v1.Heartbeat;
import io.latchwork.v1.Job;
import io.latchwork.v1.SnapshotEnd;
import io.latchwork.v1.SubscribeRequest;
import io.latchwork.v1.SubscribeResponse;
import io.latchwork.v1.SupervisorServiceGrpc;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The resuming subscription against a scripted fake supervisor on a local port. */
class ResumingSubscriptionTest {
  private final List<BiConsumer<SubscribeRequest, StreamObserver<SubscribeResponse>>> script =
      new CopyOnWriteArrayList<>();
  private final List<SubscribeRequest> requests = new CopyOnWriteArrayList<>();
  private final List<Metadata> headers = new CopyOnWriteArrayList<>();
  private Server server;
  private Latchwork latchwork;

  @BeforeEach
  void start() throws Exception {
    SupervisorServiceGrpc.SupervisorServiceImplBase service =
        new SupervisorServiceGrpc.SupervisorServiceImplBase() {
          @Override
          public void subscribe(
              SubscribeRequest request, StreamObserver<SubscribeResponse> responses) {
            int call = requests.size();
            requests.add(request);
            if (call < script.size()) {
              script.get(call).accept(request, responses);
            } // else: never answers
          }
        };
    ServerInterceptor recordHeaders =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata metadata, ServerCallHandler<Q, R> next) {
            headers.add(metadata);
            return next.startCall(call, metadata);
          }
        };
    server =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(ServerInterceptors.intercept(service, recordHeaders))
            .build()
            .start();
    latchwork = Latchwork.connect("127.0.0.1:" + server.getPort(), "tester", "sesame", null);
  }

  @AfterEach
  void stop() throws Exception {
    latchwork.close();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private ResumingSubscription subscribe(SubscribeRequest request, List<Long> resumes) {
    return ResumingSubscription.builder(latchwork.supervisor(), request)
        .backoff(5, 20, TimeUnit.MILLISECONDS)
        .deadline(Deadline.after(20, TimeUnit.SECONDS))
        .onResume((afterSeq, cause, delay) -> resumes.add(afterSeq))
        .build();
  }

  private static SubscribeResponse event(long seq) {
    return SubscribeResponse.newBuilder().setEvent(Event.newBuilder().setSeq(seq)).build();
  }

  private static SubscribeResponse heartbeat(long headSeq) {
    return SubscribeResponse.newBuilder()
        .setHeartbeat(Heartbeat.newBuilder().setHeadSeq(headSeq))
        .build();
  }

  private static String describe(SubscribeResponse item) {
    switch (item.getItemCase()) {
      case EVENT:
        return "event " + item.getEvent().getSeq();
      case HEARTBEAT:
        return "heartbeat " + item.getHeartbeat().getHeadSeq();
      case SNAPSHOT_JOB:
        return "job " + item.getSnapshotJob().getId();
      case SNAPSHOT_END:
        return "end " + item.getSnapshotEnd().getSeq();
      default:
        return "?";
    }
  }

  @Test
  void resumesAfterTheLastPositionWithoutDuplicatesAndReportsAGap() {
    script.add(
        (request, out) -> {
          out.onNext(heartbeat(5));
          out.onNext(event(6));
          out.onNext(event(7));
          out.onError(Status.UNAVAILABLE.withDescription("connection lost").asRuntimeException());
        });
    script.add(
        (request, out) -> {
          out.onNext(event(7)); // already delivered: skipped
          out.onNext(event(8));
          out.onNext(heartbeat(10)); // filtered-out events 9 and 10: position 10
          out.onError(Status.CANCELLED.withDescription("server shutting down").asRuntimeException());
        });
    script.add(
        (request, out) -> {
          out.onNext(heartbeat(10));
          out.onCompleted(); // a clean end resumes as well
        });
    script.add(
        (request, out) ->
            out.onError(Status.OUT_OF_RANGE.withDescription("trimmed").asRuntimeException()));

    SubscribeRequest request =
        SubscribeRequest.newBuilder().setAfterSeq(-1).setHeartbeatSeconds(1).addPgrps(3).build();
    List<Long> resumes = new ArrayList<>();
    List<String> seen = new ArrayList<>();
    try (ResumingSubscription events = subscribe(request, resumes)) {
      StreamGapException gap =
          assertThrows(
              StreamGapException.class,
              () -> {
                while (events.hasNext()) {
                  seen.add(describe(events.next()));
                }
              });
      assertEquals(10, gap.afterSeq());
      assertEquals(Status.Code.OUT_OF_RANGE, gap.getStatus().getCode());
    }
    assertEquals(
        List.of("heartbeat 5", "event 6", "event 7", "event 8", "heartbeat 10", "heartbeat 10"),
        seen);
    assertEquals(List.of(7L, 10L, 10L), resumes);
    assertEquals(4, requests.size());
    assertEquals(10, requests.get(3).getAfterSeq());
    assertEquals(-1, requests.get(0).getAfterSeq());
    assertEquals(7, requests.get(1).getAfterSeq());
    assertEquals(10, requests.get(2).getAfterSeq());
    for (SubscribeRequest sent : requests) {
      assertEquals(List.of(3L), sent.getPgrpsList()); // same filters every time
      assertEquals(1, sent.getHeartbeatSeconds());
      assertFalse(sent.getSnapshot());
    }
    assertEquals("tester", headers.get(0).get(Latchwork.USER_KEY));
    assertEquals("Bearer sesame", headers.get(0).get(Latchwork.AUTHORIZATION_KEY));
  }

  /**
   * docs/subscribe.md's rule for every language: UNKNOWN (how tonic and others report a broken
   * HTTP/2 stream; the supervisor never sends it) resumes; the supervisor's INTERNAL is thrown.
   */
  @Test
  void unknownResumesButInternalIsThrown() {
    script.add(
        (request, out) -> {
          out.onNext(event(3));
          out.onError(Status.UNKNOWN.withDescription("h2 protocol error").asRuntimeException());
        });
    script.add(
        (request, out) -> {
          out.onNext(event(4));
          out.onError(
              Status.INTERNAL.withDescription("the supervisor failed unexpectedly").asRuntimeException());
        });
    List<Long> resumes = new ArrayList<>();
    try (ResumingSubscription events =
        subscribe(SubscribeRequest.newBuilder().setAfterSeq(2).build(), resumes)) {
      assertEquals(3, events.next().getEvent().getSeq());
      assertEquals(4, events.next().getEvent().getSeq());
      StatusRuntimeException thrown = assertThrows(StatusRuntimeException.class, events::hasNext);
      assertEquals(Status.Code.INTERNAL, thrown.getStatus().getCode());
    }
    assertEquals(List.of(3L), resumes);
    assertEquals(3, requests.get(1).getAfterSeq());
  }

  @Test
  void snapshotIsAskedForOnlyUntilItsEnd() {
    script.add(
        (request, out) -> {
          out.onNext(SubscribeResponse.newBuilder().setSnapshotJob(Job.newBuilder().setId(1)).build());
          out.onNext(heartbeat(99)); // during the snapshot: no position yet
          out.onError(Status.UNAVAILABLE.asRuntimeException());
        });
    script.add(
        (request, out) -> {
          out.onNext(SubscribeResponse.newBuilder().setSnapshotJob(Job.newBuilder().setId(1)).build());
          out.onNext(
              SubscribeResponse.newBuilder().setSnapshotEnd(SnapshotEnd.newBuilder().setSeq(4)).build());
          out.onNext(event(5));
          out.onError(Status.UNAVAILABLE.asRuntimeException());
        });
    script.add((request, out) -> out.onNext(event(6)));

    SubscribeRequest request = SubscribeRequest.newBuilder().setSnapshot(true).build();
    List<String> seen = new ArrayList<>();
    try (ResumingSubscription events = subscribe(request, new ArrayList<>())) {
      while (seen.size() < 6 && events.hasNext()) {
        seen.add(describe(events.next()));
      }
      assertEquals(6, events.position());
    }
    assertEquals(
        List.of("job 1", "heartbeat 99", "job 1", "end 4", "event 5", "event 6"), seen);
    assertTrue(requests.get(0).getSnapshot());
    assertTrue(requests.get(1).getSnapshot()); // the snapshot never ended: asked for again
    assertFalse(requests.get(2).getSnapshot());
    assertEquals(5, requests.get(2).getAfterSeq());
  }

  @Test
  void closeFromAnotherThreadEndsABlockedHasNext() throws Exception {
    try (ResumingSubscription events =
        subscribe(SubscribeRequest.newBuilder().setAfterSeq(-1).build(), new ArrayList<>())) {
      Thread closer =
          new Thread(
              () -> {
                try {
                  Thread.sleep(200);
                } catch (InterruptedException ignored) {
                  Thread.currentThread().interrupt();
                }
                events.close();
              });
      closer.start();
      assertFalse(events.hasNext());
      closer.join();
    }
  }

  @Test
  void aClosedChannelEndsTheStream() {
    script.add((request, out) -> out.onNext(heartbeat(1)));
    try (ResumingSubscription events =
        subscribe(SubscribeRequest.newBuilder().setAfterSeq(-1).build(), new ArrayList<>())) {
      assertTrue(events.hasNext());
      events.next();
      latchwork.close();
      StatusRuntimeException error = assertThrows(StatusRuntimeException.class, events::hasNext);
      assertEquals(Status.Code.UNAVAILABLE, error.getStatus().getCode());
    }
  }

  @Test
  void deadlineEndsTheStream() {
    SubscribeRequest request = SubscribeRequest.newBuilder().setAfterSeq(-1).build();
    try (ResumingSubscription events =
        ResumingSubscription.builder(latchwork.supervisor(), request)
            .deadline(Deadline.after(300, TimeUnit.MILLISECONDS))
            .build()) {
      StatusRuntimeException error = assertThrows(StatusRuntimeException.class, events::hasNext);
      assertEquals(Status.Code.DEADLINE_EXCEEDED, error.getStatus().getCode());
    }
  }

  @Test
  void anUnreachableSupervisorFailsAtOnce() throws Exception {
    // A port nothing listens on: waiting for it would end in DEADLINE_EXCEEDED instead.
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    try (Latchwork nowhere = Latchwork.connect("127.0.0.1:" + port, "tester", null, null);
        ResumingSubscription events =
            ResumingSubscription.builder(nowhere.supervisor(), SubscribeRequest.getDefaultInstance())
                .deadline(Deadline.after(30, TimeUnit.SECONDS))
                .build()) {
      StatusRuntimeException error = assertThrows(StatusRuntimeException.class, events::hasNext);
      assertEquals(Status.Code.UNAVAILABLE, error.getStatus().getCode());
    }
  }
}
