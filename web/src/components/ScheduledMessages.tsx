// A conversation's scheduled messages: schedule one (free text or an approved template) for
// a moment picked in the browser's time zone, see each with its status and why it was
// skipped, cancel one still waiting.
import { useCallback, useEffect, useState } from "react";
import type { FormEvent } from "react";
import {
  CancelScheduledMessageDocument,
  ScheduleMessageDocument,
  ScheduledMessagesDocument,
} from "../api/operations";
import type { ScheduledMessagesQuery } from "../gql/graphql";
import { useWorkspace } from "../context";
import { fullMoment } from "../format";
import { useI18n } from "../i18n";
import type { MessageKey } from "../i18n/pt-BR";
import { preview } from "./TemplatePicker";
import type { Template } from "./TemplatePicker";

type Scheduled = NonNullable<ScheduledMessagesQuery["conversation"]>["scheduledMessages"][number];

function pad(value: number): string {
  return String(Math.floor(value)).padStart(2, "0");
}

/** A `datetime-local` value as the browser's wall clock. */
export function localInputValue(moment: Date): string {
  return (
    `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}` +
    `T${pad(moment.getHours())}:${pad(moment.getMinutes())}`
  );
}

/** "2026-12-24T09:00" read in the browser's time zone, as ISO 8601 with its offset
 * ("2026-12-24T09:00:00-03:00"): the API wants the zone, and the team means theirs. */
export function withOffset(local: string): string {
  const offset = -new Date(local).getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const minutes = Math.abs(offset);
  const seconds = local.length === 16 ? `${local}:00` : local;
  return `${seconds}${sign}${pad(minutes / 60)}:${pad(minutes % 60)}`;
}

function inAnHour(): string {
  const moment = new Date(Date.now() + 60 * 60_000);
  moment.setMinutes(0, 0, 0);
  moment.setHours(moment.getHours() + 1);
  return localInputValue(moment);
}

