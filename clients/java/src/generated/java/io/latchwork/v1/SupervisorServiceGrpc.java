package io.latchwork.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * The supervisor: submit jobs, watch their events, control them.
 * Errors (docs/errors.md lists every code and when): a refused call ends with
 * a gRPC status whose message is written for people. INVALID_ARGUMENT also
 * carries, for programs, a google.rpc.Status in the `grpc-status-details-bin`
 * trailer whose details hold one google.rpc.BadRequest: one FieldViolation
 * per problem, `field` its path in the request ("jobs[2].label",
 * "work[1].work_name", "page_token") and `description` what is wrong. At most
 * 20 are listed (the message then ends with "and N more"); field paths are
 * cut to 100 characters, descriptions to 200. The request was checked whole
 * and nothing was changed. Helpers: FieldViolations (Go), fieldViolations
 * (TypeScript), FieldViolations.of (Java), LatchworkError.violations (Python).
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class SupervisorServiceGrpc {

  private SupervisorServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "latchwork.v1.SupervisorService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.SubmitRequest,
      io.latchwork.v1.SubmitResponse> getSubmitMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Submit",
      requestType = io.latchwork.v1.SubmitRequest.class,
      responseType = io.latchwork.v1.SubmitResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.SubmitRequest,
      io.latchwork.v1.SubmitResponse> getSubmitMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.SubmitRequest, io.latchwork.v1.SubmitResponse> getSubmitMethod;
    if ((getSubmitMethod = SupervisorServiceGrpc.getSubmitMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getSubmitMethod = SupervisorServiceGrpc.getSubmitMethod) == null) {
          SupervisorServiceGrpc.getSubmitMethod = getSubmitMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.SubmitRequest, io.latchwork.v1.SubmitResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Submit"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.SubmitRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.SubmitResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("Submit"))
              .build();
        }
      }
    }
    return getSubmitMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.SubscribeRequest,
      io.latchwork.v1.SubscribeResponse> getSubscribeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Subscribe",
      requestType = io.latchwork.v1.SubscribeRequest.class,
      responseType = io.latchwork.v1.SubscribeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.SubscribeRequest,
      io.latchwork.v1.SubscribeResponse> getSubscribeMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.SubscribeRequest, io.latchwork.v1.SubscribeResponse> getSubscribeMethod;
    if ((getSubscribeMethod = SupervisorServiceGrpc.getSubscribeMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getSubscribeMethod = SupervisorServiceGrpc.getSubscribeMethod) == null) {
          SupervisorServiceGrpc.getSubscribeMethod = getSubscribeMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.SubscribeRequest, io.latchwork.v1.SubscribeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Subscribe"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.SubscribeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.SubscribeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("Subscribe"))
              .build();
        }
      }
    }
    return getSubscribeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.GetJobRequest,
      io.latchwork.v1.GetJobResponse> getGetJobMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetJob",
      requestType = io.latchwork.v1.GetJobRequest.class,
      responseType = io.latchwork.v1.GetJobResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.GetJobRequest,
      io.latchwork.v1.GetJobResponse> getGetJobMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.GetJobRequest, io.latchwork.v1.GetJobResponse> getGetJobMethod;
    if ((getGetJobMethod = SupervisorServiceGrpc.getGetJobMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getGetJobMethod = SupervisorServiceGrpc.getGetJobMethod) == null) {
          SupervisorServiceGrpc.getGetJobMethod = getGetJobMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.GetJobRequest, io.latchwork.v1.GetJobResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetJob"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.GetJobRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.GetJobResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("GetJob"))
              .build();
        }
      }
    }
    return getGetJobMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ListJobsRequest,
      io.latchwork.v1.ListJobsResponse> getListJobsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListJobs",
      requestType = io.latchwork.v1.ListJobsRequest.class,
      responseType = io.latchwork.v1.ListJobsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ListJobsRequest,
      io.latchwork.v1.ListJobsResponse> getListJobsMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ListJobsRequest, io.latchwork.v1.ListJobsResponse> getListJobsMethod;
    if ((getListJobsMethod = SupervisorServiceGrpc.getListJobsMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getListJobsMethod = SupervisorServiceGrpc.getListJobsMethod) == null) {
          SupervisorServiceGrpc.getListJobsMethod = getListJobsMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ListJobsRequest, io.latchwork.v1.ListJobsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListJobs"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ListJobsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ListJobsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("ListJobs"))
              .build();
        }
      }
    }
    return getListJobsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ControlJobsRequest,
      io.latchwork.v1.ControlJobsResponse> getControlJobsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ControlJobs",
      requestType = io.latchwork.v1.ControlJobsRequest.class,
      responseType = io.latchwork.v1.ControlJobsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ControlJobsRequest,
      io.latchwork.v1.ControlJobsResponse> getControlJobsMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ControlJobsRequest, io.latchwork.v1.ControlJobsResponse> getControlJobsMethod;
    if ((getControlJobsMethod = SupervisorServiceGrpc.getControlJobsMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getControlJobsMethod = SupervisorServiceGrpc.getControlJobsMethod) == null) {
          SupervisorServiceGrpc.getControlJobsMethod = getControlJobsMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ControlJobsRequest, io.latchwork.v1.ControlJobsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ControlJobs"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ControlJobsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ControlJobsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("ControlJobs"))
              .build();
        }
      }
    }
    return getControlJobsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.AddCallbacksRequest,
      io.latchwork.v1.AddCallbacksResponse> getAddCallbacksMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AddCallbacks",
      requestType = io.latchwork.v1.AddCallbacksRequest.class,
      responseType = io.latchwork.v1.AddCallbacksResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.AddCallbacksRequest,
      io.latchwork.v1.AddCallbacksResponse> getAddCallbacksMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.AddCallbacksRequest, io.latchwork.v1.AddCallbacksResponse> getAddCallbacksMethod;
    if ((getAddCallbacksMethod = SupervisorServiceGrpc.getAddCallbacksMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getAddCallbacksMethod = SupervisorServiceGrpc.getAddCallbacksMethod) == null) {
          SupervisorServiceGrpc.getAddCallbacksMethod = getAddCallbacksMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.AddCallbacksRequest, io.latchwork.v1.AddCallbacksResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AddCallbacks"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.AddCallbacksRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.AddCallbacksResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("AddCallbacks"))
              .build();
        }
      }
    }
    return getAddCallbacksMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ListCallbackRunsRequest,
      io.latchwork.v1.ListCallbackRunsResponse> getListCallbackRunsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListCallbackRuns",
      requestType = io.latchwork.v1.ListCallbackRunsRequest.class,
      responseType = io.latchwork.v1.ListCallbackRunsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ListCallbackRunsRequest,
      io.latchwork.v1.ListCallbackRunsResponse> getListCallbackRunsMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ListCallbackRunsRequest, io.latchwork.v1.ListCallbackRunsResponse> getListCallbackRunsMethod;
    if ((getListCallbackRunsMethod = SupervisorServiceGrpc.getListCallbackRunsMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getListCallbackRunsMethod = SupervisorServiceGrpc.getListCallbackRunsMethod) == null) {
          SupervisorServiceGrpc.getListCallbackRunsMethod = getListCallbackRunsMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ListCallbackRunsRequest, io.latchwork.v1.ListCallbackRunsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListCallbackRuns"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ListCallbackRunsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ListCallbackRunsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("ListCallbackRuns"))
              .build();
        }
      }
    }
    return getListCallbackRunsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ValidateTriggerRequest,
      io.latchwork.v1.ValidateTriggerResponse> getValidateTriggerMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ValidateTrigger",
      requestType = io.latchwork.v1.ValidateTriggerRequest.class,
      responseType = io.latchwork.v1.ValidateTriggerResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ValidateTriggerRequest,
      io.latchwork.v1.ValidateTriggerResponse> getValidateTriggerMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ValidateTriggerRequest, io.latchwork.v1.ValidateTriggerResponse> getValidateTriggerMethod;
    if ((getValidateTriggerMethod = SupervisorServiceGrpc.getValidateTriggerMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getValidateTriggerMethod = SupervisorServiceGrpc.getValidateTriggerMethod) == null) {
          SupervisorServiceGrpc.getValidateTriggerMethod = getValidateTriggerMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ValidateTriggerRequest, io.latchwork.v1.ValidateTriggerResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ValidateTrigger"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ValidateTriggerRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ValidateTriggerResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("ValidateTrigger"))
              .build();
        }
      }
    }
    return getValidateTriggerMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.GetWorkOutputRequest,
      io.latchwork.v1.GetWorkOutputResponse> getGetWorkOutputMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetWorkOutput",
      requestType = io.latchwork.v1.GetWorkOutputRequest.class,
      responseType = io.latchwork.v1.GetWorkOutputResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.GetWorkOutputRequest,
      io.latchwork.v1.GetWorkOutputResponse> getGetWorkOutputMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.GetWorkOutputRequest, io.latchwork.v1.GetWorkOutputResponse> getGetWorkOutputMethod;
    if ((getGetWorkOutputMethod = SupervisorServiceGrpc.getGetWorkOutputMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getGetWorkOutputMethod = SupervisorServiceGrpc.getGetWorkOutputMethod) == null) {
          SupervisorServiceGrpc.getGetWorkOutputMethod = getGetWorkOutputMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.GetWorkOutputRequest, io.latchwork.v1.GetWorkOutputResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetWorkOutput"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.GetWorkOutputRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.GetWorkOutputResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("GetWorkOutput"))
              .build();
        }
      }
    }
    return getGetWorkOutputMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ListHostsRequest,
      io.latchwork.v1.ListHostsResponse> getListHostsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListHosts",
      requestType = io.latchwork.v1.ListHostsRequest.class,
      responseType = io.latchwork.v1.ListHostsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ListHostsRequest,
      io.latchwork.v1.ListHostsResponse> getListHostsMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ListHostsRequest, io.latchwork.v1.ListHostsResponse> getListHostsMethod;
    if ((getListHostsMethod = SupervisorServiceGrpc.getListHostsMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getListHostsMethod = SupervisorServiceGrpc.getListHostsMethod) == null) {
          SupervisorServiceGrpc.getListHostsMethod = getListHostsMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ListHostsRequest, io.latchwork.v1.ListHostsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListHosts"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ListHostsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ListHostsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("ListHosts"))
              .build();
        }
      }
    }
    return getListHostsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.GetHostRequest,
      io.latchwork.v1.GetHostResponse> getGetHostMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetHost",
      requestType = io.latchwork.v1.GetHostRequest.class,
      responseType = io.latchwork.v1.GetHostResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.GetHostRequest,
      io.latchwork.v1.GetHostResponse> getGetHostMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.GetHostRequest, io.latchwork.v1.GetHostResponse> getGetHostMethod;
    if ((getGetHostMethod = SupervisorServiceGrpc.getGetHostMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getGetHostMethod = SupervisorServiceGrpc.getGetHostMethod) == null) {
          SupervisorServiceGrpc.getGetHostMethod = getGetHostMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.GetHostRequest, io.latchwork.v1.GetHostResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetHost"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.GetHostRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.GetHostResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("GetHost"))
              .build();
        }
      }
    }
    return getGetHostMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ControlHostsRequest,
      io.latchwork.v1.ControlHostsResponse> getControlHostsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ControlHosts",
      requestType = io.latchwork.v1.ControlHostsRequest.class,
      responseType = io.latchwork.v1.ControlHostsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ControlHostsRequest,
      io.latchwork.v1.ControlHostsResponse> getControlHostsMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ControlHostsRequest, io.latchwork.v1.ControlHostsResponse> getControlHostsMethod;
    if ((getControlHostsMethod = SupervisorServiceGrpc.getControlHostsMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getControlHostsMethod = SupervisorServiceGrpc.getControlHostsMethod) == null) {
          SupervisorServiceGrpc.getControlHostsMethod = getControlHostsMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ControlHostsRequest, io.latchwork.v1.ControlHostsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ControlHosts"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ControlHostsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ControlHostsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("ControlHosts"))
              .build();
        }
      }
    }
    return getControlHostsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ModifyJobsRequest,
      io.latchwork.v1.ModifyJobsResponse> getModifyJobsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ModifyJobs",
      requestType = io.latchwork.v1.ModifyJobsRequest.class,
      responseType = io.latchwork.v1.ModifyJobsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ModifyJobsRequest,
      io.latchwork.v1.ModifyJobsResponse> getModifyJobsMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ModifyJobsRequest, io.latchwork.v1.ModifyJobsResponse> getModifyJobsMethod;
    if ((getModifyJobsMethod = SupervisorServiceGrpc.getModifyJobsMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getModifyJobsMethod = SupervisorServiceGrpc.getModifyJobsMethod) == null) {
          SupervisorServiceGrpc.getModifyJobsMethod = getModifyJobsMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ModifyJobsRequest, io.latchwork.v1.ModifyJobsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ModifyJobs"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ModifyJobsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ModifyJobsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("ModifyJobs"))
              .build();
        }
      }
    }
    return getModifyJobsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.ExplainJobRequest,
      io.latchwork.v1.ExplainJobResponse> getExplainJobMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ExplainJob",
      requestType = io.latchwork.v1.ExplainJobRequest.class,
      responseType = io.latchwork.v1.ExplainJobResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.ExplainJobRequest,
      io.latchwork.v1.ExplainJobResponse> getExplainJobMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.ExplainJobRequest, io.latchwork.v1.ExplainJobResponse> getExplainJobMethod;
    if ((getExplainJobMethod = SupervisorServiceGrpc.getExplainJobMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getExplainJobMethod = SupervisorServiceGrpc.getExplainJobMethod) == null) {
          SupervisorServiceGrpc.getExplainJobMethod = getExplainJobMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.ExplainJobRequest, io.latchwork.v1.ExplainJobResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ExplainJob"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ExplainJobRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.ExplainJobResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("ExplainJob"))
              .build();
        }
      }
    }
    return getExplainJobMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.latchwork.v1.SummarizeFarmRequest,
      io.latchwork.v1.SummarizeFarmResponse> getSummarizeFarmMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SummarizeFarm",
      requestType = io.latchwork.v1.SummarizeFarmRequest.class,
      responseType = io.latchwork.v1.SummarizeFarmResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.latchwork.v1.SummarizeFarmRequest,
      io.latchwork.v1.SummarizeFarmResponse> getSummarizeFarmMethod() {
    io.grpc.MethodDescriptor<io.latchwork.v1.SummarizeFarmRequest, io.latchwork.v1.SummarizeFarmResponse> getSummarizeFarmMethod;
    if ((getSummarizeFarmMethod = SupervisorServiceGrpc.getSummarizeFarmMethod) == null) {
      synchronized (SupervisorServiceGrpc.class) {
        if ((getSummarizeFarmMethod = SupervisorServiceGrpc.getSummarizeFarmMethod) == null) {
          SupervisorServiceGrpc.getSummarizeFarmMethod = getSummarizeFarmMethod =
              io.grpc.MethodDescriptor.<io.latchwork.v1.SummarizeFarmRequest, io.latchwork.v1.SummarizeFarmResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SummarizeFarm"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.SummarizeFarmRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.latchwork.v1.SummarizeFarmResponse.getDefaultInstance()))
              .setSchemaDescriptor(new SupervisorServiceMethodDescriptorSupplier("SummarizeFarm"))
              .build();
        }
      }
    }
    return getSummarizeFarmMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static SupervisorServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SupervisorServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SupervisorServiceStub>() {
        @java.lang.Override
        public SupervisorServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SupervisorServiceStub(channel, callOptions);
        }
      };
    return SupervisorServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static SupervisorServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SupervisorServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SupervisorServiceBlockingV2Stub>() {
        @java.lang.Override
        public SupervisorServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SupervisorServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return SupervisorServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static SupervisorServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SupervisorServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SupervisorServiceBlockingStub>() {
        @java.lang.Override
        public SupervisorServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SupervisorServiceBlockingStub(channel, callOptions);
        }
      };
    return SupervisorServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static SupervisorServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<SupervisorServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<SupervisorServiceFutureStub>() {
        @java.lang.Override
        public SupervisorServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new SupervisorServiceFutureStub(channel, callOptions);
        }
      };
    return SupervisorServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * The supervisor: submit jobs, watch their events, control them.
   * Errors (docs/errors.md lists every code and when): a refused call ends with
   * a gRPC status whose message is written for people. INVALID_ARGUMENT also
   * carries, for programs, a google.rpc.Status in the `grpc-status-details-bin`
   * trailer whose details hold one google.rpc.BadRequest: one FieldViolation
   * per problem, `field` its path in the request ("jobs[2].label",
   * "work[1].work_name", "page_token") and `description` what is wrong. At most
   * 20 are listed (the message then ends with "and N more"); field paths are
   * cut to 100 characters, descriptions to 200. The request was checked whole
   * and nothing was changed. Helpers: FieldViolations (Go), fieldViolations
   * (TypeScript), FieldViolations.of (Java), LatchworkError.violations (Python).
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Submits jobs atomically: all of them are stored, or none (then the
     * status is INVALID_ARGUMENT; its message and BadRequest details name the
     * first 20 problems by field path, then how many more). Sizes are limited
     * (docs/limits.md). Retrying with the same request_id returns the first
     * answer.
     * </pre>
     */
    default void submit(io.latchwork.v1.SubmitRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.SubmitResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSubmitMethod(), responseObserver);
    }

    /**
     * <pre>
     * Streams events in sequence order, resuming after a given seq. It never
     * ends by itself: a stream that ends, or fails with UNAVAILABLE, UNKNOWN
     * (a broken HTTP/2 stream as some libraries report it) or a CANCELLED the
     * caller did not cause, is resumed by calling again with after_seq = the
     * last event's seq (or heartbeat's head_seq). OUT_OF_RANGE is a gap; every
     * other code is final (docs/subscribe.md, "Resuming, from any language").
     * </pre>
     */
    default void subscribe(io.latchwork.v1.SubscribeRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.SubscribeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSubscribeMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one job with its work, subjobs, callbacks and children.
     * </pre>
     */
    default void getJob(io.latchwork.v1.GetJobRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.GetJobResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetJobMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists jobs, newest first, a page at a time.
     * </pre>
     */
    default void listJobs(io.latchwork.v1.ListJobsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ListJobsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListJobsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Blocks, unblocks, kills, retries, suspends, resumes or removes jobs or
     * single work items, atomically: every target is checked first.
     * </pre>
     */
    default void controlJobs(io.latchwork.v1.ControlJobsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ControlJobsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getControlJobsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Registers more callbacks on an existing job.
     * </pre>
     */
    default void addCallbacks(io.latchwork.v1.AddCallbacksRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.AddCallbacksResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAddCallbacksMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the recorded runs of callbacks.
     * </pre>
     */
    default void listCallbackRuns(io.latchwork.v1.ListCallbackRunsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ListCallbackRunsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListCallbackRunsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Parses a trigger expression and returns its structure or the error.
     * </pre>
     */
    default void validateTrigger(io.latchwork.v1.ValidateTriggerRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ValidateTriggerResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getValidateTriggerMethod(), responseObserver);
    }

    /**
     * <pre>
     * Reads the captured output of one work item.
     * </pre>
     */
    default void getWorkOutput(io.latchwork.v1.GetWorkOutputRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.GetWorkOutputResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetWorkOutputMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists the farm's hosts and its global resources.
     * </pre>
     */
    default void listHosts(io.latchwork.v1.ListHostsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ListHostsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListHostsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    default void getHost(io.latchwork.v1.GetHostRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.GetHostResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetHostMethod(), responseObserver);
    }

    /**
     * <pre>
     * Locks or unlocks hosts (admins only). A locked host takes no new work;
     * what runs there finishes (a drain).
     * </pre>
     */
    default void controlHosts(io.latchwork.v1.ControlHostsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ControlHostsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getControlHostsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes jobs after submit (Qube's qbmodify), checked as a Submit is:
     * the owner or an admin, every change valid, applied to all jobs or none.
     * Each changed job gets a `modified` event.
     * </pre>
     */
    default void modifyJobs(io.latchwork.v1.ModifyJobsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ModifyJobsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getModifyJobsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Why a job is where it is: each callback's trigger as a tree with every
     * atom latched (and by which event) or awaited, per `*` binding, and why
     * routing keeps its pending work from running (docs/why.md).
     * </pre>
     */
    default void explainJob(io.latchwork.v1.ExplainJobRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ExplainJobResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getExplainJobMethod(), responseObserver);
    }

    /**
     * <pre>
     * The farm at a glance, as the caller may read it: jobs and frames by
     * status, the newest failures. What a dashboard's overview shows: one pass
     * over the jobs, shared by callers who read the same jobs for a second.
     * </pre>
     */
    default void summarizeFarm(io.latchwork.v1.SummarizeFarmRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.SummarizeFarmResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSummarizeFarmMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service SupervisorService.
   * <pre>
   * The supervisor: submit jobs, watch their events, control them.
   * Errors (docs/errors.md lists every code and when): a refused call ends with
   * a gRPC status whose message is written for people. INVALID_ARGUMENT also
   * carries, for programs, a google.rpc.Status in the `grpc-status-details-bin`
   * trailer whose details hold one google.rpc.BadRequest: one FieldViolation
   * per problem, `field` its path in the request ("jobs[2].label",
   * "work[1].work_name", "page_token") and `description` what is wrong. At most
   * 20 are listed (the message then ends with "and N more"); field paths are
   * cut to 100 characters, descriptions to 200. The request was checked whole
   * and nothing was changed. Helpers: FieldViolations (Go), fieldViolations
   * (TypeScript), FieldViolations.of (Java), LatchworkError.violations (Python).
   * </pre>
   */
  public static abstract class SupervisorServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return SupervisorServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service SupervisorService.
   * <pre>
   * The supervisor: submit jobs, watch their events, control them.
   * Errors (docs/errors.md lists every code and when): a refused call ends with
   * a gRPC status whose message is written for people. INVALID_ARGUMENT also
   * carries, for programs, a google.rpc.Status in the `grpc-status-details-bin`
   * trailer whose details hold one google.rpc.BadRequest: one FieldViolation
   * per problem, `field` its path in the request ("jobs[2].label",
   * "work[1].work_name", "page_token") and `description` what is wrong. At most
   * 20 are listed (the message then ends with "and N more"); field paths are
   * cut to 100 characters, descriptions to 200. The request was checked whole
   * and nothing was changed. Helpers: FieldViolations (Go), fieldViolations
   * (TypeScript), FieldViolations.of (Java), LatchworkError.violations (Python).
   * </pre>
   */
  public static final class SupervisorServiceStub
      extends io.grpc.stub.AbstractAsyncStub<SupervisorServiceStub> {
    private SupervisorServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SupervisorServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SupervisorServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Submits jobs atomically: all of them are stored, or none (then the
     * status is INVALID_ARGUMENT; its message and BadRequest details name the
     * first 20 problems by field path, then how many more). Sizes are limited
     * (docs/limits.md). Retrying with the same request_id returns the first
     * answer.
     * </pre>
     */
    public void submit(io.latchwork.v1.SubmitRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.SubmitResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSubmitMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Streams events in sequence order, resuming after a given seq. It never
     * ends by itself: a stream that ends, or fails with UNAVAILABLE, UNKNOWN
     * (a broken HTTP/2 stream as some libraries report it) or a CANCELLED the
     * caller did not cause, is resumed by calling again with after_seq = the
     * last event's seq (or heartbeat's head_seq). OUT_OF_RANGE is a gap; every
     * other code is final (docs/subscribe.md, "Resuming, from any language").
     * </pre>
     */
    public void subscribe(io.latchwork.v1.SubscribeRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.SubscribeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getSubscribeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one job with its work, subjobs, callbacks and children.
     * </pre>
     */
    public void getJob(io.latchwork.v1.GetJobRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.GetJobResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetJobMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists jobs, newest first, a page at a time.
     * </pre>
     */
    public void listJobs(io.latchwork.v1.ListJobsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ListJobsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListJobsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Blocks, unblocks, kills, retries, suspends, resumes or removes jobs or
     * single work items, atomically: every target is checked first.
     * </pre>
     */
    public void controlJobs(io.latchwork.v1.ControlJobsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ControlJobsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getControlJobsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Registers more callbacks on an existing job.
     * </pre>
     */
    public void addCallbacks(io.latchwork.v1.AddCallbacksRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.AddCallbacksResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAddCallbacksMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the recorded runs of callbacks.
     * </pre>
     */
    public void listCallbackRuns(io.latchwork.v1.ListCallbackRunsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ListCallbackRunsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListCallbackRunsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Parses a trigger expression and returns its structure or the error.
     * </pre>
     */
    public void validateTrigger(io.latchwork.v1.ValidateTriggerRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ValidateTriggerResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getValidateTriggerMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Reads the captured output of one work item.
     * </pre>
     */
    public void getWorkOutput(io.latchwork.v1.GetWorkOutputRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.GetWorkOutputResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetWorkOutputMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists the farm's hosts and its global resources.
     * </pre>
     */
    public void listHosts(io.latchwork.v1.ListHostsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ListHostsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListHostsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    public void getHost(io.latchwork.v1.GetHostRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.GetHostResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetHostMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Locks or unlocks hosts (admins only). A locked host takes no new work;
     * what runs there finishes (a drain).
     * </pre>
     */
    public void controlHosts(io.latchwork.v1.ControlHostsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ControlHostsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getControlHostsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes jobs after submit (Qube's qbmodify), checked as a Submit is:
     * the owner or an admin, every change valid, applied to all jobs or none.
     * Each changed job gets a `modified` event.
     * </pre>
     */
    public void modifyJobs(io.latchwork.v1.ModifyJobsRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ModifyJobsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getModifyJobsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Why a job is where it is: each callback's trigger as a tree with every
     * atom latched (and by which event) or awaited, per `*` binding, and why
     * routing keeps its pending work from running (docs/why.md).
     * </pre>
     */
    public void explainJob(io.latchwork.v1.ExplainJobRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.ExplainJobResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getExplainJobMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * The farm at a glance, as the caller may read it: jobs and frames by
     * status, the newest failures. What a dashboard's overview shows: one pass
     * over the jobs, shared by callers who read the same jobs for a second.
     * </pre>
     */
    public void summarizeFarm(io.latchwork.v1.SummarizeFarmRequest request,
        io.grpc.stub.StreamObserver<io.latchwork.v1.SummarizeFarmResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSummarizeFarmMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service SupervisorService.
   * <pre>
   * The supervisor: submit jobs, watch their events, control them.
   * Errors (docs/errors.md lists every code and when): a refused call ends with
   * a gRPC status whose message is written for people. INVALID_ARGUMENT also
   * carries, for programs, a google.rpc.Status in the `grpc-status-details-bin`
   * trailer whose details hold one google.rpc.BadRequest: one FieldViolation
   * per problem, `field` its path in the request ("jobs[2].label",
   * "work[1].work_name", "page_token") and `description` what is wrong. At most
   * 20 are listed (the message then ends with "and N more"); field paths are
   * cut to 100 characters, descriptions to 200. The request was checked whole
   * and nothing was changed. Helpers: FieldViolations (Go), fieldViolations
   * (TypeScript), FieldViolations.of (Java), LatchworkError.violations (Python).
   * </pre>
   */
  public static final class SupervisorServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<SupervisorServiceBlockingV2Stub> {
    private SupervisorServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SupervisorServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SupervisorServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Submits jobs atomically: all of them are stored, or none (then the
     * status is INVALID_ARGUMENT; its message and BadRequest details name the
     * first 20 problems by field path, then how many more). Sizes are limited
     * (docs/limits.md). Retrying with the same request_id returns the first
     * answer.
     * </pre>
     */
    public io.latchwork.v1.SubmitResponse submit(io.latchwork.v1.SubmitRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSubmitMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams events in sequence order, resuming after a given seq. It never
     * ends by itself: a stream that ends, or fails with UNAVAILABLE, UNKNOWN
     * (a broken HTTP/2 stream as some libraries report it) or a CANCELLED the
     * caller did not cause, is resumed by calling again with after_seq = the
     * last event's seq (or heartbeat's head_seq). OUT_OF_RANGE is a gap; every
     * other code is final (docs/subscribe.md, "Resuming, from any language").
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, io.latchwork.v1.SubscribeResponse>
        subscribe(io.latchwork.v1.SubscribeRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getSubscribeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one job with its work, subjobs, callbacks and children.
     * </pre>
     */
    public io.latchwork.v1.GetJobResponse getJob(io.latchwork.v1.GetJobRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetJobMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists jobs, newest first, a page at a time.
     * </pre>
     */
    public io.latchwork.v1.ListJobsResponse listJobs(io.latchwork.v1.ListJobsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListJobsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Blocks, unblocks, kills, retries, suspends, resumes or removes jobs or
     * single work items, atomically: every target is checked first.
     * </pre>
     */
    public io.latchwork.v1.ControlJobsResponse controlJobs(io.latchwork.v1.ControlJobsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getControlJobsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Registers more callbacks on an existing job.
     * </pre>
     */
    public io.latchwork.v1.AddCallbacksResponse addCallbacks(io.latchwork.v1.AddCallbacksRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getAddCallbacksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the recorded runs of callbacks.
     * </pre>
     */
    public io.latchwork.v1.ListCallbackRunsResponse listCallbackRuns(io.latchwork.v1.ListCallbackRunsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListCallbackRunsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Parses a trigger expression and returns its structure or the error.
     * </pre>
     */
    public io.latchwork.v1.ValidateTriggerResponse validateTrigger(io.latchwork.v1.ValidateTriggerRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getValidateTriggerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reads the captured output of one work item.
     * </pre>
     */
    public io.latchwork.v1.GetWorkOutputResponse getWorkOutput(io.latchwork.v1.GetWorkOutputRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetWorkOutputMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the farm's hosts and its global resources.
     * </pre>
     */
    public io.latchwork.v1.ListHostsResponse listHosts(io.latchwork.v1.ListHostsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListHostsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    public io.latchwork.v1.GetHostResponse getHost(io.latchwork.v1.GetHostRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Locks or unlocks hosts (admins only). A locked host takes no new work;
     * what runs there finishes (a drain).
     * </pre>
     */
    public io.latchwork.v1.ControlHostsResponse controlHosts(io.latchwork.v1.ControlHostsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getControlHostsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes jobs after submit (Qube's qbmodify), checked as a Submit is:
     * the owner or an admin, every change valid, applied to all jobs or none.
     * Each changed job gets a `modified` event.
     * </pre>
     */
    public io.latchwork.v1.ModifyJobsResponse modifyJobs(io.latchwork.v1.ModifyJobsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getModifyJobsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Why a job is where it is: each callback's trigger as a tree with every
     * atom latched (and by which event) or awaited, per `*` binding, and why
     * routing keeps its pending work from running (docs/why.md).
     * </pre>
     */
    public io.latchwork.v1.ExplainJobResponse explainJob(io.latchwork.v1.ExplainJobRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getExplainJobMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * The farm at a glance, as the caller may read it: jobs and frames by
     * status, the newest failures. What a dashboard's overview shows: one pass
     * over the jobs, shared by callers who read the same jobs for a second.
     * </pre>
     */
    public io.latchwork.v1.SummarizeFarmResponse summarizeFarm(io.latchwork.v1.SummarizeFarmRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getSummarizeFarmMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service SupervisorService.
   * <pre>
   * The supervisor: submit jobs, watch their events, control them.
   * Errors (docs/errors.md lists every code and when): a refused call ends with
   * a gRPC status whose message is written for people. INVALID_ARGUMENT also
   * carries, for programs, a google.rpc.Status in the `grpc-status-details-bin`
   * trailer whose details hold one google.rpc.BadRequest: one FieldViolation
   * per problem, `field` its path in the request ("jobs[2].label",
   * "work[1].work_name", "page_token") and `description` what is wrong. At most
   * 20 are listed (the message then ends with "and N more"); field paths are
   * cut to 100 characters, descriptions to 200. The request was checked whole
   * and nothing was changed. Helpers: FieldViolations (Go), fieldViolations
   * (TypeScript), FieldViolations.of (Java), LatchworkError.violations (Python).
   * </pre>
   */
  public static final class SupervisorServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<SupervisorServiceBlockingStub> {
    private SupervisorServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SupervisorServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SupervisorServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Submits jobs atomically: all of them are stored, or none (then the
     * status is INVALID_ARGUMENT; its message and BadRequest details name the
     * first 20 problems by field path, then how many more). Sizes are limited
     * (docs/limits.md). Retrying with the same request_id returns the first
     * answer.
     * </pre>
     */
    public io.latchwork.v1.SubmitResponse submit(io.latchwork.v1.SubmitRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSubmitMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Streams events in sequence order, resuming after a given seq. It never
     * ends by itself: a stream that ends, or fails with UNAVAILABLE, UNKNOWN
     * (a broken HTTP/2 stream as some libraries report it) or a CANCELLED the
     * caller did not cause, is resumed by calling again with after_seq = the
     * last event's seq (or heartbeat's head_seq). OUT_OF_RANGE is a gap; every
     * other code is final (docs/subscribe.md, "Resuming, from any language").
     * </pre>
     */
    public java.util.Iterator<io.latchwork.v1.SubscribeResponse> subscribe(
        io.latchwork.v1.SubscribeRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getSubscribeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one job with its work, subjobs, callbacks and children.
     * </pre>
     */
    public io.latchwork.v1.GetJobResponse getJob(io.latchwork.v1.GetJobRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetJobMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists jobs, newest first, a page at a time.
     * </pre>
     */
    public io.latchwork.v1.ListJobsResponse listJobs(io.latchwork.v1.ListJobsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListJobsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Blocks, unblocks, kills, retries, suspends, resumes or removes jobs or
     * single work items, atomically: every target is checked first.
     * </pre>
     */
    public io.latchwork.v1.ControlJobsResponse controlJobs(io.latchwork.v1.ControlJobsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getControlJobsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Registers more callbacks on an existing job.
     * </pre>
     */
    public io.latchwork.v1.AddCallbacksResponse addCallbacks(io.latchwork.v1.AddCallbacksRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAddCallbacksMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the recorded runs of callbacks.
     * </pre>
     */
    public io.latchwork.v1.ListCallbackRunsResponse listCallbackRuns(io.latchwork.v1.ListCallbackRunsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListCallbackRunsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Parses a trigger expression and returns its structure or the error.
     * </pre>
     */
    public io.latchwork.v1.ValidateTriggerResponse validateTrigger(io.latchwork.v1.ValidateTriggerRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getValidateTriggerMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reads the captured output of one work item.
     * </pre>
     */
    public io.latchwork.v1.GetWorkOutputResponse getWorkOutput(io.latchwork.v1.GetWorkOutputRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetWorkOutputMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists the farm's hosts and its global resources.
     * </pre>
     */
    public io.latchwork.v1.ListHostsResponse listHosts(io.latchwork.v1.ListHostsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListHostsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    public io.latchwork.v1.GetHostResponse getHost(io.latchwork.v1.GetHostRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetHostMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Locks or unlocks hosts (admins only). A locked host takes no new work;
     * what runs there finishes (a drain).
     * </pre>
     */
    public io.latchwork.v1.ControlHostsResponse controlHosts(io.latchwork.v1.ControlHostsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getControlHostsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes jobs after submit (Qube's qbmodify), checked as a Submit is:
     * the owner or an admin, every change valid, applied to all jobs or none.
     * Each changed job gets a `modified` event.
     * </pre>
     */
    public io.latchwork.v1.ModifyJobsResponse modifyJobs(io.latchwork.v1.ModifyJobsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getModifyJobsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Why a job is where it is: each callback's trigger as a tree with every
     * atom latched (and by which event) or awaited, per `*` binding, and why
     * routing keeps its pending work from running (docs/why.md).
     * </pre>
     */
    public io.latchwork.v1.ExplainJobResponse explainJob(io.latchwork.v1.ExplainJobRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getExplainJobMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * The farm at a glance, as the caller may read it: jobs and frames by
     * status, the newest failures. What a dashboard's overview shows: one pass
     * over the jobs, shared by callers who read the same jobs for a second.
     * </pre>
     */
    public io.latchwork.v1.SummarizeFarmResponse summarizeFarm(io.latchwork.v1.SummarizeFarmRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSummarizeFarmMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service SupervisorService.
   * <pre>
   * The supervisor: submit jobs, watch their events, control them.
   * Errors (docs/errors.md lists every code and when): a refused call ends with
   * a gRPC status whose message is written for people. INVALID_ARGUMENT also
   * carries, for programs, a google.rpc.Status in the `grpc-status-details-bin`
   * trailer whose details hold one google.rpc.BadRequest: one FieldViolation
   * per problem, `field` its path in the request ("jobs[2].label",
   * "work[1].work_name", "page_token") and `description` what is wrong. At most
   * 20 are listed (the message then ends with "and N more"); field paths are
   * cut to 100 characters, descriptions to 200. The request was checked whole
   * and nothing was changed. Helpers: FieldViolations (Go), fieldViolations
   * (TypeScript), FieldViolations.of (Java), LatchworkError.violations (Python).
   * </pre>
   */
  public static final class SupervisorServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<SupervisorServiceFutureStub> {
    private SupervisorServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected SupervisorServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new SupervisorServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Submits jobs atomically: all of them are stored, or none (then the
     * status is INVALID_ARGUMENT; its message and BadRequest details name the
     * first 20 problems by field path, then how many more). Sizes are limited
     * (docs/limits.md). Retrying with the same request_id returns the first
     * answer.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.SubmitResponse> submit(
        io.latchwork.v1.SubmitRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSubmitMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one job with its work, subjobs, callbacks and children.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.GetJobResponse> getJob(
        io.latchwork.v1.GetJobRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetJobMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists jobs, newest first, a page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.ListJobsResponse> listJobs(
        io.latchwork.v1.ListJobsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListJobsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Blocks, unblocks, kills, retries, suspends, resumes or removes jobs or
     * single work items, atomically: every target is checked first.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.ControlJobsResponse> controlJobs(
        io.latchwork.v1.ControlJobsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getControlJobsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Registers more callbacks on an existing job.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.AddCallbacksResponse> addCallbacks(
        io.latchwork.v1.AddCallbacksRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAddCallbacksMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the recorded runs of callbacks.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.ListCallbackRunsResponse> listCallbackRuns(
        io.latchwork.v1.ListCallbackRunsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListCallbackRunsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Parses a trigger expression and returns its structure or the error.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.ValidateTriggerResponse> validateTrigger(
        io.latchwork.v1.ValidateTriggerRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getValidateTriggerMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Reads the captured output of one work item.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.GetWorkOutputResponse> getWorkOutput(
        io.latchwork.v1.GetWorkOutputRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetWorkOutputMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists the farm's hosts and its global resources.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.ListHostsResponse> listHosts(
        io.latchwork.v1.ListHostsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListHostsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one host.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.GetHostResponse> getHost(
        io.latchwork.v1.GetHostRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetHostMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Locks or unlocks hosts (admins only). A locked host takes no new work;
     * what runs there finishes (a drain).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.ControlHostsResponse> controlHosts(
        io.latchwork.v1.ControlHostsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getControlHostsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes jobs after submit (Qube's qbmodify), checked as a Submit is:
     * the owner or an admin, every change valid, applied to all jobs or none.
     * Each changed job gets a `modified` event.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.ModifyJobsResponse> modifyJobs(
        io.latchwork.v1.ModifyJobsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getModifyJobsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Why a job is where it is: each callback's trigger as a tree with every
     * atom latched (and by which event) or awaited, per `*` binding, and why
     * routing keeps its pending work from running (docs/why.md).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.ExplainJobResponse> explainJob(
        io.latchwork.v1.ExplainJobRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getExplainJobMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * The farm at a glance, as the caller may read it: jobs and frames by
     * status, the newest failures. What a dashboard's overview shows: one pass
     * over the jobs, shared by callers who read the same jobs for a second.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.latchwork.v1.SummarizeFarmResponse> summarizeFarm(
        io.latchwork.v1.SummarizeFarmRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSummarizeFarmMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_SUBMIT = 0;
  private static final int METHODID_SUBSCRIBE = 1;
  private static final int METHODID_GET_JOB = 2;
  private static final int METHODID_LIST_JOBS = 3;
  private static final int METHODID_CONTROL_JOBS = 4;
  private static final int METHODID_ADD_CALLBACKS = 5;
  private static final int METHODID_LIST_CALLBACK_RUNS = 6;
  private static final int METHODID_VALIDATE_TRIGGER = 7;
  private static final int METHODID_GET_WORK_OUTPUT = 8;
  private static final int METHODID_LIST_HOSTS = 9;
  private static final int METHODID_GET_HOST = 10;
  private static final int METHODID_CONTROL_HOSTS = 11;
  private static final int METHODID_MODIFY_JOBS = 12;
  private static final int METHODID_EXPLAIN_JOB = 13;
  private static final int METHODID_SUMMARIZE_FARM = 14;

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
        case METHODID_SUBMIT:
          serviceImpl.submit((io.latchwork.v1.SubmitRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.SubmitResponse>) responseObserver);
          break;
        case METHODID_SUBSCRIBE:
          serviceImpl.subscribe((io.latchwork.v1.SubscribeRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.SubscribeResponse>) responseObserver);
          break;
        case METHODID_GET_JOB:
          serviceImpl.getJob((io.latchwork.v1.GetJobRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.GetJobResponse>) responseObserver);
          break;
        case METHODID_LIST_JOBS:
          serviceImpl.listJobs((io.latchwork.v1.ListJobsRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ListJobsResponse>) responseObserver);
          break;
        case METHODID_CONTROL_JOBS:
          serviceImpl.controlJobs((io.latchwork.v1.ControlJobsRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ControlJobsResponse>) responseObserver);
          break;
        case METHODID_ADD_CALLBACKS:
          serviceImpl.addCallbacks((io.latchwork.v1.AddCallbacksRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.AddCallbacksResponse>) responseObserver);
          break;
        case METHODID_LIST_CALLBACK_RUNS:
          serviceImpl.listCallbackRuns((io.latchwork.v1.ListCallbackRunsRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ListCallbackRunsResponse>) responseObserver);
          break;
        case METHODID_VALIDATE_TRIGGER:
          serviceImpl.validateTrigger((io.latchwork.v1.ValidateTriggerRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ValidateTriggerResponse>) responseObserver);
          break;
        case METHODID_GET_WORK_OUTPUT:
          serviceImpl.getWorkOutput((io.latchwork.v1.GetWorkOutputRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.GetWorkOutputResponse>) responseObserver);
          break;
        case METHODID_LIST_HOSTS:
          serviceImpl.listHosts((io.latchwork.v1.ListHostsRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ListHostsResponse>) responseObserver);
          break;
        case METHODID_GET_HOST:
          serviceImpl.getHost((io.latchwork.v1.GetHostRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.GetHostResponse>) responseObserver);
          break;
        case METHODID_CONTROL_HOSTS:
          serviceImpl.controlHosts((io.latchwork.v1.ControlHostsRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ControlHostsResponse>) responseObserver);
          break;
        case METHODID_MODIFY_JOBS:
          serviceImpl.modifyJobs((io.latchwork.v1.ModifyJobsRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ModifyJobsResponse>) responseObserver);
          break;
        case METHODID_EXPLAIN_JOB:
          serviceImpl.explainJob((io.latchwork.v1.ExplainJobRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.ExplainJobResponse>) responseObserver);
          break;
        case METHODID_SUMMARIZE_FARM:
          serviceImpl.summarizeFarm((io.latchwork.v1.SummarizeFarmRequest) request,
              (io.grpc.stub.StreamObserver<io.latchwork.v1.SummarizeFarmResponse>) responseObserver);
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
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getSubmitMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.SubmitRequest,
              io.latchwork.v1.SubmitResponse>(
                service, METHODID_SUBMIT)))
        .addMethod(
          getSubscribeMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              io.latchwork.v1.SubscribeRequest,
              io.latchwork.v1.SubscribeResponse>(
                service, METHODID_SUBSCRIBE)))
        .addMethod(
          getGetJobMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.GetJobRequest,
              io.latchwork.v1.GetJobResponse>(
                service, METHODID_GET_JOB)))
        .addMethod(
          getListJobsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.ListJobsRequest,
              io.latchwork.v1.ListJobsResponse>(
                service, METHODID_LIST_JOBS)))
        .addMethod(
          getControlJobsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.ControlJobsRequest,
              io.latchwork.v1.ControlJobsResponse>(
                service, METHODID_CONTROL_JOBS)))
        .addMethod(
          getAddCallbacksMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.AddCallbacksRequest,
              io.latchwork.v1.AddCallbacksResponse>(
                service, METHODID_ADD_CALLBACKS)))
        .addMethod(
          getListCallbackRunsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.ListCallbackRunsRequest,
              io.latchwork.v1.ListCallbackRunsResponse>(
                service, METHODID_LIST_CALLBACK_RUNS)))
        .addMethod(
          getValidateTriggerMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.ValidateTriggerRequest,
              io.latchwork.v1.ValidateTriggerResponse>(
                service, METHODID_VALIDATE_TRIGGER)))
        .addMethod(
          getGetWorkOutputMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.GetWorkOutputRequest,
              io.latchwork.v1.GetWorkOutputResponse>(
                service, METHODID_GET_WORK_OUTPUT)))
        .addMethod(
          getListHostsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.ListHostsRequest,
              io.latchwork.v1.ListHostsResponse>(
                service, METHODID_LIST_HOSTS)))
        .addMethod(
          getGetHostMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.GetHostRequest,
              io.latchwork.v1.GetHostResponse>(
                service, METHODID_GET_HOST)))
        .addMethod(
          getControlHostsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.ControlHostsRequest,
              io.latchwork.v1.ControlHostsResponse>(
                service, METHODID_CONTROL_HOSTS)))
        .addMethod(
          getModifyJobsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.ModifyJobsRequest,
              io.latchwork.v1.ModifyJobsResponse>(
                service, METHODID_MODIFY_JOBS)))
        .addMethod(
          getExplainJobMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.ExplainJobRequest,
              io.latchwork.v1.ExplainJobResponse>(
                service, METHODID_EXPLAIN_JOB)))
        .addMethod(
          getSummarizeFarmMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.latchwork.v1.SummarizeFarmRequest,
              io.latchwork.v1.SummarizeFarmResponse>(
                service, METHODID_SUMMARIZE_FARM)))
        .build();
  }

  private static abstract class SupervisorServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    SupervisorServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.latchwork.v1.SupervisorProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("SupervisorService");
    }
  }

  private static final class SupervisorServiceFileDescriptorSupplier
      extends SupervisorServiceBaseDescriptorSupplier {
    SupervisorServiceFileDescriptorSupplier() {}
  }

  private static final class SupervisorServiceMethodDescriptorSupplier
      extends SupervisorServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    SupervisorServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (SupervisorServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new SupervisorServiceFileDescriptorSupplier())
              .addMethod(getSubmitMethod())
              .addMethod(getSubscribeMethod())
              .addMethod(getGetJobMethod())
              .addMethod(getListJobsMethod())
              .addMethod(getControlJobsMethod())
              .addMethod(getAddCallbacksMethod())
              .addMethod(getListCallbackRunsMethod())
              .addMethod(getValidateTriggerMethod())
              .addMethod(getGetWorkOutputMethod())
              .addMethod(getListHostsMethod())
              .addMethod(getGetHostMethod())
              .addMethod(getControlHostsMethod())
              .addMethod(getModifyJobsMethod())
              .addMethod(getExplainJobMethod())
              .addMethod(getSummarizeFarmMethod())
              .build();
        }
      }
    }
    return result;
  }
}
