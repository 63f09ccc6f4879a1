/**
 * Compile-level API test: names every RPC of both services with its client method and its request
 * and response types, so that a missing or retyped RPC fails `tsc`; build.sh then runs it to check
 * the same table against the generated service definitions at runtime (method paths, streaming
 * flags, codecs) and to catch an RPC that exists in the protos but is missing here.
 */
import assert from "node:assert/strict";

import {
  type CallOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  type Metadata,
  type ServiceError,
  credentials,
} from "@grpc/grpc-js";

import {
  AddCallbacksRequest,
  AddCallbacksResponse,
  AppendOutputRequest,
  AppendOutputResponse,
  ControlHostsRequest,
  ControlHostsResponse,
  ControlJobsRequest,
  ControlJobsResponse,
  ExplainJobRequest,
  ExplainJobResponse,
  SummarizeFarmRequest,
  SummarizeFarmResponse,
  GetHostRequest,
  GetHostResponse,
  GetJobRequest,
  GetJobResponse,
  GetWorkOutputRequest,
  GetWorkOutputResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  LeaseWorkRequest,
  LeaseWorkResponse,
  HostAction,
  HostState,
  JobChanges,
  ListCallbackRunsRequest,
  ListCallbackRunsResponse,
  ListHostsRequest,
  ListHostsResponse,
  ListJobsRequest,
  ListJobsResponse,
  ModifyJobsRequest,
  ModifyJobsResponse,
  RegisterWorkerRequest,
  RegisterWorkerResponse,
  ReportWorkRequest,
  ReportWorkResponse,
  ReportWorkStreamRequest,
  ReportWorkStreamResponse,
  SubmitRequest,
  SubmitResponse,
  SubscribeRequest,
  SubscribeResponse,
  SupervisorServiceClient,
  SupervisorServiceService,
  ValidateTriggerRequest,
  ValidateTriggerResponse,
  WorkerServiceClient,
  WorkerServiceService,
} from "../src/index.js";

/** A generated client's unary method (its fullest overload). */
type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** A generated client's server-streaming method. */
type ServerStreaming<Req, Res> = (
  request: Req,
  metadata?: Metadata,
  options?: Partial<CallOptions>,
) => ClientReadableStream<Res>;

/** A generated client's bidirectional-streaming method. */
type BidiStreaming<Req, Res> = (metadata: Metadata, options?: Partial<CallOptions>) => ClientDuplexStream<Req, Res>;

/** What the test needs of a generated message: ts-proto's codec object. */
interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  create(): T;
}

interface Rpc<C> {
  path: string;
  responseStream: boolean;
  /** Only here for the compiler: returns the client's method, typed by the table entry. */
  method: (client: C) => unknown;
  request: Codec<any>;
  response: Codec<any>;
}

function unary<C, Req, Res>(
  path: string,
  method: (client: C) => Unary<Req, Res>,
  request: Codec<Req>,
  response: Codec<Res>,
): Rpc<C> {
  return { path, responseStream: false, method, request, response };
}

function bidiStreaming<C, Req, Res>(
  path: string,
  method: (client: C) => BidiStreaming<Req, Res>,
  request: Codec<Req>,
  response: Codec<Res>,
): Rpc<C> {
  return { path, responseStream: true, method, request, response };
}

function serverStreaming<C, Req, Res>(
  path: string,
  method: (client: C) => ServerStreaming<Req, Res>,
  request: Codec<Req>,
  response: Codec<Res>,
): Rpc<C> {
  return { path, responseStream: true, method, request, response };
}

type S = SupervisorServiceClient;
type W = WorkerServiceClient;

