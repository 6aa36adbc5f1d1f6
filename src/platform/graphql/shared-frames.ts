import type { ExecutionResult } from "graphql";
import type { Socket } from "node:net";
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
 * than this unsent: graphql-ws awaits each send before it takes a subscription's next event, so
 * waiting for every write would cost a turn of the event loop per frame. Past it, the
 * acknowledgement waits for the write as before: a client that stops reading stalls its
 * subscription, whose queue then fills and cuts it off with its cursor (SLOW_SUBSCRIBER).
 */
const EARLY_ACK_BYTES = 256 * 1024;

/**
 * Makes the socket's send fill in a serialized payload, and hold its frames until the end of the
 * event-loop turn: the events one turn hands a subscriber (a resume's replay, a burst) leave in
 * one write instead of one system call each. Call before graphql-ws sees the socket.
 */
export function sendsSharedFrames(socket: WebSocket): WebSocket {
  const send = socket.send.bind(socket) as (data: unknown, cb?: (err?: Error) => void) => void;
  // ws keeps the TCP socket here; without it (another transport) frames go out one by one.
  const tcp = (socket as unknown as { _socket?: Socket })._socket;
  socket.send = ((data: unknown, cb?: (err?: Error) => void) => {
    const payload = pending;
    pending = undefined;
    if (payload && typeof data === "string" && data.endsWith(PLACEHOLDER_TAIL)) {
      data = `${data.slice(0, -PLACEHOLDER_TAIL.length)}"payload":${payload.json}}`;
    }
    if (tcp) corkUntilTurnEnds(tcp);
    if (cb && socket.bufferedAmount < EARLY_ACK_BYTES) {
      send(data);
      queueMicrotask(() => cb());
    } else send(data, cb);
  }) as WebSocket["send"];
  return socket;
}

const corked = new Set<Socket>();

function corkUntilTurnEnds(tcp: Socket): void {
  if (corked.has(tcp)) return;
  tcp.cork();
  corked.add(tcp);
  // setImmediate runs once this turn's callbacks and microtasks (where graphql-ws sends) are done.
  if (corked.size === 1) setImmediate(uncorkAll);
}

function uncorkAll(): void {
  for (const tcp of corked) tcp.uncork();
  corked.clear();
}
