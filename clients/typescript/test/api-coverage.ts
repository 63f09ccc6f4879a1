/**
 * Compile-level API test: names every RPC of both services with its client method and its request
 * and response types, so that a missing or retyped RPC fails `tsc`; build.sh then runs it to check
 * the same table against the generated service definitions at runtime (method paths, streaming
 * flags, codecs) and to catch an RPC that exists in the protos but is missing here.
 */
import assert from "node:assert/strict";

import {
  type CallOptions,
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
  ControlJobsRequest,
  ControlJobsResponse,
  GetJobRequest,
  GetJobResponse,
  GetWorkOutputRequest,
  GetWorkOutputResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  LeaseWorkRequest,
  LeaseWorkResponse,
  ListCallbackRunsRequest,
  ListCallbackRunsResponse,
  ListJobsRequest,
  ListJobsResponse,
  RegisterWorkerRequest,
  RegisterWorkerResponse,
  ReportWorkRequest,
  ReportWorkResponse,
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

// Constructing a client does no I/O until the first call.
const supervisor = new SupervisorServiceClient("127.0.0.1:1", credentials.createInsecure());
const worker = new WorkerServiceClient("127.0.0.1:1", credentials.createInsecure());
try {
  const count =
    check("SupervisorService", SupervisorServiceService, supervisorRpcs, supervisor) +
    check("WorkerService", WorkerServiceService, workerRpcs, worker);
  assert.equal(count, 14);
} finally {
  supervisor.close();
  worker.close();
}
