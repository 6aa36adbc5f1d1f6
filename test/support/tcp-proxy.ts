import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./private-redis.ts";

/**
 * A loopback TCP proxy in front of a real server, to simulate its outage without touching it:
 * `cut()` drops every connection and refuses new ones (like a stopped Postgres), `blackhole()`
 * stops forwarding without closing anything (a dead network path, a frozen server: connections stay
 * open and silent, new ones are accepted and hear nothing), `restore()` heals either.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<{ client: Socket; upstream: Socket | undefined }>();
  private held = false;
  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async create(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), target);
    await proxy.restore();
    return proxy;
  }

  restore(): Promise<void> {
    if (this.held) {
      // Forwarding resumes: what was sent meanwhile is delivered (TCP would retransmit it).
      this.held = false;
      for (const pair of this.pairs) this.forward(pair);
    }
    if (this.server) return Promise.resolve();
    this.server = createServer((client) => {
      const pair = { client, upstream: undefined as Socket | undefined };
      this.pairs.add(pair);
      this.track(client);
      client.on("close", () => (pair.upstream?.destroy(), this.pairs.delete(pair)));
      if (this.held) client.pause();
      else this.forward(pair);
    });
    return new Promise((resolve) => this.server!.listen(this.port, "127.0.0.1", () => resolve()));
  }

  /** Stops forwarding in both directions without closing anything; `restore()` resumes. */
  blackhole(): void {
    this.held = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe();
      upstream?.unpipe();
      client.pause();
      upstream?.pause();
    }
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.held = false;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private forward(pair: { client: Socket; upstream: Socket | undefined }) {
    if (!pair.upstream) {
      const upstream = createConnection(this.target);
      pair.upstream = upstream;
      this.track(upstream);
      upstream.on("close", () => pair.client.destroy());
    }
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
    pair.client.resume();
    pair.upstream.resume();
  }

  private track(s: Socket) {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => {});
  }
}

/**
 * A loopback round-robin TCP balancer in front of several replicas, like a Kubernetes Service:
 * each new connection goes to the next backend, skipping one that refuses connections (stopped,
 * or not listening yet), so a client told to reconnect lands on a live replica. Bytes are piped
 * untouched (HTTP, SSE, WebSocket). A backend that closes a connection closes it for the client
 * too, the same way: a clean close (FIN) after what it sent, a crash (RST) at once.
 */
export class RoundRobinBalancer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private next = 0;
  /** Connections handed to each backend so far. */
  readonly routed: number[];

  private constructor(
    readonly port: number,
    private readonly backends: { host: string; port: number }[],
  ) {
    this.routed = backends.map(() => 0);
    this.server = createServer((client) => this.route(client));
  }

  get open(): number {
    return this.sockets.size;
  }

  static async create(backends: { host: string; port: number }[]): Promise<RoundRobinBalancer> {
    const balancer = new RoundRobinBalancer(await freePort(), backends);
    await new Promise<void>((resolve) => balancer.server.listen(balancer.port, "127.0.0.1", () => resolve()));
    return balancer;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private route(client: Socket) {
    client.pause(); // nothing is read until a backend is connected
    this.track(client);
    const attempt = (tried: number) => {
      if (client.destroyed) return;
      if (tried === this.backends.length) return void client.destroy(); // every replica down
      const i = this.next++ % this.backends.length;
      const upstream = createConnection(this.backends[i]!);
      const refused = () => attempt(tried + 1);
      upstream.once("error", refused);
      upstream.once("connect", () => {
        upstream.off("error", refused);
        this.track(upstream);
        this.routed[i]!++;
        upstream.on("close", (hadError) => hadError && client.destroy());
        client.on("close", () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }

  private track(s: Socket) {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => {});
  }
}
