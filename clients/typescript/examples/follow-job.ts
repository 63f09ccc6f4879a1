/**
 * clients/README.md's TypeScript snippet as a whole program (compiled by build.sh): submit a job
 * and follow its process group's events until it completes; the stream resumes by itself.
 */
import { connect, EventType, StreamGapError, SubmitRequest, subscribe, unary } from "../src/index.js";

const lw = connect(); // address, user, token, TLS from the environment
const reply = await unary(lw.supervisor.submit.bind(lw.supervisor), SubmitRequest.fromPartial({
  jobs: [{ name: "render", command: { cmdline: "echo hi" } }],
}));
try {
  for await (const { item } of subscribe(lw.supervisor, { pgrps: [reply.pgrp], afterSeq: reply.seq })) {
    if (item?.$case === "event") {
      console.log(item.value.seq, item.value.status);
      if (item.value.eventType === EventType.EVENT_TYPE_JOB && item.value.status === "complete") break;
    }
  }
} catch (e) {
  if (e instanceof StreamGapError) console.error(`events after ${e.afterSeq} are gone: re-list with a snapshot`);
  throw e;
} finally {
  lw.close();
}