// Keys are the generated (camelCase) method names; paths carry the proto RPC names.
const supervisorRpcs: Record<keyof typeof SupervisorServiceService, Rpc<S>> = {
  submit: unary("/latchwork.v1.SupervisorService/Submit", (c: S) => c.submit, SubmitRequest, SubmitResponse),
  subscribe: serverStreaming(
    "/latchwork.v1.SupervisorService/Subscribe",
    (c: S) => c.subscribe,
    SubscribeRequest,
    SubscribeResponse,
  ),
  getJob: unary("/latchwork.v1.SupervisorService/GetJob", (c: S) => c.getJob, GetJobRequest, GetJobResponse),
  listJobs: unary("/latchwork.v1.SupervisorService/ListJobs", (c: S) => c.listJobs, ListJobsRequest, ListJobsResponse),
  controlJobs: unary(
    "/latchwork.v1.SupervisorService/ControlJobs",
    (c: S) => c.controlJobs,
    ControlJobsRequest,
    ControlJobsResponse,
  ),
  addCallbacks: unary(
    "/latchwork.v1.SupervisorService/AddCallbacks",
    (c: S) => c.addCallbacks,
    AddCallbacksRequest,
    AddCallbacksResponse,
  ),
  listCallbackRuns: unary(
    "/latchwork.v1.SupervisorService/ListCallbackRuns",
    (c: S) => c.listCallbackRuns,
    ListCallbackRunsRequest,
    ListCallbackRunsResponse,
  ),
  validateTrigger: unary(
    "/latchwork.v1.SupervisorService/ValidateTrigger",
    (c: S) => c.validateTrigger,
    ValidateTriggerRequest,
    ValidateTriggerResponse,
  ),
  getWorkOutput: unary(
    "/latchwork.v1.SupervisorService/GetWorkOutput",
    (c: S) => c.getWorkOutput,
    GetWorkOutputRequest,
    GetWorkOutputResponse,
  ),
  listHosts: unary(
    "/latchwork.v1.SupervisorService/ListHosts",
    (c: S) => c.listHosts,
    ListHostsRequest,
    ListHostsResponse,
  ),
  getHost: unary("/latchwork.v1.SupervisorService/GetHost", (c: S) => c.getHost, GetHostRequest, GetHostResponse),
  controlHosts: unary(
    "/latchwork.v1.SupervisorService/ControlHosts",
    (c: S) => c.controlHosts,
    ControlHostsRequest,
    ControlHostsResponse,
  ),
  modifyJobs: unary(
    "/latchwork.v1.SupervisorService/ModifyJobs",
    (c: S) => c.modifyJobs,
    ModifyJobsRequest,
    ModifyJobsResponse,
  ),
  explainJob: unary(
    "/latchwork.v1.SupervisorService/ExplainJob",
    (c: S) => c.explainJob,
    ExplainJobRequest,
    ExplainJobResponse,
  ),
  summarizeFarm: unary(
    "/latchwork.v1.SupervisorService/SummarizeFarm",
    (c: S) => c.summarizeFarm,
    SummarizeFarmRequest,
    SummarizeFarmResponse,
  ),
};

const workerRpcs: Record<keyof typeof WorkerServiceService, Rpc<W>> = {
  registerWorker: unary(
    "/latchwork.v1.WorkerService/RegisterWorker",
    (c: W) => c.registerWorker,
    RegisterWorkerRequest,
    RegisterWorkerResponse,
  ),
  heartbeat: unary("/latchwork.v1.WorkerService/Heartbeat", (c: W) => c.heartbeat, HeartbeatRequest, HeartbeatResponse),
  leaseWork: unary("/latchwork.v1.WorkerService/LeaseWork", (c: W) => c.leaseWork, LeaseWorkRequest, LeaseWorkResponse),
  reportWork: unary(
    "/latchwork.v1.WorkerService/ReportWork",
    (c: W) => c.reportWork,
    ReportWorkRequest,
    ReportWorkResponse,
  ),
  appendOutput: unary(
    "/latchwork.v1.WorkerService/AppendOutput",
    (c: W) => c.appendOutput,
    AppendOutputRequest,
    AppendOutputResponse,
  ),
  reportWorkStream: bidiStreaming(
    "/latchwork.v1.WorkerService/ReportWorkStream",
    (c: W) => c.reportWorkStream,
    ReportWorkStreamRequest,
    ReportWorkStreamResponse,
  ),
};

