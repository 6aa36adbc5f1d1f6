import type { ExecutionResult } from "graphql";
import type { WebSocket } from "ws";

/**
 * graphql-ws serializes each `next` message whole, once per subscriber: an event that 2,000
 * subscribers share (see shared-execution.ts) would have its payload stringified 2,000 times. Here a
 * result is serialized once, on first send; graphql-ws then serializes only the small envelope
 * (`{"id":…,"type":"next","payload":…}`) with a placeholder where the payload goes, and the socket's
 * send puts the payload's text in its place.
 *
 * The placeholder is recognised only as the frame's last field, which is where graphql-ws writes the
 * payload and where nothing a client chooses (its subscription id comes first) can reach.
 */
class SerializedPayload {
  constructor(readonly json: string) {}
}

const PLACEHOLDER = "\u0000shared-payload\u0000";
const PLACEHOLDER_TAIL = `"payload":${JSON.stringify(PLACEHOLDER)}}`;

const serialized = new WeakMap<ExecutionResult, SerializedPayload>();
/** The payload being sent: set by the replacer and taken by send() within one synchronous call. */
let pending: SerializedPayload | undefined;

/** For graphql-ws's onNext: the result, serialized once however many subscribers it goes to. */
export function sharedPayload(result: ExecutionResult): ExecutionResult {
  let payload = serialized.get(result);
  // GraphQLError has toJSON, so this is what graphql-ws would write: errors as { message, locations,
  // path, extensions }.
  if (!payload) serialized.set(result, (payload = new SerializedPayload(JSON.stringify(result))));
  return payload as unknown as ExecutionResult;
}

/** For graphql-ws's jsonMessageReplacer. */
export function frameReplacer(this: unknown, key: string, value: unknown): unknown {
  if (key === "payload" && value instanceof SerializedPayload) {
    pending = value;
    return PLACEHOLDER;
  }
  return value;
}

/** Makes the socket's send fill in a serialized payload. Call before graphql-ws sees the socket. */
export function sendsSharedFrames(socket: WebSocket): WebSocket {
  const send = socket.send.bind(socket) as (data: unknown, cb?: (err?: Error) => void) => void;
  socket.send = ((data: unknown, ...rest: [((err?: Error) => void)?]) => {
    const payload = pending;
    pending = undefined;
    if (payload && typeof data === "string" && data.endsWith(PLACEHOLDER_TAIL)) {
      data = `${data.slice(0, -PLACEHOLDER_TAIL.length)}"payload":${payload.json}}`;
    }
    send(data, ...rest);
  }) as WebSocket["send"];
  return socket;
}
