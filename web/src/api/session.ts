// The signed-in session: kept in localStorage (shared by the tabs of this origin) and
// refreshed before its access token expires. Refresh tokens work once, and presenting a
// spent one signs the session out everywhere, so only one tab refreshes at a time (a Web
// Lock) and a tab that waited takes the session another tab just stored.
import { Client, fetchExchange } from "@urql/core";
import { RefreshSessionDocument } from "./operations";

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresAt: string;
}

/** Why there is no session: to tell the person on the sign-in screen. */
export type EndReason = "expired" | "ended" | "signedOut" | null;

const STORAGE_KEY = "atende.session";
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;

function read(): Session | null {
  try {
    const value = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null") as Session | null;
    return value && typeof value.accessToken === "string" ? value : null;
  } catch {
    return null;
  }
}

function expiresInMs(session: Session): number {
  return Date.parse(session.expiresAt) - Date.now();
}

/** The refresh failed because the server could not be reached or answered 5xx. */
export class Unreachable extends Error {}

export class SessionStore {
  private session: Session | null = read();
  private listeners = new Set<() => void>();
  private refreshing: Promise<Session | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  endReason: EndReason = null;
  /** A client without authentication, for refreshSession. */
  private anonymous = new Client({
    url: "/graphql",
    exchanges: [fetchExchange],
    requestPolicy: "network-only",
    preferGetMethod: false,
  });

  constructor() {
    window.addEventListener("storage", (event) => {
      if (event.key !== STORAGE_KEY) return;
      this.session = read();
      this.changed();
    });
    this.schedule();
  }

  get current(): Session | null {
    return this.session;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  signedIn(session: Session): void {
    this.endReason = null;
    this.store(session);
  }

  /** Forget the session (signed out here, or refused by the server). */
  end(reason: EndReason): void {
    this.endReason = reason;
    this.store(null);
  }

  /** An access token valid for at least a minute more, refreshed first if needed; null
   * when signed out. Throws Unreachable when a needed refresh could not reach the API. */
  async freshToken(): Promise<string | null> {
    const session = this.session;
    if (!session) return null;
    if (expiresInMs(session) > REFRESH_MARGIN_MS) return session.accessToken;
    const refreshed = await this.refresh(session);
    return refreshed?.accessToken ?? null;
  }

  /** Trade `stale`'s refresh token for a new session (once, whatever the callers). */
  refresh(stale: Session | null = this.session): Promise<Session | null> {
    if (!stale) return Promise.resolve(null);
    this.refreshing ??= this.refreshOnce(stale).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refreshOnce(stale: Session): Promise<Session | null> {
    const work = async (): Promise<Session | null> => {
      const stored = read();
      if (!stored) {
        this.end(this.endReason ?? "expired");
        return null;
      }
      if (stored.refreshToken !== stale.refreshToken) {
        // Another tab refreshed while this one waited for the lock.
        this.session = stored;
        this.changed();
        return stored;
      }
      const result = await this.anonymous
        .mutation(RefreshSessionDocument, { input: { refreshToken: stored.refreshToken } })
        .toPromise();
      if (result.error) throw new Unreachable(result.error.message);
      const outcome = result.data?.refreshSession;
      if (outcome?.__typename === "RefreshSessionSuccess") {
        this.store(outcome.session);
        return outcome.session;
      }
      if (outcome?.__typename === "TooManyAttempts") throw new Unreachable(outcome.message);
      this.end("expired");
      return null;
    };
    if (navigator.locks) return navigator.locks.request("atende.session.refresh", work);
    return work();
  }

  private store(session: Session | null): void {
    this.session = session;
    if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else localStorage.removeItem(STORAGE_KEY);
    this.changed();
  }

  private changed(): void {
    this.schedule();
    for (const listener of this.listeners) listener();
  }

  /** Refresh ahead of expiry, so a quiet tab still holds a working session. */
  private schedule(): void {
    clearTimeout(this.timer);
    const session = this.session;
    if (!session) return;
    const delay = Math.max(expiresInMs(session) - REFRESH_MARGIN_MS, 1_000);
    this.timer = setTimeout(() => {
      this.refresh(session).catch(() => {
        this.timer = setTimeout(() => this.schedule(), 5_000);
      });
    }, Math.min(delay, 2_147_000_000));
  }
}
