import { useSyncExternalStore } from "react";
import type { Api } from "./api/client";
import type { SessionStore } from "./api/session";
import { SignIn } from "./screens/SignIn";
import { WorkspaceScreen } from "./screens/Workspace";

export function App({ api, session }: { api: Api; session: SessionStore }) {
  const current = useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => session.current,
  );
  if (!current) return <SignIn api={api} session={session} />;
  // Keyed by the session's start, so a new sign-in starts from a clean slate.
  return <WorkspaceScreen api={api} session={session} />;
}