export function ScheduledMessages({
  conversationId,
  templates,
}: {
  conversationId: string;
  templates: Template[];
}) {
  const { t, locale } = useI18n();
  const { api, notify } = useWorkspace();
  const [items, setItems] = useState<Scheduled[] | null>(null);
  const [kind, setKind] = useState<"text" | "template">("text");
  const [body, setBody] = useState("");
  const [templateId, setTemplateId] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const [sendAt, setSendAt] = useState(inAnHour);
  const [busy, setBusy] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const chosen = templates.find((template) => template.id === templateId);

  const load = useCallback(async () => {
    const result = await api.client
      .query(ScheduledMessagesDocument, { id: conversationId }, { requestPolicy: "network-only" })
      .toPromise();
    const found = result.data?.conversation?.scheduledMessages;
    if (found) setItems(found);
  }, [api, conversationId]);

  useEffect(() => {
    void load();
    return api.onResync(() => void load());
  }, [api, load]);

  const schedule = async (event: FormEvent) => {
    event.preventDefault();
    setRefusal(null);
    setBusy("schedule");
    const input =
      kind === "text"
        ? { conversationId, sendAt: withOffset(sendAt), body: body.trim() }
        : {
            conversationId,
            sendAt: withOffset(sendAt),
            templateId: chosen?.id ?? "",
            variables: (chosen?.variables ?? []).map((variable) => ({
              key: variable.key,
              value: values[variable.key]?.trim() ?? "",
            })),
          };
    const result = await api.client.mutation(ScheduleMessageDocument, { input }).toPromise();
    setBusy(null);
    const outcome = result.data?.scheduleMessage;
    if (outcome?.__typename === "ScheduleMessageSuccess") {
      notify(t("schedule.done", { time: fullMoment(outcome.scheduledMessage.sendAt, locale) }));
      setBody("");
      setValues({});
      void load();
    } else {
      setRefusal(outcome ? outcome.message : (result.error?.message ?? "?"));
    }
  };

  const cancel = async (id: string) => {
    setBusy(id);
    const result = await api.client
      .mutation(CancelScheduledMessageDocument, { input: { scheduledMessageId: id } })
      .toPromise();
    setBusy(null);
    const outcome = result.data?.cancelScheduledMessage;
    if (outcome?.__typename === "CancelScheduledMessageSuccess") {
      notify(t("schedule.cancelled"));
    } else {
      notify(outcome ? outcome.message : (result.error?.message ?? "?"), "error");
    }
    void load();
  };

  const waiting = items?.filter((item) => item.status === "SCHEDULED").length ?? 0;

  return (
    <details className="scheduled" data-testid="scheduled">
      <summary>{t("schedule.summary", { count: waiting })}</summary>
      {items && items.length > 0 ? (
        <ul className="scheduled-list" aria-label={t("schedule.list")}>
          {[...items].reverse().map((item) => (
            <li key={item.id} className={`scheduled-item status-${item.status.toLowerCase()}`}>
              <div>
                <time dateTime={item.sendAt}>{fullMoment(item.sendAt, locale)}</time>{" "}
                <span className="tag">{t(`schedule.status.${item.status}` as MessageKey)}</span>
                {item.reason && (
                  <span className="muted small">
                    {" "}
                    {t(`schedule.reason.${item.reason}` as MessageKey)}
                  </span>
                )}
              </div>
              <p className="body">
                {item.body ??
                  `${t("schedule.template")} ${item.templateName ?? ""} ${item.variables
                    .map((variable) => `{{${variable.key}}} = ${variable.value}`)
                    .join(", ")}`}
              </p>
              {item.status === "SCHEDULED" && (
                <button
                  type="button"
                  disabled={busy !== null}
                  onClick={() => void cancel(item.id)}
                  aria-label={t("schedule.cancelOne", { time: fullMoment(item.sendAt, locale) })}
                >
                  {t("schedule.cancel")}
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">{items ? t("schedule.none") : t("status.loading")}</p>
      )}
      <form className="schedule-form" onSubmit={(event) => void schedule(event)}>
        <fieldset>
          <legend>{t("schedule.legend")}</legend>
          <div role="radiogroup" aria-label={t("schedule.kind")} className="choices">
            <label>
              <input
                type="radio"
                name={`schedule-kind-${conversationId}`}
                checked={kind === "text"}
                onChange={() => setKind("text")}
              />
              {t("schedule.kind.text")}
            </label>
            <label>
              <input
                type="radio"
                name={`schedule-kind-${conversationId}`}
                checked={kind === "template"}
                onChange={() => setKind("template")}
              />
              {t("schedule.kind.template")}
            </label>
          </div>
          {kind === "text" ? (
            <label>
              <span>{t("schedule.body")}</span>
              <textarea
                rows={2}
                required
                maxLength={4096}
                value={body}
                onChange={(event) => setBody(event.target.value)}
              />
            </label>
          ) : templates.length === 0 ? (
            <p className="muted small">{t("template.none")}</p>
          ) : (
            <>
              <label>
                <span>{t("template.choose")}</span>
                <select
                  required
                  value={templateId}
                  onChange={(event) => setTemplateId(event.target.value)}
                >
                  <option value="">{t("template.pick")}</option>
                  {templates.map((template) => (
                    <option key={template.id} value={template.id}>
                      {template.name} ({template.language})
                    </option>
                  ))}
                </select>
              </label>
              {chosen?.variables.map((variable) => (
                <label key={variable.key}>
                  <span>{variable.name}</span>
                  <input
                    required
                    maxLength={1000}
                    value={values[variable.key] ?? ""}
                    onChange={(event) =>
                      setValues({ ...values, [variable.key]: event.target.value })
                    }
                  />
                </label>
              ))}
              {chosen && (
                <p className="template-preview" aria-label={t("template.preview")}>
                  {preview(chosen, values)}
                </p>
              )}
            </>
          )}
          <label>
            <span>{t("schedule.when", { zone })}</span>
            <input
              type="datetime-local"
              required
              value={sendAt}
              min={localInputValue(new Date())}
              onChange={(event) => setSendAt(event.target.value)}
            />
          </label>
          {refusal && (
            <p className="notice error" role="alert">
              {refusal}
            </p>
          )}
          <button
            type="submit"
            className="primary"
            disabled={busy !== null || (kind === "template" && !chosen)}
          >
            {busy === "schedule" ? t("schedule.submitting") : t("schedule.submit")}
          </button>
        </fieldset>
      </form>
    </details>
  );
}
