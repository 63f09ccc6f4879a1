/**
 * An invalid request, read as a program reads it (the same example as in every Latchwork client):
 * submit 25 jobs without a command line, and print the refusal as one JSON line: the status code
 * (a number, 3 is INVALID_ARGUMENT), the message, and the field violations (`fieldViolations`).
 */
import { SubmitRequest, connect, fieldViolations, unary } from "../src/index.js";

async function main(): Promise<number> {
  const lw = connect();
  try {
    const jobs = Array.from({ length: 25 }, (_, i) => ({ name: `shot${i}` })); // no command
    await unary(lw.supervisor.submit.bind(lw.supervisor), SubmitRequest.fromPartial({ jobs }));
    process.stderr.write("invalid-request: the supervisor accepted jobs without a command line\n");
    return 1;
  } catch (error) {
    const violations = fieldViolations(error); // [{ field, description }]; [] unless INVALID_ARGUMENT
    const { code, details } = error as { code?: number; details?: string };
    if (typeof code !== "number") throw error;
    process.stdout.write(`${JSON.stringify({ code, message: details, violations })}\n`);
    return 0;
  } finally {
    lw.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`invalid-request: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
