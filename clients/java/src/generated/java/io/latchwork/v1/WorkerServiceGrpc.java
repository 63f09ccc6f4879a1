package io.latchwork.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * The worker side: machines that run work for the supervisor.
 * Errors are SupervisorService's (docs/errors.md): INVALID_ARGUMENT carries a
 * google.rpc.BadRequest with one FieldViolation per problem, by field path.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class WorkerServiceGrpc {

  private WorkerServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "latchwork.v1.WorkerService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.RegisterWorkerRequest,
      io.latchwork.v1.RegisterWorkerResponse> getRegisterWorkerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "RegisterWorker",
      requestType = io.latchwork.v1.RegisterWorkerRequest.class,
      responseType = io.latchwork.v1.RegisterWorkerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.RegisterWorkerRequest,
      io.latchwork.v1.RegisterWorkerResponse> getRegisterWorkerMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.RegisterWorkerRequest, io.latchwork.v1.RegisterWorkerResponse> getRegisterWorkerMethod;
    if ((getRegisterWorkerMethod = WorkerServiceGrpc.getRegisterWorkerMethod) == null) {
      synchronized (WorkerServiceGrpc.class) {
        if ((getRegisterWorkerMethod = WorkerServiceGrpc.getRegisterWorkerMethod) == null) {
          WorkerServiceGrpc.getRegisterWorkerMethod = getRegisterWorkerMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.RegisterWorkerRequest, io.latchwork.v1.RegisterWorkerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "RegisterWorker"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.RegisterWorkerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.RegisterWorkerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkerServiceMethodDescriptorSupplier("RegisterWorker"))
              .build();
        }
      }
    }
    return getRegisterWorkerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.HeartbeatRequest,
      io.latchwork.v1.HeartbeatResponse> getHeartbeatMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Heartbeat",
      requestType = io.latchwork.v1.HeartbeatRequest.class,
      responseType = io.latchwork.v1.HeartbeatResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.HeartbeatRequest,
      io.latchwork.v1.HeartbeatResponse> getHeartbeatMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.HeartbeatRequest, io.latchwork.v1.HeartbeatResponse> getHeartbeatMethod;
    if ((getHeartbeatMethod = WorkerServiceGrpc.getHeartbeatMethod) == null) {
      synchronized (WorkerServiceGrpc.class) {
        if ((getHeartbeatMethod = WorkerServiceGrpc.getHeartbeatMethod) == null) {
          WorkerServiceGrpc.getHeartbeatMethod = getHeartbeatMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.HeartbeatRequest, io.latchwork.v1.HeartbeatResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Heartbeat"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.HeartbeatRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.HeartbeatResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkerServiceMethodDescriptorSupplier("Heartbeat"))
              .build();
        }
      }
    }
    return getHeartbeatMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.LeaseWorkRequest,
      io.latchwork.v1.LeaseWorkResponse> getLeaseWorkMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "LeaseWork",
      requestType = io.latchwork.v1.LeaseWorkRequest.class,
      responseType = io.latchwork.v1.LeaseWorkResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.LeaseWorkRequest,
      io.latchwork.v1.LeaseWorkResponse> getLeaseWorkMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.LeaseWorkRequest, io.latchwork.v1.LeaseWorkResponse> getLeaseWorkMethod;
    if ((getLeaseWorkMethod = WorkerServiceGrpc.getLeaseWorkMethod) == null) {
      synchronized (WorkerServiceGrpc.class) {
        if ((getLeaseWorkMethod = WorkerServiceGrpc.getLeaseWorkMethod) == null) {
          WorkerServiceGrpc.getLeaseWorkMethod = getLeaseWorkMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.LeaseWorkRequest, io.latchwork.v1.LeaseWorkResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "LeaseWork"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.LeaseWorkRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.LeaseWorkResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkerServiceMethodDescriptorSupplier("LeaseWork"))
              .build();
        }
      }
    }
    return getLeaseWorkMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ReportWorkRequest,
      io.latchwork.v1.ReportWorkResponse> getReportWorkMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ReportWork",
      requestType = io.latchwork.v1.ReportWorkRequest.class,
      responseType = io.latchwork.v1.ReportWorkResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ReportWorkRequest,
      io.latchwork.v1.ReportWorkResponse> getReportWorkMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ReportWorkRequest, io.latchwork.v1.ReportWorkResponse> getReportWorkMethod;
    if ((getReportWorkMethod = WorkerServiceGrpc.getReportWorkMethod) == null) {
      synchronized (WorkerServiceGrpc.class) {
        if ((getReportWorkMethod = WorkerServiceGrpc.getReportWorkMethod) == null) {
          WorkerServiceGrpc.getReportWorkMethod = getReportWorkMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ReportWorkRequest, io.latchwork.v1.ReportWorkResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ReportWork"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ReportWorkRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ReportWorkResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkerServiceMethodDescriptorSupplier("ReportWork"))
              .build();
        }
      }
    }
    return getReportWorkMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ReportWorkStreamRequest,
      io.latchwork.v1.ReportWorkStreamResponse> getReportWorkStreamMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ReportWorkStream",
      requestType = io.latchwork.v1.ReportWorkStreamRequest.class,
      responseType = io.latchwork.v1.ReportWorkStreamResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ReportWorkStreamRequest,
      io.latchwork.v1.ReportWorkStreamResponse> getReportWorkStreamMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ReportWorkStreamRequest, io.latchwork.v1.ReportWorkStreamResponse> getReportWorkStreamMethod;
    if ((getReportWorkStreamMethod = WorkerServiceGrpc.getReportWorkStreamMethod) == null) {
      synchronized (WorkerServiceGrpc.class) {
        if ((getReportWorkStreamMethod = WorkerServiceGrpc.getReportWorkStreamMethod) == null) {
          WorkerServiceGrpc.getReportWorkStreamMethod = getReportWorkStreamMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ReportWorkStreamRequest, io.latchwork.v1.ReportWorkStreamResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ReportWorkStream"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ReportWorkStreamRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ReportWorkStreamResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkerServiceMethodDescriptorSupplier("ReportWorkStream"))
              .build();
        }
      }
    }
    return getReportWorkStreamMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.AppendOutputRequest,
      io.latchwork.v1.AppendOutputResponse> getAppendOutputMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AppendOutput",
      requestType = io.latchwork.v1.AppendOutputRequest.class,
      responseType = io.latchwork.v1.AppendOutputResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.AppendOutputRequest,
      io.latchwork.v1.AppendOutputResponse> getAppendOutputMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.AppendOutputRequest, io.latchwork.v1.AppendOutputResponse> getAppendOutputMethod;
    if ((getAppendOutputMethod = WorkerServiceGrpc.getAppendOutputMethod) == null) {
      synchronized (WorkerServiceGrpc.class) {
        if ((getAppendOutputMethod = WorkerServiceGrpc.getAppendOutputMethod) == null) {
          WorkerServiceGrpc.getAppendOutputMethod = getAppendOutputMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.AppendOutputRequest, io.latchwork.v1.AppendOutputResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AppendOutput"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.AppendOutputRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.AppendOutputResponse.getDefaultInstance()))
              .setSchemaDescriptor(new WorkerServiceMethodDescriptorSupplier("AppendOutput"))
              .build();
        }
      }
    }
    return getAppendOutputMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static WorkerServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WorkerServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WorkerServiceStub>() {
        @java.lang.Override
        public WorkerServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WorkerServiceStub(channel, callOptions);
        }
      };
    return WorkerServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static WorkerServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WorkerServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WorkerServiceBlockingV2Stub>() {
        @java.lang.Override
        public WorkerServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WorkerServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return WorkerServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static WorkerServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WorkerServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WorkerServiceBlockingStub>() {
        @java.lang.Override
        public WorkerServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WorkerServiceBlockingStub(channel, callOptions);
        }
      };
    return WorkerServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static WorkerServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<WorkerServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<WorkerServiceFutureStub>() {
        @java.lang.Override
        public WorkerServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new WorkerServiceFutureStub(channel, callOptions);
        }
      };
    return WorkerServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * The worker side: machines that run work for the supervisor.
   * Errors are SupervisorService's (docs/errors.md): INVALID_ARGUMENT carries a
   * google.rpc.BadRequest with one FieldViolation per problem, by field path.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Announces a worker and its slots; returns its id and lease settings.
     * </pre>
     */
    default void registerWorker(io.latchwork.v1.RegisterWorkerRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.RegisterWorkerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRegisterWorkerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Keeps the worker's leases alive and tells it which to kill or stop.
     * </pre>
     */
    default void heartbeat(io.latchwork.v1.HeartbeatRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.HeartbeatResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getHeartbeatMethod(), responseObserver);
    }

    /**
     * <pre>
     * Waits (up to `wait_seconds`) for work and leases it to the worker.
     * </pre>
     */
    default void leaseWork(io.latchwork.v1.LeaseWorkRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.LeaseWorkResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getLeaseWorkMethod(), responseObserver);
    }

    /**
     * <pre>
     * Reports that a leased work item started or ended.
     * </pre>
     */
    default void reportWork(io.latchwork.v1.ReportWorkRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ReportWorkResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getReportWorkMethod(), responseObserver);
    }

    /**
     * <pre>
     * ReportWork over one call that stays open: each request is answered by one
     * response, in order, as ReportWork answers it (one transaction each). A worker
     * that reports all the time saves the cost of a call per report. A request the
     * supervisor refuses ends the call with ReportWork's status for it (nothing of
     * that request stored); the worker opens another call. The stream ends when the
     * supervisor stops.
     * </pre>
     */
    default io.grpc.stub.StreamObserver<io.latchwork.v1.ReportWorkStreamRequest> reportWorkStream(
        io.grpc.stub.StreamObserver<io.latchwork.v1.ReportWorkStreamResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getReportWorkStreamMethod(), responseObserver);
    }

    /**
     * <pre>
     * Appends captured output of a leased work item.
     * </pre>
     */
    default void appendOutput(io.latchwork.v1.AppendOutputRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.AppendOutputResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAppendOutputMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service WorkerService.
   * <pre>
   * The worker side: machines that run work for the supervisor.
   * Errors are SupervisorService's (docs/errors.md): INVALID_ARGUMENT carries a
   * google.rpc.BadRequest with one FieldViolation per problem, by field path.
   * </pre>
   */
  public static abstract class WorkerServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return WorkerServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service WorkerService.
   * <pre>
   * The worker side: machines that run work for the supervisor.
   * Errors are SupervisorService's (docs/errors.md): INVALID_ARGUMENT carries a
   * google.rpc.BadRequest with one FieldViolation per problem, by field path.
   * </pre>
   */
  public static final class WorkerServiceStub
      extends io.grpc.stub.AbstractAsyncStub<WorkerServiceStub> {
    private WorkerServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WorkerServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WorkerServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Announces a worker and its slots; returns its id and lease settings.
     * </pre>
     */
    public void registerWorker(io.latchwork.v1.RegisterWorkerRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.RegisterWorkerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRegisterWorkerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Keeps the worker's leases alive and tells it which to kill or stop.
     * </pre>
     */
    public void heartbeat(io.latchwork.v1.HeartbeatRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.HeartbeatResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getHeartbeatMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Waits (up to `wait_seconds`) for work and leases it to the worker.
     * </pre>
     */
    public void leaseWork(io.latchwork.v1.LeaseWorkRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.LeaseWorkResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getLeaseWorkMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Reports that a leased work item started or ended.
     * </pre>
     */
    public void reportWork(io.latchwork.v1.ReportWorkRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ReportWorkResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getReportWorkMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ReportWork over one call that stays open: each request is answered by one
     * response, in order, as ReportWork answers it (one transaction each). A worker
     * that reports all the time saves the cost of a call per report. A request the
     * supervisor refuses ends the call with ReportWork's status for it (nothing of
     * that request stored); the worker opens another call. The stream ends when the
     * supervisor stops.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<io.latchwork.v1.ReportWorkStreamRequest> reportWorkStream(
        io.grpc.stub.StreamObserver<io.latchwork.v1.ReportWorkStreamResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getReportWorkStreamMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * Appends captured output of a leased work item.
     * </pre>
     */
    public void appendOutput(io.latchwork.v1.AppendOutputRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.AppendOutputResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAppendOutputMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service WorkerService.
   * <pre>
   * The worker side: machines that run work for the supervisor.
   * Errors are SupervisorService's (docs/errors.md): INVALID_ARGUMENT carries a
   * google.rpc.BadRequest with one FieldViolation per problem, by field path.
   * </pre>
   */
  public static final class WorkerServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<WorkerServiceBlockingV2Stub> {
    private WorkerServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WorkerServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WorkerServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Announces a worker and its slots; returns its id and lease settings.
     * </pre>
     */
    public io.latchwork.v1.RegisterWorkerResponse registerWorker(io.latchwork.v1.RegisterWorkerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRegisterWorkerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Keeps the worker's leases alive and tells it which to kill or stop.
     * </pre>
     */
    public io.latchwork.v1.HeartbeatResponse heartbeat(io.latchwork.v1.HeartbeatRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getHeartbeatMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Waits (up to `wait_seconds`) for work and leases it to the worker.
     * </pre>
     */
    public io.latchwork.v1.LeaseWorkResponse leaseWork(io.latchwork.v1.LeaseWorkRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getLeaseWorkMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reports that a leased work item started or ended.
     * </pre>
     */
    public io.latchwork.v1.ReportWorkResponse reportWork(io.latchwork.v1.ReportWorkRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getReportWorkMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ReportWork over one call that stays open: each request is answered by one
     * response, in order, as ReportWork answers it (one transaction each). A worker
     * that reports all the time saves the cost of a call per report. A request the
     * supervisor refuses ends the call with ReportWork's status for it (nothing of
     * that request stored); the worker opens another call. The stream ends when the
     * supervisor stops.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<io.latchwork.v1.ReportWorkStreamRequest, io.latchwork.v1.ReportWorkStreamResponse>
        reportWorkStream() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getReportWorkStreamMethod(), getCallOptions());
    }

    /**
     * <pre>
     * Appends captured output of a leased work item.
     * </pre>
     */
    public io.latchwork.v1.AppendOutputResponse appendOutput(io.latchwork.v1.AppendOutputRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAppendOutputMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service WorkerService.
   * <pre>
   * The worker side: machines that run work for the supervisor.
   * Errors are SupervisorService's (docs/errors.md): INVALID_ARGUMENT carries a
   * google.rpc.BadRequest with one FieldViolation per problem, by field path.
   * </pre>
   */
  public static final class WorkerServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<WorkerServiceBlockingStub> {
    private WorkerServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WorkerServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WorkerServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Announces a worker and its slots; returns its id and lease settings.
     * </pre>
     */
    public io.latchwork.v1.RegisterWorkerResponse registerWorker(io.latchwork.v1.RegisterWorkerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRegisterWorkerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Keeps the worker's leases alive and tells it which to kill or stop.
     * </pre>
     */
    public io.latchwork.v1.HeartbeatResponse heartbeat(io.latchwork.v1.HeartbeatRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getHeartbeatMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Waits (up to `wait_seconds`) for work and leases it to the worker.
     * </pre>
     */
    public io.latchwork.v1.LeaseWorkResponse leaseWork(io.latchwork.v1.LeaseWorkRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getLeaseWorkMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reports that a leased work item started or ended.
     * </pre>
     */
    public io.latchwork.v1.ReportWorkResponse reportWork(io.latchwork.v1.ReportWorkRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getReportWorkMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Appends captured output of a leased work item.
     * </pre>
     */
    public io.latchwork.v1.AppendOutputResponse appendOutput(io.latchwork.v1.AppendOutputRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAppendOutputMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service WorkerService.
   * <pre>
   * The worker side: machines that run work for the supervisor.
   * Errors are SupervisorService's (docs/errors.md): INVALID_ARGUMENT carries a
   * google.rpc.BadRequest with one FieldViolation per problem, by field path.
   * </pre>
   */
  public static final class WorkerServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<WorkerServiceFutureStub> {
    private WorkerServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected WorkerServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new WorkerServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Announces a worker and its slots; returns its id and lease settings.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.RegisterWorkerResponse> registerWorker(
        io.latchwork.v1.RegisterWorkerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRegisterWorkerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Keeps the worker's leases alive and tells it which to kill or stop.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.HeartbeatResponse> heartbeat(
        io.latchwork.v1.HeartbeatRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getHeartbeatMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Waits (up to `wait_seconds`) for work and leases it to the worker.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.LeaseWorkResponse> leaseWork(
        io.latchwork.v1.LeaseWorkRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getLeaseWorkMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Reports that a leased work item started or ended.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.ReportWorkResponse> reportWork(
        io.latchwork.v1.ReportWorkRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getReportWorkMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Appends captured output of a leased work item.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.AppendOutputResponse> appendOutput(
        io.latchwork.v1.AppendOutputRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAppendOutputMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_REGISTER_WORKER = 0;
  private static final int METHODID_HEARTBEAT = 1;
  private static final int METHODID_LEASE_WORK = 2;
  private static final int METHODID_REPORT_WORK = 3;
  private static final int METHODID_APPEND_OUTPUT = 4;
  private static final int METHODID_REPORT_WORK_STREAM = 5;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_REGISTER_WORKER:
          serviceImpl.registerWorker((io.latchwork.v1.RegisterWorkerRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.RegisterWorkerResponse>) responseObserver);
          break;
        case METHODID_HEARTBEAT:
          serviceImpl.heartbeat((io.latchwork.v1.HeartbeatRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.HeartbeatResponse>) responseObserver);
          break;
        case METHODID_LEASE_WORK:
          serviceImpl.leaseWork((io.latchwork.v1.LeaseWorkRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.LeaseWorkResponse>) responseObserver);
          break;
        case METHODID_REPORT_WORK:
          serviceImpl.reportWork((io.latchwork.v1.ReportWorkRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ReportWorkResponse>) responseObserver);
          break;
        case METHODID_APPEND_OUTPUT:
          serviceImpl.appendOutput((io.latchwork.v1.AppendOutputRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.AppendOutputResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_REPORT_WORK_STREAM:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.reportWorkStream(
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ReportWorkStreamResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getRegisterWorkerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.RegisterWorkerRequest,
              io.latchwork.v1.RegisterWorkerResponse>(
                service, METHODID_REGISTER_WORKER)))
        .addMethod(
          getHeartbeatMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.HeartbeatRequest,
              io.latchwork.v1.HeartbeatResponse>(
                service, METHODID_HEARTBEAT)))
        .addMethod(
          getLeaseWorkMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.LeaseWorkRequest,
              io.latchwork.v1.LeaseWorkResponse>(
                service, METHODID_LEASE_WORK)))
        .addMethod(
          getReportWorkMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.ReportWorkRequest,
              io.latchwork.v1.ReportWorkResponse>(
                service, METHODID_REPORT_WORK)))
        .addMethod(
          getReportWorkStreamMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              io.latchwork.v1.ReportWorkStreamRequest,
              io.latchwork.v1.ReportWorkStreamResponse>(
                service, METHODID_REPORT_WORK_STREAM)))
        .addMethod(
          getAppendOutputMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.AppendOutputRequest,
              io.latchwork.v1.AppendOutputResponse>(
                service, METHODID_APPEND_OUTPUT)))
        .build();
  }

  private static abstract class WorkerServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    WorkerServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.latchwork.v1.WorkerProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("WorkerService");
    }
  }

  private static final class WorkerServiceFileDescriptorSupplier
      extends WorkerServiceBaseDescriptorSupplier {
    WorkerServiceFileDescriptorSupplier() {}
  }

  private static final class WorkerServiceMethodDescriptorSupplier
      extends WorkerServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    WorkerServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (WorkerServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new WorkerServiceFileDescriptorSupplier())
              .addMethod(getRegisterWorkerMethod())
              .addMethod(getHeartbeatMethod())
              .addMethod(getLeaseWorkMethod())
              .addMethod(getReportWorkMethod())
              .addMethod(getReportWorkStreamMethod())
              .addMethod(getAppendOutputMethod())
              .build();
        }
      }
    }
    return result;
  }
}
