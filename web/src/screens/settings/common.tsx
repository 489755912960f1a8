// What the settings sections share: who may change things, a secret shown once, a
// button that asks before it destroys, and the API's refusals in words.
import { useEffect, useId, useRef, useState } from "react";
import type { MembershipRole } from "../../gql/graphql";
import { useWorkspace } from "../../context";
import { useI18n } from "../../i18n";

export function canManage(role: MembershipRole): boolean {
  return role === "OWNER" || role === "ADMIN";
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p className="loading" role="status">
      {t("status.loading")}
    </p>
  );
}

/** A mutation's outcome: the success type, or a `UserError` with its message (the API's
 * refusals are written for the team: Forbidden, NotFound, ValidationError...). */
export interface Outcome {
  __typename?: string;
  message?: string;
  field?: string;
}

/** The refusal's message, or null when the outcome is a success. A transport error (the
 * API unreachable: the banner says so too) has no outcome. */
export function refusal(outcome: Outcome | undefined, transport?: { message: string }): string | null {
  if (!outcome) return transport?.message ?? "?";
  return outcome.message ?? null;
}

/** A refusal shown in the form it is about (role=alert: read out when it appears). */
export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="notice error" role="alert">
      {message}
    </p>
  );
}

/** A secret the API shows once (an API key's, a webhook's signing secret): readable,
 * copyable, and said plainly that it will not be shown again. */
export function SecretOnce({
  title,
  secret,
  onDone,
}: {
  title: string;
  secret: string;
  onDone: () => void;
}) {
  const { t } = useI18n();
  const { notify } = useWorkspace();
  const id = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      notify(t("secret.copied"));
    } catch {
      notify(t("secret.copyFailed"), "error");
    }
  };
  return (
    <section className="secret-once" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} ref={headingRef} tabIndex={-1}>
        {title}
      </h3>
      <p className="notice warning">{t("secret.once")}</p>
      <div className="row">
        <div className="field grow">
          <label htmlFor={`${id}-value`}>{t("secret.value")}</label>
          <input
            id={`${id}-value`}
            className="secret-value"
            readOnly
            value={secret}
            onFocus={(event) => event.target.select()}
          />
        </div>
        <button type="button" onClick={() => void copy()}>
          {t("secret.copy")}
        </button>
        <button type="button" className="primary" onClick={onDone}>
          {t("secret.done")}
        </button>
      </div>
    </section>
  );
}

/** A destructive action that asks first: the first press shows the question with
 * "confirm" (focused) and "cancel". */
export function ConfirmButton({
  label,
  name,
  question,
  confirmLabel,
  disabled,
  onConfirm,
}: {
  /** What the button shows. */
  label: string;
  /** Its accessible name when the label alone is ambiguous (it starts with the label). */
  name?: string;
  question: string;
  confirmLabel: string;
  disabled?: boolean;
  onConfirm: () => void | Promise<void>;
}) {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const askRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (wasAsking.current) askRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  if (!asking) {
    return (
      <button
        ref={askRef}
        type="button"
        aria-label={name}
        disabled={disabled}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span className="confirm-question">{question}</span>
      <button
        ref={confirmRef}
        type="button"
        className="danger"
        disabled={disabled}
        onClick={() => {
          setAsking(false);
          void onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        {t("confirm.cancel")}
      </button>
    </span>
  );
}

/** The date and time, or a dash for "never". */
export function moment(iso: string | null | undefined, locale: string, never: string): string {
  if (!iso) return never;
  return new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" }).format(
    new Date(iso),
  );
}
