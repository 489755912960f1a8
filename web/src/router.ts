// Routes of the app, on the History API (atende serve answers each of these paths with
// index.html: src/atende/api/webapp.py).
import { useSyncExternalStore } from "react";

/** The settings page's sections, each at /settings/<section>. */
export const SETTINGS_SECTIONS = [
  "assistant",
  "team",
  "channels",
  "knowledge",
  "api-keys",
  "webhooks",
] as const;
export type SettingsSection = (typeof SETTINGS_SECTIONS)[number];

export type Route =
  | { name: "inbox" }
  | { name: "conversation"; id: string }
  | { name: "acceptInvitation"; token: string }
  | { name: "resetPassword"; token: string }
  | { name: "verifyEmail"; token: string }
  | { name: "forgotPassword" }
  | { name: "settings"; section: SettingsSection }
  | { name: "usage" }
  | { name: "contacts" }
  | { name: "broadcasts" }
  | { name: "notFound" };

/** The pages the mails link to (ATENDE_APP_URL + path + ?token=): docs/api.md#accounts. */
const ACCOUNT_PAGES = {
  "/accept-invitation": "acceptInvitation",
  "/reset-password": "resetPassword",
  "/verify-email": "verifyEmail",
} as const;

export function parse(pathname: string, search = ""): Route {
  if (pathname === "/" || pathname === "/sign-in") return { name: "inbox" };
  if (pathname === "/forgot-password") return { name: "forgotPassword" };
  if (pathname === "/settings" || pathname === "/settings/assistant") {
    return { name: "settings", section: "assistant" };
  }
  const section = /^\/settings\/([a-z-]+)\/?$/.exec(pathname)?.[1];
  const known = SETTINGS_SECTIONS.find((name) => name === section);
  if (known) return { name: "settings", section: known };
  if (pathname === "/usage") return { name: "usage" };
  if (pathname === "/contacts" || pathname === "/contacts/") return { name: "contacts" };
  if (pathname === "/broadcasts" || pathname === "/broadcasts/") return { name: "broadcasts" };
  const page = ACCOUNT_PAGES[pathname as keyof typeof ACCOUNT_PAGES];
  if (page) return { name: page, token: new URLSearchParams(search).get("token") ?? "" };
  const conversation = /^\/c\/([^/]+)\/?$/.exec(pathname);
  if (conversation?.[1]) return { name: "conversation", id: decodeURIComponent(conversation[1]) };
  return { name: "notFound" };
}

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => listeners.forEach((listener) => listener()));

export function navigate(path: string, { replace = false } = {}): void {
  if (path === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  listeners.forEach((listener) => listener());
}

/** The path and query string, as they change. */
export function useLocation(): string {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => window.location.pathname + window.location.search,
  );
}

export function useRoute(): Route {
  const location = useLocation();
  const query = location.indexOf("?");
  return query < 0 ? parse(location) : parse(location.slice(0, query), location.slice(query));
}

export function conversationPath(id: string): string {
  return `/c/${encodeURIComponent(id)}`;
}

/** A same-origin link that navigates without reloading (and still opens in a new tab). */
export function followLink(event: React.MouseEvent<HTMLAnchorElement>, path: string): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(path);
}
