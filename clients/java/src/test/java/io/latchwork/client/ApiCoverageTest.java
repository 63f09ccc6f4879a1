package io.latchwork.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServiceDescriptor;
import io.grpc.stub.StreamObserver;
import io.latchwork.v1.AddCallbacksRequest;
import io.latchwork.v1.AddCallbacksResponse;
import io.latchwork.v1.AppendOutputRequest;
import io.latchwork.v1.AppendOutputResponse;
import io.latchwork.v1.ControlHostsRequest;
import io.latchwork.v1.ControlHostsResponse;
import io.latchwork.v1.ControlJobsRequest;
import io.latchwork.v1.ControlJobsResponse;
import io.latchwork.v1.ExplainJobRequest;
import io.latchwork.v1.ExplainJobResponse;
import io.latchwork.v1.SummarizeFarmRequest;
import io.latchwork.v1.SummarizeFarmResponse;
import io.latchwork.v1.GetHostRequest;
import io.latchwork.v1.GetHostResponse;
import io.latchwork.v1.GetJobRequest;
import io.latchwork.v1.GetJobResponse;
import io.latchwork.v1.GetWorkOutputRequest;
import io.latchwork.v1.GetWorkOutputResponse;
import io.latchwork.v1.GlobalResource;
import io.latchwork.v1.HeartbeatRequest;
import io.latchwork.v1.HeartbeatResponse;
import io.latchwork.v1.Host;
import io.latchwork.v1.HostAction;
import io.latchwork.v1.HostControlResult;
import io.latchwork.v1.HostResources;
import io.latchwork.v1.HostState;
import io.latchwork.v1.JobChanges;
import io.latchwork.v1.LeaseWorkRequest;
import io.latchwork.v1.LeaseWorkResponse;
import io.latchwork.v1.ListCallbackRunsRequest;
import io.latchwork.v1.ListCallbackRunsResponse;
import io.latchwork.v1.ListHostsRequest;
import io.latchwork.v1.ListHostsResponse;
import io.latchwork.v1.ListJobsRequest;
import io.latchwork.v1.ListJobsResponse;
import io.latchwork.v1.ModifyJobsRequest;
import io.latchwork.v1.ModifyJobsResponse;
import io.latchwork.v1.RegisterWorkerRequest;
import io.latchwork.v1.RegisterWorkerResponse;
import io.latchwork.v1.ReportWorkRequest;
import io.latchwork.v1.ReportWorkResponse;
import io.latchwork.v1.ReportWorkStreamRequest;
import io.latchwork.v1.ReportWorkStreamResponse;
import io.latchwork.v1.SubmitRequest;
import io.latchwork.v1.SubmitResponse;
import io.latchwork.v1.SubscribeRequest;
import io.latchwork.v1.SubscribeResponse;
import io.latchwork.v1.SupervisorServiceGrpc;
import io.latchwork.v1.SupervisorServiceGrpc.SupervisorServiceBlockingStub;
import io.latchwork.v1.SupervisorServiceGrpc.SupervisorServiceStub;
import io.latchwork.v1.ValidateTriggerRequest;
import io.latchwork.v1.ValidateTriggerResponse;
import io.latchwork.v1.WorkerServiceGrpc;
import io.latchwork.v1.WorkerServiceGrpc.WorkerServiceBlockingStub;
import io.latchwork.v1.WorkerServiceGrpc.WorkerServiceStub;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Compile-level coverage of the generated API: names every RPC of both services with its client
 * methods (blocking and async stubs) and its request and response types, so that this file stops
 * compiling when one goes missing or changes shape; at run time it checks the method descriptors'
 * full names and types, and that the services have no RPC this file does not name.
 */
class ApiCoverageTest {
  private ManagedChannel channel; // never connected: no call is made

  @BeforeEach
  void openChannel() {
    channel = ManagedChannelBuilder.forTarget("localhost:1").usePlaintext().build();
  }

  @AfterEach
  void closeChannel() {
    channel.shutdownNow();
  }

