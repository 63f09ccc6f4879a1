package io.latchwork.client;

import io.grpc.ChannelCredentials;
import io.grpc.ConnectivityState;
import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import io.latchwork.v1.SubscribeRequest;
import io.latchwork.v1.SupervisorServiceGrpc;
import io.latchwork.v1.WorkerServiceGrpc;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A connection to a Latchwork supervisor: one gRPC channel whose every call carries the
 * {@code latchwork-user} metadata (and {@code authorization: Bearer <token>} when a token is set).
 *
 * <pre>{@code
 * try (Latchwork lw = Latchwork.connect()) {             // LATCHWORK_ADDRESS or localhost:50051
 *   SubmitResponse r = lw.supervisor().submit(request);
 *   try (ResumingSubscription events = lw.subscribe(SubscribeRequest.newBuilder()
 *       .setAfterSeq(r.getSeq()).addPgrps(r.getPgrp()).build())) {
 *     while (events.hasNext()) { SubscribeResponse item = events.next(); ... }
 *   }
 * }
 * }</pre>
 *
 * <p>Settings come from the arguments or else from the environment: {@code LATCHWORK_ADDRESS}
 * (default {@value #DEFAULT_ADDRESS}; several comma-separated addresses fail over, see {@link
 * FailoverChannel}), {@code LATCHWORK_USER} (else {@code USER}, else
 * "example"), {@code LATCHWORK_TOKEN} and {@code LATCHWORK_TLS_CA} (a PEM file of the CA to trust;
 * switches the channel to TLS).
 */
public final class Latchwork implements AutoCloseable {
  /** The address used when neither an argument nor {@code LATCHWORK_ADDRESS} gives one. */
  public static final String DEFAULT_ADDRESS = "localhost:50051";

  /** Metadata key naming the calling user. */
  public static final Metadata.Key<String> USER_KEY =
      Metadata.Key.of("latchwork-user", Metadata.ASCII_STRING_MARSHALLER);

  /** Metadata key of the bearer token. */
  public static final Metadata.Key<String> AUTHORIZATION_KEY =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  // gRPC's own reconnect backoff grows to 2 minutes; a restarted supervisor should be found
  // within a couple of seconds, as with the Python client (200 ms .. 2 s).
  private static final long RECONNECT_MIN_MILLIS = 200;
  private static final long RECONNECT_MAX_MILLIS = 2000;

  private final String address;
  private final String user;
  private final ManagedChannel channel;
  private final ScheduledExecutorService reconnects;

  private Latchwork(
      String address,
      String user,
      List<ManagedChannel> channels,
      ScheduledExecutorService reconnects) {
    this.address = address;
    this.user = user;
    this.reconnects = reconnects;
    this.channel =
        channels.size() == 1
            ? channels.get(0)
            : new FailoverChannel(FailoverChannel.split(address), channels, reconnects);
    for (ManagedChannel one : channels) {
      new ReconnectBackoff(one).watch(ConnectivityState.IDLE);
    }
  }

  /** Connects with every setting from the environment. */
  public static Latchwork connect() throws IOException {
    return connect(null, null, null, null);
  }

  /** Connects to {@code address} (null: from the environment). */
  public static Latchwork connect(String address) throws IOException {
    return connect(address, null, null, null);
  }

