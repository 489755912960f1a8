// The pages the account mails link to (docs/api.md#accounts), and "forgot password":
// each reads its token from the link, calls its mutation, and says what happened.
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import type { FormEvent, ReactNode } from "react";
import type { Api } from "../api/client";
import {
  AcceptInvitationDocument,
  RequestPasswordResetDocument,
  ResetPasswordDocument,
  VerifyEmailDocument,
} from "../api/operations";
import type { SessionStore } from "../api/session";
import { LanguageSelect, useI18n } from "../i18n";
import type { MessageKey } from "../i18n/pt-BR";
import { followLink, navigate } from "../router";
import type { Route } from "../router";
import { SignIn } from "./SignIn";

const ORGANIZATION_KEY = "atende.organization";

type Outcome = { kind: "done" | "error"; text: string } | null;

function Page({ title, children }: { title: MessageKey; children: ReactNode }) {
  const { t } = useI18n();
  useEffect(() => {
    document.title = `${t(title)} · ${t("app.name")}`;
  }, [t, title]);
  return (
    <main className="sign-in" id="main">
      <div className="card sign-in-card">
        <div className="brand" aria-hidden="true">
          <img src="/favicon.svg" alt="" width="40" height="40" />
        </div>
        <h1>{t(title)}</h1>
        {children}
        <LanguageSelect />
      </div>
    </main>
  );
}

function Said({ outcome }: { outcome: Outcome }) {
  if (!outcome) return null;
  return outcome.kind === "error" ? (
    <p className="notice error" role="alert">
      {outcome.text}
    </p>
  ) : (
    <p className="notice" role="status">
      {outcome.text}
    </p>
  );
}

function HomeLink({ label = "account.toInbox" }: { label?: MessageKey }) {
  const { t } = useI18n();
  return (
    <a href="/" className="home-link" onClick={(event) => followLink(event, "/")}>
      {t(label)}
    </a>
  );
}

/** What went wrong with a request that got no typed answer. */
function failure(error: { networkError?: Error; message: string } | undefined, t: (key: MessageKey) => string): string {
  return error?.networkError ? t("status.apiDown") : (error?.message ?? "?");
}

export function AccountPage({ route, api, session }: { route: Route; api: Api; session: SessionStore }) {
  switch (route.name) {
    case "verifyEmail":
      return <VerifyEmail api={api} token={route.token} />;
    case "forgotPassword":
      return <ForgotPassword api={api} />;
    case "resetPassword":
      return <ResetPassword api={api} session={session} token={route.token} />;
    case "acceptInvitation":
      return <AcceptInvitation api={api} session={session} token={route.token} />;
    default:
      return null;
  }
}

function VerifyEmail({ api, token }: { api: Api; token: string }) {
  const { t } = useI18n();
  const [outcome, setOutcome] = useState<Outcome>(null);
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return; // once, even when React runs effects twice
    started.current = true;
    void api.client
      .mutation(VerifyEmailDocument, { input: { token } })
      .toPromise()
      .then((result) => {
        const answer = result.data?.verifyEmail;
        if (answer?.__typename === "VerifyEmailSuccess") {
          setOutcome({ kind: "done", text: t("account.verified", { email: answer.email }) });
        } else if (answer) {
          setOutcome({ kind: "error", text: answer.message });
        } else {
          setOutcome({ kind: "error", text: failure(result.error, t) });
        }
      });
  }, [api, token, t]);
  return (
    <Page title="account.verifyTitle">
      {outcome ? <Said outcome={outcome} /> : <p role="status">{t("status.loading")}</p>}
      <HomeLink />
    </Page>
  );
}