  @Test
  void supervisorService() {
    SupervisorServiceBlockingStub blocking = SupervisorServiceGrpc.newBlockingStub(channel);
    SupervisorServiceStub async = SupervisorServiceGrpc.newStub(channel);

    // Submit
    Function<SubmitRequest, SubmitResponse> submit = blocking::submit;
    BiConsumer<SubmitRequest, StreamObserver<SubmitResponse>> submitAsync = async::submit;
    MethodDescriptor<SubmitRequest, SubmitResponse> submitMethod =
        SupervisorServiceGrpc.getSubmitMethod();
    check(submitMethod, "latchwork.v1.SupervisorService/Submit", MethodType.UNARY);

    // Subscribe (server streaming)
    Function<SubscribeRequest, Iterator<SubscribeResponse>> subscribe = blocking::subscribe;
    BiConsumer<SubscribeRequest, StreamObserver<SubscribeResponse>> subscribeAsync =
        async::subscribe;
    MethodDescriptor<SubscribeRequest, SubscribeResponse> subscribeMethod =
        SupervisorServiceGrpc.getSubscribeMethod();
    check(subscribeMethod, "latchwork.v1.SupervisorService/Subscribe", MethodType.SERVER_STREAMING);

    // GetJob
    Function<GetJobRequest, GetJobResponse> getJob = blocking::getJob;
    BiConsumer<GetJobRequest, StreamObserver<GetJobResponse>> getJobAsync = async::getJob;
    MethodDescriptor<GetJobRequest, GetJobResponse> getJobMethod =
        SupervisorServiceGrpc.getGetJobMethod();
    check(getJobMethod, "latchwork.v1.SupervisorService/GetJob", MethodType.UNARY);

    // ListJobs
    Function<ListJobsRequest, ListJobsResponse> listJobs = blocking::listJobs;
    BiConsumer<ListJobsRequest, StreamObserver<ListJobsResponse>> listJobsAsync = async::listJobs;
    MethodDescriptor<ListJobsRequest, ListJobsResponse> listJobsMethod =
        SupervisorServiceGrpc.getListJobsMethod();
    check(listJobsMethod, "latchwork.v1.SupervisorService/ListJobs", MethodType.UNARY);

    // ControlJobs
    Function<ControlJobsRequest, ControlJobsResponse> controlJobs = blocking::controlJobs;
    BiConsumer<ControlJobsRequest, StreamObserver<ControlJobsResponse>> controlJobsAsync =
        async::controlJobs;
    MethodDescriptor<ControlJobsRequest, ControlJobsResponse> controlJobsMethod =
        SupervisorServiceGrpc.getControlJobsMethod();
    check(controlJobsMethod, "latchwork.v1.SupervisorService/ControlJobs", MethodType.UNARY);

    // AddCallbacks
    Function<AddCallbacksRequest, AddCallbacksResponse> addCallbacks = blocking::addCallbacks;
    BiConsumer<AddCallbacksRequest, StreamObserver<AddCallbacksResponse>> addCallbacksAsync =
        async::addCallbacks;
    MethodDescriptor<AddCallbacksRequest, AddCallbacksResponse> addCallbacksMethod =
        SupervisorServiceGrpc.getAddCallbacksMethod();
    check(addCallbacksMethod, "latchwork.v1.SupervisorService/AddCallbacks", MethodType.UNARY);

    // ListCallbackRuns
    Function<ListCallbackRunsRequest, ListCallbackRunsResponse> listCallbackRuns =
        blocking::listCallbackRuns;
    BiConsumer<ListCallbackRunsRequest, StreamObserver<ListCallbackRunsResponse>>
        listCallbackRunsAsync = async::listCallbackRuns;
    MethodDescriptor<ListCallbackRunsRequest, ListCallbackRunsResponse> listCallbackRunsMethod =
        SupervisorServiceGrpc.getListCallbackRunsMethod();
    check(
        listCallbackRunsMethod,
        "latchwork.v1.SupervisorService/ListCallbackRuns",
        MethodType.UNARY);

    // ValidateTrigger
    Function<ValidateTriggerRequest, ValidateTriggerResponse> validateTrigger =
        blocking::validateTrigger;
    BiConsumer<ValidateTriggerRequest, StreamObserver<ValidateTriggerResponse>>
        validateTriggerAsync = async::validateTrigger;
    MethodDescriptor<ValidateTriggerRequest, ValidateTriggerResponse> validateTriggerMethod =
        SupervisorServiceGrpc.getValidateTriggerMethod();
    check(
        validateTriggerMethod, "latchwork.v1.SupervisorService/ValidateTrigger", MethodType.UNARY);

    // GetWorkOutput
    Function<GetWorkOutputRequest, GetWorkOutputResponse> getWorkOutput = blocking::getWorkOutput;
    BiConsumer<GetWorkOutputRequest, StreamObserver<GetWorkOutputResponse>> getWorkOutputAsync =
        async::getWorkOutput;
    MethodDescriptor<GetWorkOutputRequest, GetWorkOutputResponse> getWorkOutputMethod =
        SupervisorServiceGrpc.getGetWorkOutputMethod();
    check(getWorkOutputMethod, "latchwork.v1.SupervisorService/GetWorkOutput", MethodType.UNARY);

    // ListHosts
    Function<ListHostsRequest, ListHostsResponse> listHosts = blocking::listHosts;
    BiConsumer<ListHostsRequest, StreamObserver<ListHostsResponse>> listHostsAsync =
        async::listHosts;
    MethodDescriptor<ListHostsRequest, ListHostsResponse> listHostsMethod =
        SupervisorServiceGrpc.getListHostsMethod();
    check(listHostsMethod, "latchwork.v1.SupervisorService/ListHosts", MethodType.UNARY);

    // GetHost
    Function<GetHostRequest, GetHostResponse> getHost = blocking::getHost;
    BiConsumer<GetHostRequest, StreamObserver<GetHostResponse>> getHostAsync = async::getHost;
    MethodDescriptor<GetHostRequest, GetHostResponse> getHostMethod =
        SupervisorServiceGrpc.getGetHostMethod();
    check(getHostMethod, "latchwork.v1.SupervisorService/GetHost", MethodType.UNARY);

    // ControlHosts
    Function<ControlHostsRequest, ControlHostsResponse> controlHosts = blocking::controlHosts;
    BiConsumer<ControlHostsRequest, StreamObserver<ControlHostsResponse>> controlHostsAsync =
        async::controlHosts;
    MethodDescriptor<ControlHostsRequest, ControlHostsResponse> controlHostsMethod =
        SupervisorServiceGrpc.getControlHostsMethod();
    check(controlHostsMethod, "latchwork.v1.SupervisorService/ControlHosts", MethodType.UNARY);

    // ModifyJobs
    Function<ModifyJobsRequest, ModifyJobsResponse> modifyJobs = blocking::modifyJobs;
    BiConsumer<ModifyJobsRequest, StreamObserver<ModifyJobsResponse>> modifyJobsAsync =
        async::modifyJobs;
    MethodDescriptor<ModifyJobsRequest, ModifyJobsResponse> modifyJobsMethod =
        SupervisorServiceGrpc.getModifyJobsMethod();
    check(modifyJobsMethod, "latchwork.v1.SupervisorService/ModifyJobs", MethodType.UNARY);

    // ExplainJob
    Function<ExplainJobRequest, ExplainJobResponse> explainJob = blocking::explainJob;
    BiConsumer<ExplainJobRequest, StreamObserver<ExplainJobResponse>> explainJobAsync =
        async::explainJob;
    MethodDescriptor<ExplainJobRequest, ExplainJobResponse> explainJobMethod =
        SupervisorServiceGrpc.getExplainJobMethod();
    check(explainJobMethod, "latchwork.v1.SupervisorService/ExplainJob", MethodType.UNARY);

    // SummarizeFarm
    Function<SummarizeFarmRequest, SummarizeFarmResponse> summarizeFarm = blocking::summarizeFarm;
    BiConsumer<SummarizeFarmRequest, StreamObserver<SummarizeFarmResponse>> summarizeFarmAsync =
        async::summarizeFarm;
    MethodDescriptor<SummarizeFarmRequest, SummarizeFarmResponse> summarizeFarmMethod =
        SupervisorServiceGrpc.getSummarizeFarmMethod();
    check(
        summarizeFarmMethod, "latchwork.v1.SupervisorService/SummarizeFarm", MethodType.UNARY);

    assertNotNull(submit);
    assertNotNull(submitAsync);
    assertNotNull(subscribe);
    assertNotNull(subscribeAsync);
    assertNotNull(getJob);
    assertNotNull(getJobAsync);
    assertNotNull(listJobs);
    assertNotNull(listJobsAsync);
    assertNotNull(controlJobs);
    assertNotNull(controlJobsAsync);
    assertNotNull(addCallbacks);
    assertNotNull(addCallbacksAsync);
    assertNotNull(listCallbackRuns);
    assertNotNull(listCallbackRunsAsync);
    assertNotNull(validateTrigger);
    assertNotNull(validateTriggerAsync);
    assertNotNull(getWorkOutput);
    assertNotNull(getWorkOutputAsync);
    assertNotNull(listHosts);
    assertNotNull(listHostsAsync);
    assertNotNull(getHost);
    assertNotNull(getHostAsync);
    assertNotNull(controlHosts);
    assertNotNull(controlHostsAsync);
    assertNotNull(modifyJobs);
    assertNotNull(modifyJobsAsync);
    assertNotNull(explainJob);
    assertNotNull(explainJobAsync);
    assertNotNull(summarizeFarm);
    assertNotNull(summarizeFarmAsync);

    checkService(
        SupervisorServiceGrpc.getServiceDescriptor(),
        "latchwork.v1.SupervisorService",
        "Submit",
        "Subscribe",
        "GetJob",
        "ListJobs",
        "ControlJobs",
        "AddCallbacks",
        "ListCallbackRuns",
        "ValidateTrigger",
        "GetWorkOutput",
        "ListHosts",
        "GetHost",
        "ControlHosts",
        "ModifyJobs",
        "ExplainJob",
        "SummarizeFarm");
  }

