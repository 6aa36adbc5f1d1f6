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

/**
 * A send is acknowledged at once, before its bytes reach the kernel, while the socket holds less
 * than this unsent: graphql-ws awaits each send before it takes a subscription's next event, and
 * waiting for every write cost a turn of the event loop per frame. Past it, the acknowledgement
 * waits for the write as before, so a client that stops reading stalls its subscription, whose
 * queue then fills and cuts it off with its cursor (SLOW_SUBSCRIBER); a socket holds at most this
 * much (plus one frame) that its client has not taken.
 *
 * (Holding a socket's frames until the end of the turn — cork/uncork — was tried with this and
 * removed: a send waiting for its write on a corked socket stalled fast clients.)
 */
const EARLY_ACK_BYTES = 64 * 1024;

/** Makes the socket's send fill in a serialized payload and acknowledge early (above). Call before graphql-ws sees the socket. */
export function sendsSharedFrames(socket: WebSocket): WebSocket {
  const send = socket.send.bind(socket) as (data: unknown, cb?: (err?: Error) => void) => void;
  socket.send = ((data: unknown, cb?: (err?: Error) => void) => {
    const payload = pending;
    pending = undefined;
    if (payload && typeof data === "string" && data.endsWith(PLACEHOLDER_TAIL)) {
      data = `${data.slice(0, -PLACEHOLDER_TAIL.length)}"payload":${payload.json}}`;
    }
    if (cb && socket.bufferedAmount < EARLY_ACK_BYTES) {
      send(data);
      queueMicrotask(() => cb());
    } else send(data, cb);
  }) as WebSocket["send"];
  return socket;
}
