import { useEffect, useRef, useState } from "react";
import type { FormEvent } from "react";
import type { Api } from "../api/client";
import { SignInDocument } from "../api/operations";
import type { SessionStore } from "../api/session";
import { LanguageSelect, useI18n } from "../i18n";
import type { MessageKey } from "../i18n/pt-BR";
import { followLink } from "../router";

const ENDED: Record<string, MessageKey> = {
  expired: "signIn.expired",
  ended: "signIn.ended",
  signedOut: "signIn.signedOut",
};

export function SignIn({
  api,
  session,
  notice,
}: {
  api: Api;
  session: SessionStore;
  /** Why signing in is asked here (instead of why a session ended). */
  notice?: string;
}) {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const emailField = useRef<HTMLInputElement>(null);
  const ended = session.endReason ? ENDED[session.endReason] : undefined;
  const reason = notice ?? (ended ? t(ended) : undefined);

  useEffect(() => {
    document.title = `${t("signIn.submit")} · ${t("app.name")}`;
    emailField.current?.focus();
  }, [t]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(SignInDocument, { input: { email: email.trim(), password } })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.signIn;
    if (outcome?.__typename === "SignInSuccess") {
      session.signedIn(outcome.session);
      return;
    }
    if (outcome && "message" in outcome) setError(outcome.message);
    else if (result.error?.networkError) setError(t("status.apiDown"));
    else setError(t("status.error", { message: result.error?.message ?? "?" }));
  }

  return (
    <main className="sign-in" id="main">
      <form className="card sign-in-card" onSubmit={submit} aria-labelledby="sign-in-title">
        <div className="brand" aria-hidden="true">
          <img src="/favicon.svg" alt="" width="40" height="40" />
        </div>
        <h1 id="sign-in-title">{t("signIn.title")}</h1>
        <p className="muted">{t("signIn.subtitle")}</p>
        {reason && !error && (
          <p className="notice" role="status">
            {reason}
          </p>
        )}
        {error && (
          <p className="notice error" role="alert">
            {error}
          </p>
        )}
        <label htmlFor="email">{t("signIn.email")}</label>
        <input
          id="email"
          ref={emailField}
          type="email"
          name="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <label htmlFor="password">{t("signIn.password")}</label>
        <input
          id="password"
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t("signIn.submitting") : t("signIn.submit")}
        </button>
        <a
          href="/forgot-password"
          className="home-link"
          onClick={(event) => followLink(event, "/forgot-password")}
        >
          {t("signIn.forgot")}
        </a>
        <LanguageSelect />
      </form>
    </main>
  );
}