interface Definition {
  path: string;
  responseStream: boolean;
  requestSerialize(value: any): Buffer;
  requestDeserialize(value: Buffer): any;
  responseSerialize(value: any): Buffer;
  responseDeserialize(value: Buffer): any;
}

/** Checks one service's table against its generated definition and a client instance. */
function check<C extends object>(service: string, definitions: Record<string, Definition>, rpcs: Record<string, Rpc<C>>, client: C): number {
  // Record<keyof ...> already makes the compiler demand every key; this also catches a stale build.
  assert.deepEqual(Object.keys(definitions).sort(), Object.keys(rpcs).sort(), `${service}: RPCs`);
  for (const [name, rpc] of Object.entries(rpcs)) {
    const definition = definitions[name]!;
    assert.equal(definition.path, rpc.path, `${service}.${name}: path`);
    assert.equal(definition.responseStream, rpc.responseStream, `${service}.${name}: response streaming`);
    assert.equal(typeof rpc.method(client), "function", `${service}.${name}: client method`);
    // The definition's codecs are the table's message types: same bytes both ways.
    const request = rpc.request.create();
    const requestBytes = Buffer.from(rpc.request.encode(request).finish());
    assert.deepEqual(definition.requestSerialize(request), requestBytes, `${service}.${name}: request codec`);
    assert.deepEqual(definition.requestDeserialize(requestBytes), rpc.request.decode(requestBytes));
    const response = rpc.response.create();
    const responseBytes = Buffer.from(rpc.response.encode(response).finish());
    assert.deepEqual(definition.responseSerialize(response), responseBytes, `${service}.${name}: response codec`);
    assert.deepEqual(definition.responseDeserialize(responseBytes), rpc.response.decode(responseBytes));
  }
  return Object.keys(rpcs).length;
}

/** Issue 12's messages round-trip: a host with its resources, a lock, job changes whose absent fields stay unset. */
function checkHostAndModifyMessages(): void {
  const hosts = ListHostsResponse.fromPartial({
    hosts: [
      {
        name: "node07",
        state: HostState.HOST_STATE_UP,
        resources: { cores: 16, memoryMb: 65536, gpus: 2, os: "linux", arch: "x86_64" },
        groups: ["gpu"],
        slots: 4,
      },
    ],
    resources: [{ name: "nuke", limit: 10, inUse: 1 }],
  });
  const decoded = ListHostsResponse.decode(ListHostsResponse.encode(hosts).finish());
  assert.equal(decoded.hosts[0]!.resources!.memoryMb, 65536);
  assert.equal(decoded.resources[0]!.name, "nuke");
  const lock = ControlHostsRequest.fromPartial({ action: HostAction.HOST_ACTION_LOCK, names: ["node07"], reason: "disk" });
  assert.equal(ControlHostsRequest.decode(ControlHostsRequest.encode(lock).finish()).action, HostAction.HOST_ACTION_LOCK);
  const modify = ModifyJobsRequest.fromPartial({
    jobIds: [12],
    changes: JobChanges.fromPartial({ priority: 10, data: { shot: "a" }, removeData: ["old"] }),
    reason: "rush",
  });
  const changes = ModifyJobsRequest.decode(ModifyJobsRequest.encode(modify).finish()).changes!;
  assert.equal(changes.priority, 10);
  assert.equal(changes.cpus, undefined, "an absent change stays unset");
  assert.deepEqual(changes.data, { shot: "a" });
}

checkHostAndModifyMessages();

// Constructing a client does no I/O until the first call.
const supervisor = new SupervisorServiceClient("127.0.0.1:1", credentials.createInsecure());
const worker = new WorkerServiceClient("127.0.0.1:1", credentials.createInsecure());
try {
  const count =
    check("SupervisorService", SupervisorServiceService, supervisorRpcs, supervisor) +
    check("WorkerService", WorkerServiceService, workerRpcs, worker);
  assert.equal(count, 21);
} finally {
  supervisor.close();
  worker.close();
}
