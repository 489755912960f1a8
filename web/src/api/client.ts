// The GraphQL client: urql over fetch for queries and mutations, graphql-ws
// (graphql-transport-ws) for subscriptions, both carrying the session's access token.
// It reports what the person must know: the API unreachable, the live connection lost
// and back (then everything shown is fetched again: events may have been missed), the
// session refused.
import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWsClient } from "graphql-ws";
import type { SessionStore } from "./session";
import { Unreachable } from "./session";

export interface Connection {
  /** The last request could not reach the API (network error or 5xx). */
  apiDown: boolean;
  /** The live (WebSocket) connection is down and being retried. */
  liveDown: boolean;
}

type Listener = () => void;

/** Close codes the server uses when a socket's authentication ends (docs/api.md). */
const TOKEN_EXPIRED = 4440;
const SESSION_ENDED = 4441;
const FORBIDDEN = 4403;
/** No pong within this long after a ping: the connection is dead; close and retry. */
const PONG_TIMEOUT_MS = 5_000;
const KEEP_ALIVE_MS = 10_000;

export class Api {
  readonly client: Client;
  private state: Connection = { apiDown: false, liveDown: false };
  private listeners = new Set<Listener>();
  private resyncListeners = new Set<Listener>();
  private everConnected = false;

  constructor(private readonly session: SessionStore) {
    const base = new URL("/graphql", window.location.href);
    base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
    let pongTimer: ReturnType<typeof setTimeout> | undefined;
    let socket: WebSocket | null = null;
    const ws = createWsClient({
      url: base.toString(),
      lazy: true,
      lazyCloseTimeout: 3_000,
      keepAlive: KEEP_ALIVE_MS,
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      retryWait: async (retries) => {
        const delay = Math.min(500 * 2 ** retries, 8_000) * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, delay));
      },
      connectionParams: async () => {
        let token: string | null = null;
        try {
          token = await this.session.freshToken();
        } catch (error) {
          if (!(error instanceof Unreachable)) throw error;
          token = this.session.current?.accessToken ?? null;
        }
        return token ? { Authorization: `Bearer ${token}` } : {};
      },
      on: {
        opened: (opened) => {
          socket = opened as WebSocket;
        },
        connected: () => {
          const reconnected = this.everConnected;
          this.everConnected = true;
          this.update({ liveDown: false, apiDown: false });
          if (reconnected) this.resync();
        },
        closed: (event) => {
          socket = null;
          clearTimeout(pongTimer);
          const code = (event as CloseEvent | undefined)?.code;
          if (code === SESSION_ENDED) {
            // Signed out elsewhere (not here: this tab forgot its session first).
            if (this.session.current) this.session.end("ended");
            return;
          }
          if (code === FORBIDDEN) {
            // The token was refused: trade it for a new one before the retry.
            this.session.refresh().catch(() => undefined);
          }
          if (code !== TOKEN_EXPIRED && code !== 1000 && this.session.current) {
            this.update({ liveDown: true });
          }
        },
        ping: (received) => {
          if (received) return;
          pongTimer = setTimeout(() => {
            if (socket?.readyState === WebSocket.OPEN) socket.close(4408, "Pong timeout");
          }, PONG_TIMEOUT_MS);
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
      },
    });

    this.client = new Client({
      url: "/graphql",
      preferGetMethod: false,
      requestPolicy: "network-only",
      fetch: (input, init) => this.authorizedFetch(input, init),
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({
              unsubscribe: ws.subscribe({ ...request, query: request.query ?? "" }, sink),
            }),
          }),
        }),
      ],
    });
  }

  get connection(): Connection {
    return this.state;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called when what is shown must be fetched again (a reconnect, a RESYNC event). */
  onResync(listener: Listener): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  resync(): void {
    for (const listener of this.resyncListeners) listener();
  }

  private update(change: Partial<Connection>): void {
    const next = { ...this.state, ...change };
    if (next.apiDown === this.state.apiDown && next.liveDown === this.state.liveDown) return;
    const wasDown = this.state.apiDown;
    this.state = next;
    for (const listener of this.listeners) listener();
    if (wasDown && !next.apiDown) this.resync();
  }

  /** fetch with the access token; a 401 (the token refused) refreshes once and retries;
   * a second refusal ends the session. Network errors and 5xx mark the API down. */
  private async authorizedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const send = (token: string | null) => {
      const headers = new Headers(init?.headers);
      if (token) headers.set("Authorization", `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    let response: Response;
    try {
      let token: string | null;
      try {
        token = await this.session.freshToken();
      } catch (error) {
        if (!(error instanceof Unreachable)) throw error;
        token = this.session.current?.accessToken ?? null;
      }
      response = await send(token);
      if (response.status === 401 && token) {
        const refreshed = await this.session.refresh();
        if (!refreshed) {
          this.session.end("expired");
          return response;
        }
        response = await send(refreshed.accessToken);
        if (response.status === 401) this.session.end("expired");
      }
    } catch (error) {
      this.update({ apiDown: true });
      throw error;
    }
    this.update({ apiDown: response.status >= 500 });
    return response;
  }
}
