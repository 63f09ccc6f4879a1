/**
 * The address rotation of `connect` with several addresses (src/failover.ts), against fake
 * supervisors on loopback ports and ports nothing listens on: a repeatable call moves on to the
 * next address and stays there, AddCallbacks is not retried, and `subscribe` resumes on the next
 * address after its last seq.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";

import * as grpc from "@grpc/grpc-js";

import {
  AddCallbacksRequest,
  AddCallbacksResponse,
  GetJobRequest,
  GetJobResponse,
  SubscribeRequest,
  SubscribeResponse,
  SupervisorServiceService,
  connect,
  splitAddresses,
  subscribe,
  unary,
} from "../src/index.js";

interface Fake {
  server: grpc.Server;
  address: string;
  calls: string[];
  subscribed: SubscribeRequest[];
}

/** A supervisor answering GetJob and AddCallbacks, and streaming `events` then holding on. */
async function fake(events: number[] = [], on = "127.0.0.1:0"): Promise<Fake> {
  const calls: string[] = [];
  const subscribed: SubscribeRequest[] = [];
  const server = new grpc.Server();
  server.addService(SupervisorServiceService, {
    getJob(call: grpc.ServerUnaryCall<GetJobRequest, GetJobResponse>, done: grpc.sendUnaryData<GetJobResponse>) {
      calls.push("GetJob");
      done(null, GetJobResponse.fromPartial({ job: { id: call.request.jobId } }));
    },
    addCallbacks(_: unknown, done: grpc.sendUnaryData<AddCallbacksResponse>) {
      calls.push("AddCallbacks");
      done(null, AddCallbacksResponse.fromPartial({}));
    },
    subscribe(call: grpc.ServerWritableStream<SubscribeRequest, SubscribeResponse>) {
      subscribed.push(call.request);
      for (const seq of events) {
        call.write(SubscribeResponse.fromPartial({ item: { $case: "event", value: { seq } } }));
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(on, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { server, address: `127.0.0.1:${port}`, calls, subscribed };
}

/** An address nothing listens on. */
async function nowhere(): Promise<string> {
  const socket = createServer();
  await new Promise<void>((resolve) => socket.listen(0, "127.0.0.1", resolve));
  const { port } = socket.address() as { port: number };
  await new Promise((resolve) => socket.close(resolve));
  return `127.0.0.1:${port}`;
}

assert.deepEqual(splitAddresses(" a:1, b:2,,c:3 "), ["a:1", "b:2", "c:3"]);
assert.throws(() => connect({ address: " , " }), /no address/);

{ // A repeatable call tries the next address, and the next call starts there.
  const live = await fake();
  const lw = connect({ address: `${await nowhere()},${await nowhere()},${live.address}`, user: "tester" });
  try {
    const getJob = lw.supervisor.getJob.bind(lw.supervisor);
    for (const jobId of [1, 2]) {
      const reply = await unary(getJob, GetJobRequest.fromPartial({ jobId }));
      assert.equal(reply.job?.id, jobId);
    }
    assert.deepEqual(live.calls, ["GetJob", "GetJob"]);
  } finally {
    lw.close();
    live.server.forceShutdown();
  }
}

{ // A repeatable call goes round the addresses (with a backoff) until a supervisor answers.
  const later = await nowhere();
  const lw = connect({ address: `${await nowhere()},${later}`, user: "tester" });
  try {
    const reply = unary(lw.supervisor.getJob.bind(lw.supervisor), GetJobRequest.fromPartial({ jobId: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 300)); // going round both by now
    const standby = await fake([], later); // takes over on the second address
    try {
      assert.equal((await reply).job?.id, 1);
      assert.deepEqual(standby.calls, ["GetJob"]);
    } finally {
      standby.server.forceShutdown();
    }
  } finally {
    lw.close();
  }
}

{ // AddCallbacks is not retried; the next call goes to the next address.
  const live = await fake();
  const lw = connect({ address: `${await nowhere()},${live.address}`, user: "tester" });
  try {
    const add = lw.supervisor.addCallbacks.bind(lw.supervisor);
    await assert.rejects(unary(add, AddCallbacksRequest.fromPartial({})), { code: grpc.status.UNAVAILABLE });
    assert.deepEqual(live.calls, []);
    await unary(add, AddCallbacksRequest.fromPartial({}));
    assert.deepEqual(live.calls, ["AddCallbacks"]);
  } finally {
    lw.close();
    live.server.forceShutdown();
  }
}

{ // The stream moves to the next address when the first goes away, after its last seq.
  const first = await fake([5, 6]);
  const second = await fake([6, 7]);
  const lw = connect({ address: `${first.address},${second.address}`, user: "tester" });
  const seen: number[] = [];
  try {
    for await (const { item } of subscribe(lw.supervisor, { afterSeq: 4, pgrps: [9] })) {
      if (item?.$case !== "event") continue;
      seen.push(item.value.seq);
      if (item.value.seq === 6) first.server.forceShutdown(); // the leader goes away
      if (item.value.seq === 7) break;
    }
    assert.deepEqual(seen, [5, 6, 7]);
    assert.equal(second.subscribed.length, 1);
    assert.equal(second.subscribed[0]?.afterSeq, 6);
    assert.deepEqual(second.subscribed[0]?.pgrps, [9]);
  } finally {
    lw.close();
    second.server.forceShutdown();
  }
}

{ // A first Subscribe tries each address once before failing.
  const live = await fake([3]);
  const lw = connect({ address: `${await nowhere()},${live.address}`, user: "tester" });
  try {
    for await (const { item } of subscribe(lw.supervisor, { afterSeq: 2 })) {
      assert.equal(item?.$case === "event" && item.value.seq, 3);
      break;
    }
  } finally {
    lw.close();
    live.server.forceShutdown();
  }
  const unreachable = connect({ address: `${await nowhere()},${await nowhere()}`, user: "tester" });
  try {
    await assert.rejects(subscribe(unreachable.supervisor, {}).next(), { code: grpc.status.UNAVAILABLE });
  } finally {
    unreachable.close();
  }
}
