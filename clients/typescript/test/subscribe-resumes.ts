/**
 * Which endings `subscribe` resumes after, against a scripted grpc-js server on a loopback port:
 * the rule of docs/subscribe.md ("Resuming, from any language"). UNKNOWN is how some stacks
 * report a broken HTTP/2 stream, so it resumes like UNAVAILABLE; a verdict on the request and the
 * supervisor's own INTERNAL are thrown.
 */
import assert from "node:assert/strict";

import * as grpc from "@grpc/grpc-js";

import {
  SubscribeResponse,
  SupervisorServiceClient,
  SupervisorServiceService,
  connect,
  subscribe,
} from "../src/index.js";

type Call = grpc.ServerWritableStream<unknown, SubscribeResponse>;

/** Serves Subscribe: the first call sends event 3 and ends with `end`; later ones send event 4. */
async function scripted(end: grpc.status): Promise<{ server: grpc.Server; address: string }> {
  let calls = 0;
  const server = new grpc.Server();
  server.addService(SupervisorServiceService, {
    subscribe(call: Call) {
      calls += 1;
      const seq = calls === 1 ? 3 : 4;
      call.write(SubscribeResponse.fromPartial({ item: { $case: "event", value: { seq } } }));
      if (calls === 1) call.emit("error", { code: end, details: `scripted ${grpc.status[end]}` });
      else call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { server, address: `127.0.0.1:${port}` };
}

async function secondEvent(end: grpc.status): Promise<number | grpc.status> {
  const { server, address } = await scripted(end);
  const lw = connect({ address, user: "tester" });
  const client: SupervisorServiceClient = lw.supervisor;
  try {
    let seen = 0;
    for await (const response of subscribe(client, { afterSeq: 2 })) {
      seen += 1;
      if (seen === 2 && response.item?.$case === "event") return response.item.value.seq;
    }
    return -1;
  } catch (error) {
    return (error as grpc.ServiceError).code;
  } finally {
    lw.close();
    server.forceShutdown();
  }
}

for (const code of [grpc.status.UNKNOWN, grpc.status.UNAVAILABLE, grpc.status.CANCELLED]) {
  assert.equal(await secondEvent(code), 4, `${grpc.status[code]} should resume after seq 3`);
}
for (const code of [grpc.status.INTERNAL, grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT]) {
  assert.equal(await secondEvent(code), code, `${grpc.status[code]} should be thrown`);
}
