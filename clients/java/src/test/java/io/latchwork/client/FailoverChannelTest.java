package io.latchwork.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.latchwork.v1.AddCallbacksRequest;
import io.latchwork.v1.AddCallbacksResponse;
import io.latchwork.v1.Event;
import io.latchwork.v1.GetJobRequest;
import io.latchwork.v1.GetJobResponse;
import io.latchwork.v1.Job;
import io.latchwork.v1.SubscribeRequest;
import io.latchwork.v1.SubscribeResponse;
import io.latchwork.v1.SupervisorServiceGrpc;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Several addresses: fake supervisors on local ports, and ports nothing listens on. */
class FailoverChannelTest {
  private final List<Server> servers = new ArrayList<>();

  /** Answers GetJob and AddCallbacks (recording them) and streams {@code events}, then holds. */
  private static final class Fake extends SupervisorServiceGrpc.SupervisorServiceImplBase {
    final List<String> calls = new CopyOnWriteArrayList<>();
    final List<SubscribeRequest> subscribed = new CopyOnWriteArrayList<>();
    private final long[] events;

    Fake(long... events) {
      this.events = events;
    }

    @Override
    public void getJob(GetJobRequest request, StreamObserver<GetJobResponse> reply) {
      calls.add("GetJob");
      reply.onNext(
          GetJobResponse.newBuilder().setJob(Job.newBuilder().setId(request.getJobId())).build());
      reply.onCompleted();
    }

    @Override
    public void addCallbacks(
        AddCallbacksRequest request, StreamObserver<AddCallbacksResponse> reply) {
      calls.add("AddCallbacks");
      reply.onNext(AddCallbacksResponse.getDefaultInstance());
      reply.onCompleted();
    }

    @Override
    public void subscribe(SubscribeRequest request, StreamObserver<SubscribeResponse> out) {
      subscribed.add(request);
      for (long seq : events) {
        out.onNext(SubscribeResponse.newBuilder().setEvent(Event.newBuilder().setSeq(seq)).build());
      }
    }
  }

  private Server serve(Fake fake) throws Exception {
    return serve(fake, 0);
  }

  private Server serve(Fake fake, int port) throws Exception {
    Server server =
        Grpc.newServerBuilderForPort(port, InsecureServerCredentials.create())
            .addService(fake)
            .build()
            .start();
    servers.add(server);
    return server;
  }

  private static String address(Server server) {
    return "127.0.0.1:" + server.getPort();
  }

  private static String nowhere() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return "127.0.0.1:" + socket.getLocalPort();
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (Server server : servers) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void splitsTheList() {
    assertEquals(List.of("a:1", "b:2", "c:3"), FailoverChannel.split(" a:1, b:2,,c:3 "));
    assertThrows(IllegalArgumentException.class, () -> Latchwork.connect(" , "));
  }

  @Test
  void aRepeatableCallMovesOnToTheNextAddressAndStaysThere() throws Exception {
    Fake live = new Fake();
    String list = nowhere() + "," + nowhere() + "," + address(serve(live));
    try (Latchwork lw = Latchwork.connect(list, "tester", null, null)) {
      for (long id = 1; id <= 2; id++) {
        GetJobResponse reply =
            lw.supervisor()
                .withDeadlineAfter(20, TimeUnit.SECONDS)
                .getJob(GetJobRequest.newBuilder().setJobId(id).build());
        assertEquals(id, reply.getJob().getId());
      }
      assertEquals(List.of("GetJob", "GetJob"), live.calls);
    }
  }

  @Test
  void aRepeatableCallGoesRoundUntilASupervisorAnswers() throws Exception {
    String later = nowhere();
    try (Latchwork lw = Latchwork.connect(nowhere() + "," + later, "tester", null, null)) {
      CompletableFuture<GetJobResponse> reply =
          CompletableFuture.supplyAsync(
              () ->
                  lw.supervisor()
                      .withDeadlineAfter(25, TimeUnit.SECONDS)
                      .getJob(GetJobRequest.newBuilder().setJobId(1).build()));
      Thread.sleep(300); // going round both addresses by now
      Fake standby = new Fake();
      serve(standby, Integer.parseInt(later.substring(later.lastIndexOf(':') + 1)));
      assertEquals(1, reply.get(25, TimeUnit.SECONDS).getJob().getId());
      assertEquals(List.of("GetJob"), standby.calls);
    }
  }

  @Test
  void addCallbacksIsNotRetriedButTheNextCallMovesOn() throws Exception {
    Fake live = new Fake();
    try (Latchwork lw = Latchwork.connect(nowhere() + "," + address(serve(live)), "tester", null, null)) {
      AddCallbacksRequest request = AddCallbacksRequest.getDefaultInstance();
      StatusRuntimeException error =
          assertThrows(StatusRuntimeException.class, () -> lw.supervisor().addCallbacks(request));
      assertEquals(Status.Code.UNAVAILABLE, error.getStatus().getCode());
      assertEquals(List.of(), live.calls);
      lw.supervisor().addCallbacks(request);
      assertEquals(List.of("AddCallbacks"), live.calls);
    }
  }

  @Test
  void theSubscriptionResumesOnTheNextAddressAfterItsLastSeq() throws Exception {
    Fake first = new Fake(5, 6);
    Fake second = new Fake(6, 7);
    Server leader = serve(first);
    String list = address(leader) + "," + address(serve(second));
    SubscribeRequest request = SubscribeRequest.newBuilder().setAfterSeq(4).addPgrps(9).build();
    List<Long> seen = new ArrayList<>();
    try (Latchwork lw = Latchwork.connect(list, "tester", null, null);
        ResumingSubscription events =
            ResumingSubscription.builder(lw.supervisor(), request)
                .backoff(5, 20, TimeUnit.MILLISECONDS)
                .deadline(Deadline.after(20, TimeUnit.SECONDS))
                .build()) {
      while (seen.size() < 3) {
        long seq = events.next().getEvent().getSeq();
        seen.add(seq);
        if (seq == 6) {
          leader.shutdownNow(); // the leader goes away mid-stream; the second address answers
        }
      }
    }
    assertEquals(List.of(5L, 6L, 7L), seen);
    assertEquals(1, second.subscribed.size());
    assertEquals(6, second.subscribed.get(0).getAfterSeq());
    assertEquals(List.of(9L), second.subscribed.get(0).getPgrpsList());
  }

  @Test
  void aFirstSubscribeTriesEachAddressOnce() throws Exception {
    Fake live = new Fake(3);
    SubscribeRequest request = SubscribeRequest.newBuilder().setAfterSeq(2).build();
    try (Latchwork lw = Latchwork.connect(nowhere() + "," + address(serve(live)), "tester", null, null);
        ResumingSubscription events = lw.subscribe(request)) {
      assertEquals(3, events.next().getEvent().getSeq());
    }
    try (Latchwork lw = Latchwork.connect(nowhere() + "," + nowhere(), "tester", null, null);
        ResumingSubscription events =
            lw.subscribe(request, Deadline.after(30, TimeUnit.SECONDS))) {
      StatusRuntimeException error = assertThrows(StatusRuntimeException.class, events::hasNext);
      assertEquals(Status.Code.UNAVAILABLE, error.getStatus().getCode());
    }
  }
}