  /**
   * Issue 12's messages: a host with its resources, a lock, and job changes whose absent fields
   * stay unset (JobChanges uses proto3 optional).
   */
  @Test
  void hostAndModifyMessages() throws Exception {
    Host host =
        Host.newBuilder()
            .setName("node07")
            .setState(HostState.HOST_STATE_UP)
            .setResources(
                HostResources.newBuilder().setCores(16).setMemoryMb(65536).setGpus(2).build())
            .addGroups("gpu")
            .setSlots(4)
            .build();
    ListHostsResponse hosts =
        ListHostsResponse.newBuilder()
            .addHosts(host)
            .addResources(GlobalResource.newBuilder().setName("nuke").setLimit(10))
            .build();
    ListHostsResponse decoded = ListHostsResponse.parseFrom(hosts.toByteArray());
    assertEquals(65536, decoded.getHosts(0).getResources().getMemoryMb());
    assertEquals("nuke", decoded.getResources(0).getName());
    GetHostResponse got = GetHostResponse.newBuilder().setHost(host).addRunning("12:7").build();
    assertEquals("12:7", got.getRunning(0));
    ControlHostsRequest lock =
        ControlHostsRequest.newBuilder()
            .setAction(HostAction.HOST_ACTION_LOCK)
            .addNames("node07")
            .setReason("disk")
            .build();
    assertEquals(HostAction.HOST_ACTION_LOCK, lock.getAction());
    ControlHostsResponse locked =
        ControlHostsResponse.newBuilder()
            .addResults(HostControlResult.newBuilder().setName("node07").setChanged(true))
            .build();
    assertTrue(locked.getResults(0).getChanged());
    ModifyJobsRequest modify =
        ModifyJobsRequest.newBuilder()
            .addJobIds(12)
            .setChanges(
                JobChanges.newBuilder().setPriority(10).putData("shot", "a").addRemoveData("old"))
            .setReason("rush")
            .build();
    JobChanges changes = ModifyJobsRequest.parseFrom(modify.toByteArray()).getChanges();
    assertTrue(changes.hasPriority());
    assertFalse(changes.hasCpus());
    assertEquals(10, changes.getPriority());
    assertEquals(0, ModifyJobsResponse.getDefaultInstance().getChangedJobIdsCount());
    assertEquals(
        "node07", ListHostsRequest.newBuilder().addNames("node07").build().getNames(0));
  }