function ForgotPassword({ api }: { api: Api }) {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await api.client
      .mutation(RequestPasswordResetDocument, { input: { email: email.trim() } })
      .toPromise();
    setBusy(false);
    const answer = result.data?.requestPasswordReset;
    if (answer?.__typename === "RequestPasswordResetSuccess") {
      setOutcome({ kind: "done", text: answer.message });
    } else {
      setOutcome({ kind: "error", text: answer ? answer.message : failure(result.error, t) });
    }
  };
  return (
    <Page title="account.forgotTitle">
      <p className="muted">{t("account.forgotHelp")}</p>
      <Said outcome={outcome} />
      <form onSubmit={(event) => void submit(event)} className="stack">
        <label htmlFor="email">{t("signIn.email")}</label>
        <input
          id="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <button type="submit" className="primary" disabled={busy}>
          {t("account.sendLink")}
        </button>
      </form>
      <HomeLink label="account.toSignIn" />
    </Page>
  );
}

function NewPasswordFields({
  password,
  setPassword,
}: {
  password: string;
  setPassword: (value: string) => void;
}) {
  const { t } = useI18n();
  return (
    <>
      <label htmlFor="new-password">{t("account.newPassword")}</label>
      <input
        id="new-password"
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        value={password}
        onChange={(event) => setPassword(event.target.value)}
        aria-describedby="password-rule"
      />
      <span id="password-rule" className="muted small">
        {t("account.passwordRule")}
      </span>
    </>
  );
}

function ResetPassword({ api, session, token }: { api: Api; session: SessionStore; token: string }) {
  const { t } = useI18n();
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await api.client
      .mutation(ResetPasswordDocument, { input: { token, password } })
      .toPromise();
    setBusy(false);
    const answer = result.data?.resetPassword;
    if (answer?.__typename === "ResetPasswordSuccess") {
      session.signedIn(answer.session);
      navigate("/", { replace: true });
      return;
    }
    setOutcome({ kind: "error", text: answer ? answer.message : failure(result.error, t) });
  };
  return (
    <Page title="account.resetTitle">
      <Said outcome={outcome} />
      <form onSubmit={(event) => void submit(event)} className="stack">
        <NewPasswordFields password={password} setPassword={setPassword} />
        <button type="submit" className="primary" disabled={busy}>
          {t("account.savePassword")}
        </button>
      </form>
      <HomeLink label="account.toSignIn" />
    </Page>
  );
}

function AcceptInvitation({
  api,
  session,
  token,
}: {
  api: Api;
  session: SessionStore;
  token: string;
}) {
  const { t } = useI18n();
  const signedIn = useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => session.current !== null,
  );
  const [fullName, setFullName] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [needsSignIn, setNeedsSignIn] = useState(false);

  const accept = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const input = signedIn ? { token } : { token, fullName: fullName.trim(), password };
    const result = await api.client.mutation(AcceptInvitationDocument, { input }).toPromise();
    setBusy(false);
    const answer = result.data?.acceptInvitation;
    if (answer?.__typename === "AcceptInvitationSuccess") {
      localStorage.setItem(ORGANIZATION_KEY, answer.organizationId);
      if (answer.session) session.signedIn(answer.session);
      navigate("/", { replace: true });
      return;
    }
    if (answer?.__typename === "InvitationNeedsSignIn") setNeedsSignIn(true);
    setOutcome({ kind: "error", text: answer ? answer.message : failure(result.error, t) });
  };

  if (needsSignIn && !signedIn) {
    // The address has an account: sign in here, then accept on this same page.
    return <SignIn api={api} session={session} notice={t("account.signInToAccept")} />;
  }
  return (
    <Page title="account.inviteTitle">
      <p className="muted">{signedIn ? t("account.inviteSignedIn") : t("account.inviteNew")}</p>
      <Said outcome={outcome} />
      <form onSubmit={(event) => void accept(event)} className="stack">
        {!signedIn && (
          <>
            <label htmlFor="full-name">{t("account.fullName")}</label>
            <input
              id="full-name"
              autoComplete="name"
              required
              value={fullName}
              onChange={(event) => setFullName(event.target.value)}
            />
            <NewPasswordFields password={password} setPassword={setPassword} />
          </>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {t("account.accept")}
        </button>
      </form>
      {!signedIn && (
        <button type="button" className="link" onClick={() => setNeedsSignIn(true)}>
          {t("account.haveAccount")}
        </button>
      )}
    </Page>
  );
}