  /**
   * Connects; a null argument is taken from the environment.
   *
   * @param address host:port or a gRPC target URI, or several comma-separated (supervisors of
   *     which one leads: see {@link FailoverChannel})
   * @param user the user sent as {@code latchwork-user}
   * @param token bearer token (empty: none)
   * @param tlsCaFile PEM file of the CA to trust; switches to TLS (empty: plaintext)
   * @throws IOException when the CA file cannot be read
   */
  public static Latchwork connect(String address, String user, String token, String tlsCaFile)
      throws IOException {
    Map<String, String> env = System.getenv();
    address = firstNonEmpty(address, env.get("LATCHWORK_ADDRESS"), DEFAULT_ADDRESS);
    user = firstNonEmpty(user, env.get("LATCHWORK_USER"), env.get("USER"), "example");
    token = firstNonEmpty(token, env.get("LATCHWORK_TOKEN"), "");
    tlsCaFile = firstNonEmpty(tlsCaFile, env.get("LATCHWORK_TLS_CA"), "");

    ChannelCredentials credentials =
        tlsCaFile.isEmpty()
            ? InsecureChannelCredentials.create()
            : TlsChannelCredentials.newBuilder().trustManager(new File(tlsCaFile)).build();
    List<String> addresses = FailoverChannel.split(address);
    if (addresses.isEmpty()) {
      throw new IllegalArgumentException("latchwork: no address in \"" + address + "\"");
    }
    List<ManagedChannel> channels = new ArrayList<>();
    for (String one : addresses) {
      channels.add(
          Grpc.newChannelBuilder(one, credentials)
              .intercept(MetadataUtils.newAttachHeadersInterceptor(callMetadata(user, token)))
              // A leader that hangs with its connections open answers nothing and closes
              // nothing: while a call is in flight, ping after 10 s without a frame and close
              // the connection when a ping goes unanswered for 5 s, so the call fails
              // UNAVAILABLE and the client moves to its next address.
              .keepAliveTime(10, TimeUnit.SECONDS)
              .keepAliveTimeout(5, TimeUnit.SECONDS)
              .build());
    }
    ScheduledExecutorService reconnects =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "latchwork-reconnect");
              thread.setDaemon(true);
              return thread;
            });
    return new Latchwork(address, user, channels, reconnects);
  }

  /** The metadata every call carries. */
  public static Metadata callMetadata(String user, String token) {
    Metadata metadata = new Metadata();
    metadata.put(USER_KEY, user);
    if (token != null && !token.isEmpty()) {
      metadata.put(AUTHORIZATION_KEY, "Bearer " + token);
    }
    return metadata;
  }

  /** The supervisor's address, as given (several are comma-separated). */
  public String address() {
    return address;
  }

  /** The user the calls are made as (the server may map a token to another). */
  public String user() {
    return user;
  }

  /** The channel (a {@link FailoverChannel} for several addresses); calls carry the metadata. */
  public ManagedChannel channel() {
    return channel;
  }

  /** Blocking stub of the supervisor service. */
  public SupervisorServiceGrpc.SupervisorServiceBlockingStub supervisor() {
    return SupervisorServiceGrpc.newBlockingStub(channel);
  }

  /** Asynchronous (StreamObserver) stub of the supervisor service. */
  public SupervisorServiceGrpc.SupervisorServiceStub supervisorAsync() {
    return SupervisorServiceGrpc.newStub(channel);
  }

  /** ListenableFuture stub of the supervisor service. */
  public SupervisorServiceGrpc.SupervisorServiceFutureStub supervisorFuture() {
    return SupervisorServiceGrpc.newFutureStub(channel);
  }

  /** Blocking stub of the worker service (used by workers, not by ordinary clients). */
  public WorkerServiceGrpc.WorkerServiceBlockingStub worker() {
    return WorkerServiceGrpc.newBlockingStub(channel);
  }

  /** A resuming event stream without an overall deadline. */
  public ResumingSubscription subscribe(SubscribeRequest request) {
    return ResumingSubscription.builder(supervisor(), request).build();
  }

  /** A resuming event stream that gives up (DEADLINE_EXCEEDED) at {@code deadline}. */
  public ResumingSubscription subscribe(SubscribeRequest request, Deadline deadline) {
    return ResumingSubscription.builder(supervisor(), request).deadline(deadline).build();
  }

  /** Shuts the channel down, cancelling calls still running. */
  @Override
  public void close() {
    reconnects.shutdownNow();
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Caps gRPC's reconnect backoff: whenever a channel fails to connect, it is told to try again
   * after a delay growing from 200 ms to 2 s (reset once connected). Calls made with wait-for-ready
   * (the resuming subscription's) therefore notice a restarted supervisor quickly.
   */
  private final class ReconnectBackoff {
    private final ManagedChannel watched;
    private long delayMillis = RECONNECT_MIN_MILLIS;

    ReconnectBackoff(ManagedChannel watched) {
      this.watched = watched;
    }

    void watch(ConnectivityState previous) {
      if (watched.isShutdown()) {
        return;
      }
      ConnectivityState state = watched.getState(false);
      if (state == ConnectivityState.READY) {
        synchronized (this) {
          delayMillis = RECONNECT_MIN_MILLIS;
        }
      } else if (state == ConnectivityState.TRANSIENT_FAILURE
          && previous != ConnectivityState.TRANSIENT_FAILURE) {
        long delay;
        synchronized (this) {
          delay = delayMillis;
          delayMillis = Math.min(delayMillis * 2, RECONNECT_MAX_MILLIS);
        }
        delay = delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1);
        try {
          reconnects.schedule(watched::resetConnectBackoff, delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
          return;
        }
      }
      watched.notifyWhenStateChanged(state, () -> watch(state));
    }
  }

  private static String firstNonEmpty(String... values) {
    for (String value : values) {
      if (value != null && !value.isEmpty()) {
        return value;
      }
    }
    return "";
  }
}
