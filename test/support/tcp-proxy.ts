import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * How the proxy treats new connections: `open` forwards them to the target; `hold` accepts them
 * and swallows their bytes without ever connecting upstream (a black hole: the client's request
 * is "on the wire" but never reaches the target).
 */
export type ProxyMode = 'open' | 'hold';

/**
 * A loopback TCP proxy (node:net) to put network faults between the API process and one of its
 * dependencies (PostgreSQL, the Twilio fake) without touching the dependency itself: `cut()`
 * destroys every connection and refuses new ones (ECONNREFUSED), `restore()` listens again on
 * the same port, `setMode('hold')` black-holes new connections, `freeze()` is a network
 * partition (silence on every connection, no error) until `heal()`.
 */
export class TcpProxy {
  /** Connections accepted since start (forwarded or held). */
  accepted = 0;
  /** Bytes received on held (black-holed) connections. */
  heldBytes = 0;
  private server?: Server;
  private listenPort = 0;
  private mode: ProxyMode = 'open';
  private frozen = false;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private readonly held = new Set<Socket>();

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** The loopback port clients connect to (stable across cut/restore). */
  get port(): number {
    if (!this.listenPort) throw new Error('TcpProxy is not started; call start() first');
    return this.listenPort;
  }

  /** Whether new connections are accepted right now. */
  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Open sockets on both sides (client and upstream). */
  get openSockets(): number {
    return this.sockets.size;
  }

  async start(): Promise<this> {
    await this.listen(0);
    return this;
  }

  /** Applies to connections accepted from now on; existing ones keep their treatment. */
  setMode(mode: ProxyMode): void {
    this.mode = mode;
  }

  /** Destroys every connection (both sides) and stops listening: new connections are refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    if (this.server) return;
    await this.listen(this.port);
  }

  /**
   * A network partition: nothing flows any more on existing connections, either way, and new
   * connections are black-holed; no connection is closed or reset, so peers see silence, not an
   * error (as when packets are dropped between hosts).
   */
  freeze(): void {
    this.frozen = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /**
   * Ends the partition: what was sent meanwhile flows on (nothing is lost, as TCP would
   * retransmit it), new connections are forwarded again. Connections that arrived during the
   * partition never got through; they are reset now.
   */
  heal(): void {
    this.frozen = false;
    for (const { client, upstream } of this.pairs) {
      client.pipe(upstream);
      upstream.pipe(client);
    }
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }

  /** Destroys every open connection, both sides; returns how many sockets it destroyed. */
  dropConnections(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.pairs.clear();
    this.held.clear();
    return count;
  }

  async close(): Promise<void> {
    await this.cut();
  }

  private async listen(port: number): Promise<void> {
    const server = createServer({ noDelay: true }, (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    this.listenPort = typeof address === 'object' && address ? address.port : port;
    this.server = server;
  }

  private accept(client: Socket): void {
    this.accepted++;
    this.track(client);
    if (this.mode === 'hold' || this.frozen) {
      this.held.add(client);
      client.once('close', () => this.held.delete(client));
      client.on('data', (chunk: Buffer) => (this.heldBytes += chunk.length));
      return;
    }
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    upstream.setNoDelay(true);
    this.track(upstream);
    const pair = { client, upstream };
    this.pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    // Either side ending ends the pair, as a real network path would.
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', end);
    upstream.once('close', end);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    // Errors (ECONNRESET from a killed peer, …) just end the pair; 'close' follows.
    socket.on('error', () => undefined);
    socket.once('close', () => this.sockets.delete(socket));
  }
}

/** Starts a proxy on 127.0.0.1 (random free port) in front of `host:port`. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  return new TcpProxy(host, port).start();
}
