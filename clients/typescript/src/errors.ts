/**
 * What an INVALID_ARGUMENT from the supervisor says about each field, for programs.
 *
 * The supervisor puts a `google.rpc.Status` in the `grpc-status-details-bin` trailer of every
 * INVALID_ARGUMENT, and in it one `google.rpc.BadRequest` listing the problems (docs/errors.md).
 * grpc-js hands the trailer over as raw bytes; these few messages are decoded here with the wire
 * reader the generated code already uses, rather than generating all of google/rpc for them.
 */
import * as grpc from "@grpc/grpc-js";
import { BinaryReader } from "@bufbuild/protobuf/wire";

/** One problem in a request: its path (`jobs[2].label`, `page_token`) and what is wrong. */
export interface FieldViolation {
  field: string;
  description: string;
}

const STATUS_DETAILS_KEY = "grpc-status-details-bin";
const BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest";

/**
 * The field violations `error` carries, in the order the supervisor found them (at most 20; the
 * message counts the rest, "and N more"). Empty for anything but an INVALID_ARGUMENT
 * `ServiceError`, and never throws on details it cannot read.
 */
export function fieldViolations(error: unknown): FieldViolation[] {
  const metadata = (error as Partial<grpc.ServiceError> | undefined)?.metadata;
  if ((error as Partial<grpc.ServiceError> | undefined)?.code !== grpc.status.INVALID_ARGUMENT) return [];
  if (!(metadata instanceof grpc.Metadata)) return [];
  const violations: FieldViolation[] = [];
  try {
    for (const value of metadata.get(STATUS_DETAILS_KEY)) {
      if (typeof value === "string") continue; // a -bin key is always bytes
      for (const detail of repeatedField(value, 3)) {
        // google.protobuf.Any: type_url = 1, value = 2
        if (text(stringField(detail, 1)) !== BAD_REQUEST_TYPE) continue;
        for (const violation of repeatedField(stringField(detail, 2), 1)) {
          violations.push({
            field: text(stringField(violation, 1)),
            description: text(stringField(violation, 2)),
          });
        }
      }
    }
  } catch {
    return violations; // malformed details: what was read so far
  }
  return violations;
}

/** Every length-delimited value of field `number` in `message`. */
function repeatedField(message: Uint8Array, number: number): Uint8Array[] {
  const values: Uint8Array[] = [];
  const reader = new BinaryReader(message);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === number && wireType === 2) values.push(reader.bytes());
    else reader.skip(wireType, fieldNo);
  }
  return values;
}

/** The last length-delimited value of field `number` (proto3: the last one wins), or empty. */
function stringField(message: Uint8Array, number: number): Uint8Array {
  const values = repeatedField(message, number);
  return values[values.length - 1] ?? new Uint8Array();
}

function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
