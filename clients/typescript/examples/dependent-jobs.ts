/**
 * Dependent jobs, watched live (the same example as in every Latchwork client):
 *
 * 1. submit job A (three frames) and job B, which waits for A to complete;
 * 2. subscribe to their process group's events after the submission's seq (nothing of A and B
 *    can be missed, nothing of the rest of the farm is sent), printed as {"live": N};
 * 3. print every event as one JSON line until B's job completes (exit 0), or a job fails or the
 *    stream has a gap (exit 1). No deadline: a stream lasts as long as the jobs take.
 *
 * stdout carries only the JSON lines; diagnostics go to stderr. The stream resumes by itself if
 * the connection drops, so the printed seqs stay consecutive.
 */
import { randomUUID } from "node:crypto";

import {
  type Event,
  EventName,
  EventType,
  type Latchwork,
  Prototype,
  StreamGapError,
  SubmitRequest,
  connect,
  eventNameToJSON,
  eventTypeToJSON,
  subscribe,
  unary,
} from "../src/index.js";

/** One line per write: on Linux, writes to a pipe or file are synchronous, so nothing lingers. */
function emit(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function fail(why: string): never {
  process.stderr.write(`dependent-jobs: ${why}\n`);
  process.exit(1);
}

/** EVENT_NAME_COMPLETE -> "complete": the enum value's name without its prefix, lower case. */
function enumWord(name: string, prefix: string): string {
  return (name.startsWith(prefix) ? name.slice(prefix.length) : name).toLowerCase();
}

async function main(): Promise<number> {
  const lw = connect();
  const submitted = await submitJobs(lw);
  emit({ submitted: { pgrp: submitted.pgrp, A: submitted.A, B: submitted.B } });
  // Callback runs too: the dependency is a callback on A, and its run takes a seq of its own.
  const request = {
    pgrps: [submitted.pgrp],
    afterSeq: submitted.seq,
    heartbeatSeconds: 1,
    includeCallbackRuns: true,
  };
  const stream = subscribe(lw.supervisor, request, {
    onResume: (afterSeq, error) =>
      process.stderr.write(`dependent-jobs: resuming after seq ${afterSeq} (${error?.message ?? "the server ended the stream"})\n`),
  });
  emit({ live: submitted.seq });

  try {
    for await (const response of stream) {
      const item = response.item;
      if (item?.$case !== "event") continue;
      const event: Event = item.value;
      emit({
        seq: event.seq,
        job: event.pgrp === submitted.pgrp ? event.label : "",
        job_id: event.jobId,
        name: enumWord(eventNameToJSON(event.name), "EVENT_NAME_"),
        type: enumWord(eventTypeToJSON(event.eventType), "EVENT_TYPE_"),
        work: event.workName,
        status: event.status,
      });
      const ours = event.jobId === submitted.A || event.jobId === submitted.B;
      if (!ours || event.eventType !== EventType.EVENT_TYPE_JOB) continue;
      if (event.name === EventName.EVENT_NAME_FAILED) {
        const detail = event.message ? `: ${event.message}` : "";
        process.stderr.write(`dependent-jobs: job ${event.label} (${event.jobId}) failed${detail}\n`);
        return 1;
      }
      if (event.name === EventName.EVENT_NAME_COMPLETE && event.jobId === submitted.B) return 0;
    }
    process.stderr.write("dependent-jobs: the event stream ended\n");
    return 1;
  } catch (error) {
    if (error instanceof StreamGapError) {
      process.stderr.write(`dependent-jobs: gap in the event stream: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await stream.return(); // cancels the call
    lw.close();
  }
}

/** Submits A and B as one process group; B runs only once A's job is complete. */
async function submitJobs(lw: Latchwork): Promise<{ pgrp: number; seq: number; A: number; B: number }> {
  const request = SubmitRequest.fromPartial({
    requestId: randomUUID(),
    jobs: [
      {
        name: "example-A",
        label: "A",
        prototype: Prototype.PROTOTYPE_CMDRANGE,
        command: { cmdline: "sleep 0.3; echo frame QB_FRAME_NUMBER", frameRange: "1-3" },
      },
      {
        name: "example-B",
        label: "B",
        prototype: Prototype.PROTOTYPE_CMDLINE,
        command: { cmdline: "echo B ran after A" },
        dependency: "link-complete-job-A",
      },
    ],
  });
  const response = await unary(lw.supervisor.submit.bind(lw.supervisor), request);
  const id = (label: string) => {
    const job = response.jobs.find((j) => j.label === label);
    if (job === undefined) fail(`the submit response has no job labelled ${label}`);
    return job.id;
  };
  return { pgrp: response.pgrp, seq: response.seq, A: id("A"), B: id("B") };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => fail(error instanceof Error ? error.message : String(error)),
);
