/**
 * Shared `next` frames (src/platform/graphql/shared-frames.ts) over real loopback WebSockets: what a
 * client receives is exactly the message graphql-ws would have written, whoever shares the payload,
 * and nothing a client chooses can make another payload land in its frame.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { GraphQLError, type ExecutionResult } from "graphql";
import { frameReplacer, sendsSharedFrames, sharedPayload } from "../../src/platform/graphql/shared-frames.ts";

let wss: WebSocketServer;
const serverSockets: WebSocket[] = [];

beforeAll(async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (socket) => serverSockets.push(sendsSharedFrames(socket)));
  await new Promise((resolve) => wss.once("listening", resolve));
});
afterAll(async () => {
  for (const s of serverSockets) s.terminate();
  await new Promise((resolve) => wss.close(resolve));
});

/** A connected client and its server-side socket, plus the frames the client receives. */
async function connect() {
  const address = wss.address() as { port: number };
  const serverSide = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
  const client = new WebSocket(`ws://127.0.0.1:${address.port}`);
  const frames: string[] = [];
  client.on("message", (data) => frames.push(String(data)));
  await new Promise((resolve) => client.once("open", resolve));
  return { client, server: await serverSide, frames };
}

/** What graphql-ws's emit.next does: stringify the envelope with the replacer, then send. */
function emitNext(socket: WebSocket, id: string, payload: ExecutionResult) {
  socket.send(JSON.stringify({ id, type: "next", payload }, frameReplacer));
}

async function framesOf(frames: string[], n: number) {
  const deadline = Date.now() + 10_000;
  while (frames.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return frames.map((f) => JSON.parse(f) as unknown);
}

it("subscribers sharing a result each get their own id with the same payload, as graphql-ws would write it", async () => {
  const [a, b] = [await connect(), await connect()];
  const result: ExecutionResult = {
    data: { orderEvents: { cursor: "1-0", type: "OrderCreated", note: 'quotes " and \\ and \u2028' } },
    errors: [new GraphQLError("partial", { path: ["orderEvents", "note"], extensions: { code: "FORBIDDEN" } })],
  };
  emitNext(a.server, "sub-a", sharedPayload(result));
  emitNext(b.server, "sub-b", sharedPayload(result));
  const expected = JSON.parse(JSON.stringify(result)) as unknown;
  expect(await framesOf(a.frames, 1)).toEqual([{ id: "sub-a", type: "next", payload: expected }]);
  expect(await framesOf(b.frames, 1)).toEqual([{ id: "sub-b", type: "next", payload: expected }]);
  a.client.close();
  b.client.close();
});

it("a subscription id that spells the placeholder cannot pull a payload into its frame", async () => {
  const c = await connect();
  const hostileId = `x","payload":"\u0000shared-payload\u0000"}`;
  emitNext(c.server, hostileId, sharedPayload({ data: { n: 1 } }));
  // Frames that are not shared results pass through untouched, even right after a shared one.
  c.server.send(JSON.stringify({ id: hostileId, type: "complete" }, frameReplacer));
  expect(await framesOf(c.frames, 2)).toEqual([
    { id: hostileId, type: "next", payload: { data: { n: 1 } } },
    { id: hostileId, type: "complete" },
  ]);
  c.client.close();
});

it("a shared frame that is never sent (its socket closed first) leaves no payload for the next one", async () => {
  const d = await connect();
  // graphql-ws stringifies, then skips send() on a socket that is no longer open.
  JSON.stringify({ id: "gone", type: "next", payload: sharedPayload({ data: { stale: true } }) }, frameReplacer);
  d.server.send(JSON.stringify({ id: "live", type: "next", payload: { data: { fresh: true } } }, frameReplacer));
  expect(await framesOf(d.frames, 1)).toEqual([{ id: "live", type: "next", payload: { data: { fresh: true } } }]);
  d.client.close();
});

it("acknowledges sends at once while little is unsent, and stalls them for a client that stops reading", async () => {
  const { client, server, frames } = await connect();
  // What graphql-ws does for one subscription: the next frame only once the previous send is acknowledged.
  let acked = 0;
  let stop = false;
  const frame = JSON.stringify({ id: "s", type: "next", payload: { data: { pad: "x".repeat(1_000) } } });
  const sender = (async () => {
    while (!stop && acked < 20_000) {
      await new Promise<void>((resolve, reject) => server.send(frame, (err) => (err ? reject(err) : resolve())));
      acked++;
    }
  })();
  const rawClient = (client as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  rawClient.pause(); // stops reading from TCP: the kernel buffers fill, then the server's
  await new Promise((r) => setTimeout(r, 1_000));
  const ackedWhilePaused = acked;
  await new Promise((r) => setTimeout(r, 500));
  // Stalled: nothing more acknowledged, and what is unsent stays bounded (not 20 MB queued in memory).
  expect(acked).toBe(ackedWhilePaused);
  expect(acked).toBeLessThan(20_000);
  expect(server.bufferedAmount).toBeLessThan(2 * 1024 * 1024);
  rawClient.resume();
  await sender;
  stop = true;
  expect(acked).toBe(20_000);
  await framesOf(frames, 20_000);
  expect(frames).toHaveLength(20_000);
  expect(frames.every((f) => f === frame)).toBe(true);
  client.close();
});

it("a fast client gets a burst far past that bound in full while another client has stopped reading", async () => {
  const [fast, slow] = [await connect(), await connect()];
  (slow.client as unknown as { _socket: { pause(): void } })._socket.pause();
  const frame = JSON.stringify({ id: "s", type: "next", payload: { data: { pad: "x".repeat(1_000) } } });
  // Each subscription as graphql-ws drives it: the next send once the previous one is acknowledged.
  const drive = (socket: WebSocket, n: number) =>
    (async () => {
      for (let i = 0; i < n; i++)
        await new Promise<void>((resolve, reject) => socket.send(frame, (err) => (err ? reject(err) : resolve())));
    })();
  void drive(slow.server, 5_000).catch(() => {}); // stalls once the paused client's buffers are full
  await drive(fast.server, 3_000); // ~3 MB: far past the early-acknowledgement bound
  await framesOf(fast.frames, 3_000);
  expect(fast.frames).toHaveLength(3_000);
  fast.client.close();
  slow.client.terminate();
});
