import { useSyncExternalStore } from "react";
import type { Api } from "./api/client";
import type { SessionStore } from "./api/session";
import { useRoute } from "./router";
import { AccountPage } from "./screens/Account";
import { SignIn } from "./screens/SignIn";
import { WorkspaceScreen } from "./screens/Workspace";

export function App({ api, session }: { api: Api; session: SessionStore }) {
  const current = useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => session.current,
  );
  const route = useRoute();
  // The pages the account mails link to work signed in or not.
  if (["acceptInvitation", "resetPassword", "verifyEmail", "forgotPassword"].includes(route.name)) {
    return <AccountPage route={route} api={api} session={session} />;
  }
  if (!current) return <SignIn api={api} session={session} />;
  return <WorkspaceScreen api={api} session={session} />;
}
