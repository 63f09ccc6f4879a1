/**
 * @latchwork/client: the generated latchwork.v1 messages and grpc-js clients (src/gen, never
 * edited by hand) plus the small wrapper in client.ts. One import gives both:
 *
 *   import { connect, subscribe, unary, SubmitRequest } from "@latchwork/client";
 */
export * from "./client.js";
export * from "./errors.js";
export * from "./failover.js";
export * from "./gen/google/protobuf/timestamp.js";
export * from "./gen/latchwork/v1/event.js";
export * from "./gen/latchwork/v1/host.js";
export * from "./gen/latchwork/v1/job.js";
export * from "./gen/latchwork/v1/supervisor.js";
export * from "./gen/latchwork/v1/trigger.js";
export * from "./gen/latchwork/v1/worker.js";
