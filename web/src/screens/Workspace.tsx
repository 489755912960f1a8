import {
  Suspense,
  lazy,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";
import type { Api } from "../api/client";
import {
  ConversationEventsDocument,
  MembersDocument,
  SignOutDocument,
  ViewerDocument,
} from "../api/operations";
import type { SessionStore } from "../api/session";
import { ConnectionBanner } from "../components/ConnectionBanner";
import { WorkspaceContext } from "../context";
import type { Member, Workspace } from "../context";
import { EventBus } from "../events";
import type { ViewerQuery } from "../gql/graphql";
import { LanguageSelect, useI18n } from "../i18n";
import { followLink, useRoute } from "../router";
import { ConversationView } from "./ConversationView";
import { Inbox } from "./Inbox";

// Settings are visited now and then: their code loads when they are opened.
const Settings = lazy(() => import("./Settings").then((module) => ({ default: module.Settings })));
const Usage = lazy(() => import("./Usage").then((module) => ({ default: module.Usage })));
const Broadcasts = lazy(() =>
  import("./Broadcasts").then((module) => ({ default: module.Broadcasts })),
);
const Contacts = lazy(() => import("./Contacts").then((module) => ({ default: module.Contacts })));

const ORGANIZATION_KEY = "atende.organization";

type Viewer = NonNullable<ViewerQuery["viewer"]>;

export function WorkspaceScreen({ api, session }: { api: Api; session: SessionStore }) {
  const { t } = useI18n();
  const route = useRoute();
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [members, setMembers] = useState<Member[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [organizationId, setOrganizationId] = useState<string | null>(
    () => localStorage.getItem(ORGANIZATION_KEY),
  );
  const [toast, setToast] = useState<{ text: string; kind: "info" | "error"; at: number } | null>(
    null,
  );
  const events = useMemo(() => new EventBus(), []);
  const connection = useSyncExternalStore(
    (listener) => api.subscribe(listener),
    () => api.connection,
  );

  const loadViewer = useCallback(async () => {
    const result = await api.client.query(ViewerDocument, {}).toPromise();
    if (result.data?.viewer) {
      setViewer(result.data.viewer);
      setFailure(null);
    } else if (result.error && !result.error.networkError) {
      setFailure(result.error.message);
    }
  }, [api]);

  useEffect(() => {
    void loadViewer();
    return api.onResync(() => void loadViewer());
  }, [api, loadViewer]);

  const organizations = viewer?.memberships.map((membership) => membership.organization) ?? [];
  const organization =
    organizations.find((candidate) => candidate.id === organizationId) ?? organizations[0];
  const currentOrganizationId = organization?.id;
  const role =
    viewer?.memberships.find((membership) => membership.organization.id === currentOrganizationId)
      ?.role ?? "AGENT";

  useEffect(() => {
    if (!currentOrganizationId) return;
    localStorage.setItem(ORGANIZATION_KEY, currentOrganizationId);
    const load = async () => {
      const result = await api.client
        .query(MembersDocument, { organizationId: currentOrganizationId })
        .toPromise();
      const list = result.data?.organization?.members ?? [];
      setMembers(list.map((member) => member.user));
    };
    void load();
    return api.onResync(() => void load());
  }, [api, currentOrganizationId]);

  // One live subscription for the whole workspace; re-subscribed after an error.
  useEffect(() => {
    if (!currentOrganizationId) return;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let current: { unsubscribe: () => void } | null = null;
    const start = () => {
      current = api.client
        .subscription(ConversationEventsDocument, { organizationId: currentOrganizationId })
        .subscribe((result) => {
          const event = result.data?.conversationEvents;
          if (event) {
            if (event.kind === "RESYNC") api.resync();
            else events.emit(event);
          }
          if (result.error && !stopped) {
            current?.unsubscribe();
            retry = setTimeout(start, 3_000);
          }
        });
    };
    start();
    return () => {
      stopped = true;
      clearTimeout(retry);
      current?.unsubscribe();
    };
  }, [api, events, currentOrganizationId]);

  // While the API is unreachable, try again every few seconds.
  useEffect(() => {
    if (!connection.apiDown) return;
    const timer = setInterval(() => void loadViewer(), 5_000);
    return () => clearInterval(timer);
  }, [connection.apiDown, loadViewer]);

  const notify = useCallback((text: string, kind: "info" | "error" = "info") => {
    setToast({ text, kind, at: Date.now() });
  }, []);
  useEffect(() => {
    if (!toast) return;
    const timer = setTimeout(() => setToast(null), 6_000);
    return () => clearTimeout(timer);
  }, [toast]);

  const signOut = async () => {
    const refreshToken = session.current?.refreshToken ?? null;
    await api.client
      .mutation(SignOutDocument, { input: { refreshToken } })
      .toPromise()
      .catch(() => undefined);
    session.end("signedOut");
  };

  const mainRef = useRef<HTMLElement>(null);
  const meId = viewer?.user.id;
  const meName = viewer?.user.fullName ?? "";
  const me = useMemo(() => (meId ? { id: meId, fullName: meName } : null), [meId, meName]);
  const workspace: Workspace | null = useMemo(
    () =>
      me && currentOrganizationId
        ? { api, session, events, organizationId: currentOrganizationId, me, role, members, notify }
        : null,
    [api, session, events, currentOrganizationId, me, role, members, notify],
  );

  const conversationId = route.name === "conversation" ? route.id : null;
  // The screens in a pane of their own (no inbox beside them).
  const fullPane =
    route.name === "settings" ||
    route.name === "usage" ||
    route.name === "contacts" ||
    route.name === "broadcasts";

  return (
    <div className="app">
      <a
        className="skip-link"
        href={conversationId || fullPane ? "#main" : "#inbox"}
      >
        {t("app.skipToContent")}
      </a>
      <header className="topbar">
        <span className="brand-name">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span className="brand-text">{t("app.name")}</span>
        </span>
        {organizations.length > 1 ? (
          <select
            aria-label={t("header.organization")}
            value={organization?.id}
            onChange={(event) => setOrganizationId(event.target.value)}
          >
            {organizations.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {candidate.name}
              </option>
            ))}
          </select>
        ) : (
          <span className="organization-name">{organization?.name}</span>
        )}
        <nav aria-label={t("nav.main")} className="main-nav">
          <a
            href="/"
            aria-current={!fullPane ? "page" : undefined}
            onClick={(event) => followLink(event, "/")}
          >
            {t("nav.inbox")}
          </a>
          <a
            href="/contacts"
            aria-current={route.name === "contacts" ? "page" : undefined}
            onClick={(event) => followLink(event, "/contacts")}
          >
            {t("nav.contacts")}
          </a>
          <a
            href="/broadcasts"
            aria-current={route.name === "broadcasts" ? "page" : undefined}
            onClick={(event) => followLink(event, "/broadcasts")}
          >
            {t("nav.broadcasts")}
          </a>
          <a
            href="/usage"
            aria-current={route.name === "usage" ? "page" : undefined}
            onClick={(event) => followLink(event, "/usage")}
          >
            {t("nav.usage")}
          </a>
          <a
            href="/settings"
            aria-current={route.name === "settings" ? "page" : undefined}
            onClick={(event) => followLink(event, "/settings")}
          >
            {t("nav.settings")}
          </a>
        </nav>
        <span className="spacer" />
        <LanguageSelect />
        {viewer && (
          <span className="account" title={viewer.user.email}>
            <span className="visually-hidden">
              {t("header.account", { name: viewer.user.fullName })}
            </span>
            <span aria-hidden="true">{viewer.user.fullName}</span>
          </span>
        )}
        <button type="button" className="ghost" onClick={() => void signOut()}>
          {t("header.signOut")}
        </button>
      </header>
      <ConnectionBanner connection={connection} onRetry={() => api.resync()} />
      {failure && (
        <p className="notice error" role="alert">
          {t("status.error", { message: failure })}
        </p>
      )}
      {viewer && organizations.length === 0 && (
        <p className="notice" role="status">
          {t("status.noOrganization")}
        </p>
      )}
      {!viewer && !failure && (
        <p className="loading" role="status">
          {t("status.loading")}
        </p>
      )}
      {workspace && (
        <WorkspaceContext.Provider value={workspace}>
          {fullPane ? (
            <main id="main" className="settings-pane" tabIndex={-1}>
              <Suspense
                fallback={
                  <p className="loading" role="status">
                    {t("status.loading")}
                  </p>
                }
              >
                {route.name === "settings" ? (
                  <Settings section={route.section} />
                ) : route.name === "contacts" ? (
                  <Contacts />
                ) : route.name === "broadcasts" ? (
                  <Broadcasts />
                ) : (
                  <Usage />
                )}
              </Suspense>
            </main>
          ) : (
          <div className="workspace" data-view={conversationId ? "conversation" : "inbox"}>
            <Inbox selectedId={conversationId} />
            <main id="main" ref={mainRef} className="conversation-pane" tabIndex={-1}>
              {conversationId ? (
                <ConversationView key={conversationId} id={conversationId} />
              ) : (
                <p className="empty-pane">{t("conversation.none")}</p>
              )}
            </main>
          </div>
          )}
        </WorkspaceContext.Provider>
      )}
      <div className="toast-region" role="status" aria-live="polite">
        {toast && toast.kind === "info" && <p className="toast">{toast.text}</p>}
      </div>
      <div className="toast-region" role="alert">
        {toast && toast.kind === "error" && <p className="toast error">{toast.text}</p>}
      </div>
    </div>
  );
}