  @Test
  void workerService() {
    WorkerServiceBlockingStub blocking = WorkerServiceGrpc.newBlockingStub(channel);
    WorkerServiceStub async = WorkerServiceGrpc.newStub(channel);

    // RegisterWorker
    Function<RegisterWorkerRequest, RegisterWorkerResponse> registerWorker =
        blocking::registerWorker;
    BiConsumer<RegisterWorkerRequest, StreamObserver<RegisterWorkerResponse>> registerWorkerAsync =
        async::registerWorker;
    MethodDescriptor<RegisterWorkerRequest, RegisterWorkerResponse> registerWorkerMethod =
        WorkerServiceGrpc.getRegisterWorkerMethod();
    check(registerWorkerMethod, "latchwork.v1.WorkerService/RegisterWorker", MethodType.UNARY);

    // Heartbeat
    Function<HeartbeatRequest, HeartbeatResponse> heartbeat = blocking::heartbeat;
    BiConsumer<HeartbeatRequest, StreamObserver<HeartbeatResponse>> heartbeatAsync =
        async::heartbeat;
    MethodDescriptor<HeartbeatRequest, HeartbeatResponse> heartbeatMethod =
        WorkerServiceGrpc.getHeartbeatMethod();
    check(heartbeatMethod, "latchwork.v1.WorkerService/Heartbeat", MethodType.UNARY);

    // LeaseWork
    Function<LeaseWorkRequest, LeaseWorkResponse> leaseWork = blocking::leaseWork;
    BiConsumer<LeaseWorkRequest, StreamObserver<LeaseWorkResponse>> leaseWorkAsync =
        async::leaseWork;
    MethodDescriptor<LeaseWorkRequest, LeaseWorkResponse> leaseWorkMethod =
        WorkerServiceGrpc.getLeaseWorkMethod();
    check(leaseWorkMethod, "latchwork.v1.WorkerService/LeaseWork", MethodType.UNARY);

    // ReportWork
    Function<ReportWorkRequest, ReportWorkResponse> reportWork = blocking::reportWork;
    BiConsumer<ReportWorkRequest, StreamObserver<ReportWorkResponse>> reportWorkAsync =
        async::reportWork;
    MethodDescriptor<ReportWorkRequest, ReportWorkResponse> reportWorkMethod =
        WorkerServiceGrpc.getReportWorkMethod();
    check(reportWorkMethod, "latchwork.v1.WorkerService/ReportWork", MethodType.UNARY);

    // AppendOutput
    Function<AppendOutputRequest, AppendOutputResponse> appendOutput = blocking::appendOutput;
    BiConsumer<AppendOutputRequest, StreamObserver<AppendOutputResponse>> appendOutputAsync =
        async::appendOutput;
    MethodDescriptor<AppendOutputRequest, AppendOutputResponse> appendOutputMethod =
        WorkerServiceGrpc.getAppendOutputMethod();
    check(appendOutputMethod, "latchwork.v1.WorkerService/AppendOutput", MethodType.UNARY);

    // ReportWorkStream (bidirectional streaming: the async stub only)
    Function<StreamObserver<ReportWorkStreamResponse>, StreamObserver<ReportWorkStreamRequest>>
        reportWorkStreamAsync = async::reportWorkStream;
    MethodDescriptor<ReportWorkStreamRequest, ReportWorkStreamResponse> reportWorkStreamMethod =
        WorkerServiceGrpc.getReportWorkStreamMethod();
    check(
        reportWorkStreamMethod,
        "latchwork.v1.WorkerService/ReportWorkStream",
        MethodType.BIDI_STREAMING);

    assertNotNull(registerWorker);
    assertNotNull(registerWorkerAsync);
    assertNotNull(heartbeat);
    assertNotNull(heartbeatAsync);
    assertNotNull(leaseWork);
    assertNotNull(leaseWorkAsync);
    assertNotNull(reportWork);
    assertNotNull(reportWorkAsync);
    assertNotNull(appendOutput);
    assertNotNull(appendOutputAsync);
    assertNotNull(reportWorkStreamAsync);

    checkService(
        WorkerServiceGrpc.getServiceDescriptor(),
        "latchwork.v1.WorkerService",
        "RegisterWorker",
        "Heartbeat",
        "LeaseWork",
        "ReportWork",
        "AppendOutput",
        "ReportWorkStream");
  }

  private static void check(MethodDescriptor<?, ?> method, String fullName, MethodType type) {
    assertEquals(fullName, method.getFullMethodName());
    assertEquals(type, method.getType());
  }

  /** The service has exactly the RPCs named here. */
  private static void checkService(ServiceDescriptor service, String name, String... rpcs) {
    assertEquals(name, service.getName());
    Set<String> expected = new TreeSet<>();
    for (String rpc : rpcs) {
      expected.add(name + "/" + rpc);
    }
    Set<String> actual = new TreeSet<>();
    for (MethodDescriptor<?, ?> method : service.getMethods()) {
      actual.add(method.getFullMethodName());
    }
    assertEquals(expected, actual);
  }
}
