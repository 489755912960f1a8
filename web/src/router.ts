// Routes of the app, on the History API (atende serve answers each of these paths with
// index.html: src/atende/api/webapp.py).
import { useSyncExternalStore } from "react";

export type Route =
  | { name: "inbox" }
  | { name: "conversation"; id: string }
  | { name: "notFound" };

export function parse(pathname: string): Route {
  if (pathname === "/" || pathname === "/sign-in") return { name: "inbox" };
  const conversation = /^\/c\/([^/]+)\/?$/.exec(pathname);
  if (conversation?.[1]) return { name: "conversation", id: decodeURIComponent(conversation[1]) };
  return { name: "notFound" };
}

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => listeners.forEach((listener) => listener()));

export function navigate(path: string, { replace = false } = {}): void {
  if (path === window.location.pathname) return;
  if (replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  listeners.forEach((listener) => listener());
}

export function usePathname(): string {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => window.location.pathname,
  );
}

export function useRoute(): Route {
  return parse(usePathname());
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
