// Outgoing webhooks: where the organization's events are posted. Owners and admins add
// endpoints (the signing secret shown once), switch them off and on, remove them, and
// read an endpoint's recent deliveries, sending one again; the API lists none to agents.
import { useCallback, useEffect, useState } from "react";
import type { FormEvent } from "react";
import {
  CreateWebhookEndpointDocument,
  RedeliverWebhookDocument,
  RemoveWebhookEndpointDocument,
  UpdateWebhookEndpointDocument,
  WebhookEndpointsDocument,
} from "../../api/operations";
import { useWorkspace } from "../../context";
import type { WebhookEndpointsQuery, WebhookEventKind } from "../../gql/graphql";
import { useI18n } from "../../i18n";
import type { MessageKey } from "../../i18n/pt-BR";
import { ConfirmButton, FormError, Loading, SecretOnce, canManage, moment, refusal } from "./common";
import type { Outcome } from "./common";

/** Every event kind, named for the team; a kind added to the schema fails `tsc` here
 * until it has a name. */
const EVENTS: Record<WebhookEventKind, { type: string; label: MessageKey }> = {
  MESSAGE_RECEIVED: { type: "message.received", label: "webhooks.event.MESSAGE_RECEIVED" },
  MESSAGE_SENT: { type: "message.sent", label: "webhooks.event.MESSAGE_SENT" },
  MESSAGE_STATUS_CHANGED: {
    type: "message.status_changed",
    label: "webhooks.event.MESSAGE_STATUS_CHANGED",
  },
  CONVERSATION_HANDED_OFF: {
    type: "conversation.handed_off",
    label: "webhooks.event.CONVERSATION_HANDED_OFF",
  },
  CONVERSATION_ASSIGNED: {
    type: "conversation.assigned",
    label: "webhooks.event.CONVERSATION_ASSIGNED",
  },
  CONVERSATION_CLOSED: { type: "conversation.closed", label: "webhooks.event.CONVERSATION_CLOSED" },
  CONVERSATION_REOPENED: {
    type: "conversation.reopened",
    label: "webhooks.event.CONVERSATION_REOPENED",
  },
  CONTACT_OPTED_OUT: { type: "contact.opted_out", label: "webhooks.event.CONTACT_OPTED_OUT" },
  CONTACT_OPTED_IN: { type: "contact.opted_in", label: "webhooks.event.CONTACT_OPTED_IN" },
};
const KINDS = Object.keys(EVENTS) as WebhookEventKind[];
/** How many recent deliveries an endpoint shows. */
const DELIVERIES = 10;

type Endpoint = NonNullable<WebhookEndpointsQuery["organization"]>["webhookEndpoints"][number];

export function WebhooksSettings() {
  const { t } = useI18n();
  const { api, organizationId, role } = useWorkspace();
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<Set<WebhookEventKind>>(new Set(["MESSAGE_RECEIVED"]));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);
  const manager = canManage(role);

  const load = useCallback(async () => {
    const result = await api.client
      .query(
        WebhookEndpointsDocument,
        { organizationId, deliveries: DELIVERIES },
        { requestPolicy: "network-only" },
      )
      .toPromise();
    if (result.data?.organization) setEndpoints(result.data.organization.webhookEndpoints);
  }, [api, organizationId]);
  useEffect(() => {
    if (manager) void load();
  }, [load, manager]);

  if (!manager) return <p className="notice">{t("webhooks.managersOnly")}</p>;
  if (!endpoints) return <Loading />;

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    if (events.size === 0) {
      setError({ field: "events", message: t("webhooks.pickEvents") });
      return;
    }
    setBusy(true);
    const result = await api.client
      .mutation(CreateWebhookEndpointDocument, {
        input: { organizationId, url: url.trim(), events: KINDS.filter((kind) => events.has(kind)) },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.createWebhookEndpoint;
    if (outcome?.__typename === "CreateWebhookEndpointSuccess") {
      setCreated({ url: outcome.endpoint.url, secret: outcome.secret });
      setUrl("");
      await load();
    } else {
      setError({
        field: outcome && "field" in outcome ? outcome.field : undefined,
        message: refusal(outcome, result.error) ?? "?",
      });
    }
  };

  const toggle = (kind: WebhookEventKind, on: boolean) => {
    const next = new Set(events);
    if (on) next.add(kind);
    else next.delete(kind);
    setEvents(next);
  };

  return (
    <div className="settings-form">
      <p className="muted">{t("webhooks.intro")}</p>
      {created && (
        <SecretOnce
          title={t("webhooks.created", { url: created.url })}
          secret={created.secret}
          onDone={() => setCreated(null)}
        />
      )}
      <section aria-labelledby="webhooks-title">
        <h2 id="webhooks-title">{t("webhooks.title")}</h2>
        {endpoints.length === 0 && <p className="muted">{t("webhooks.none")}</p>}
        <ul className="rows">
          {endpoints.map((endpoint) => (
            <EndpointRow key={endpoint.id} endpoint={endpoint} reload={load} />
          ))}
        </ul>
      </section>
      <section aria-labelledby="webhook-new-title">
        <h2 id="webhook-new-title">{t("webhooks.new")}</h2>
        <form onSubmit={(event) => void create(event)}>
          <fieldset disabled={busy}>
            <legend className="visually-hidden">{t("webhooks.new")}</legend>
            <div className="field">
              <label htmlFor="webhook-url">{t("webhooks.url")}</label>
              <input
                id="webhook-url"
                type="url"
                required
                maxLength={2000}
                placeholder="https://"
                value={url}
                onChange={(event) => setUrl(event.target.value)}
                aria-invalid={error?.field === "url" || undefined}
              />
            </div>
            <fieldset aria-invalid={error?.field === "events" || undefined}>
              <legend>{t("webhooks.events")}</legend>
              <div className="checks">
                {KINDS.map((kind) => (
                  <label key={kind} className="check">
                    <input
                      type="checkbox"
                      checked={events.has(kind)}
                      onChange={(event) => toggle(kind, event.target.checked)}
                    />
                    <span>
                      {t(EVENTS[kind].label)} <code className="muted small">{EVENTS[kind].type}</code>
                    </span>
                  </label>
                ))}
              </div>
            </fieldset>
            <button type="submit" className="primary">
              {t("webhooks.create")}
            </button>
          </fieldset>
        </form>
        <FormError message={error?.message ?? null} />
      </section>
    </div>
  );
}

function EndpointRow({ endpoint, reload }: { endpoint: Endpoint; reload: () => Promise<void> }) {
  const { t, locale } = useI18n();
  const { api, notify } = useWorkspace();
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState(false);

  /** Run a mutation; a refusal is said, and the list is fetched again either way. */
  const run = async (
    work: () => Promise<{ outcome?: Outcome; error?: { message: string } }>,
    done?: string,
  ) => {
    setBusy(true);
    const { outcome, error } = await work();
    setBusy(false);
    const message = refusal(outcome, error);
    if (message) notify(message, "error");
    else if (done) notify(done);
    await reload();
  };
  const setEnabled = (enabled: boolean) =>
    run(
      async () => {
        const result = await api.client
          .mutation(UpdateWebhookEndpointDocument, { input: { endpointId: endpoint.id, enabled } })
          .toPromise();
        return { outcome: result.data?.updateWebhookEndpoint, error: result.error };
      },
      t(enabled ? "webhooks.enabledDone" : "webhooks.disabledDone", { url: endpoint.url }),
    );
  const remove = () =>
    run(async () => {
      const result = await api.client
        .mutation(RemoveWebhookEndpointDocument, { input: { endpointId: endpoint.id } })
        .toPromise();
      return { outcome: result.data?.removeWebhookEndpoint, error: result.error };
    }, t("webhooks.removed", { url: endpoint.url }));
  const redeliver = (deliveryId: string) =>
    run(async () => {
      const result = await api.client
        .mutation(RedeliverWebhookDocument, { input: { deliveryId } })
        .toPromise();
      return { outcome: result.data?.redeliverWebhook, error: result.error };
    }, t("webhooks.redelivered"));

  const deliveries = endpoint.deliveries.edges.map((edge) => edge.node);
  const panelId = `deliveries-${endpoint.id}`;
  return (
    <li className="endpoint">
      <div className="member">
        <span className="who">
          <strong className="break">{endpoint.url}</strong>
          <span className="muted small">
            {endpoint.events.map((kind) => EVENTS[kind].type).join(", ")}
          </span>
          <span className={`small ${endpoint.enabled ? "status-on" : "status-off"}`}>
            {endpoint.enabled
              ? t("webhooks.on")
              : endpoint.disabledReason === "failing"
                ? t("webhooks.offFailing")
                : t("webhooks.off")}
            {endpoint.failingSince &&
              ` · ${t("webhooks.failingSince", { date: moment(endpoint.failingSince, locale, "") })}`}
          </span>
        </span>
        <button
          type="button"
          disabled={busy}
          aria-label={t(endpoint.enabled ? "webhooks.disableName" : "webhooks.enableName", {
            url: endpoint.url,
          })}
          onClick={() => void setEnabled(!endpoint.enabled)}
        >
          {t(endpoint.enabled ? "webhooks.disable" : "webhooks.enable")}
        </button>
        <ConfirmButton
          label={t("webhooks.remove")}
          name={t("webhooks.removeName", { url: endpoint.url })}
          question={t("webhooks.removeQuestion", { url: endpoint.url })}
          confirmLabel={t("webhooks.removeConfirm")}
          disabled={busy}
          onConfirm={remove}
        />
      </div>
      <button
        type="button"
        className="link"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => {
          setOpen(!open);
          if (!open) void reload();
        }}
      >
        {t("webhooks.deliveries", { count: deliveries.length })}
      </button>
      <div id={panelId} hidden={!open}>
        {open && deliveries.length === 0 && <p className="muted small">{t("webhooks.noDeliveries")}</p>}
        {open && deliveries.length > 0 && (
          <div className="table-scroll">
            <table className="deliveries">
              <caption className="visually-hidden">
                {t("webhooks.deliveriesOf", { url: endpoint.url })}
              </caption>
              <thead>
                <tr>
                  <th scope="col">{t("webhooks.col.event")}</th>
                  <th scope="col">{t("webhooks.col.status")}</th>
                  <th scope="col">{t("webhooks.col.attempts")}</th>
                  <th scope="col">{t("webhooks.col.code")}</th>
                  <th scope="col">{t("webhooks.col.duration")}</th>
                  <th scope="col">{t("webhooks.col.error")}</th>
                  <th scope="col">{t("webhooks.col.when")}</th>
                  <th scope="col">
                    <span className="visually-hidden">{t("webhooks.col.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {deliveries.map((delivery) => (
                  <tr key={delivery.id}>
                    <td>
                      <code>{EVENTS[delivery.event].type}</code>
                    </td>
                    <td>{t(`delivery.${delivery.status}`)}</td>
                    <td>
                      {delivery.attemptHistory.length === 0 ? (
                        delivery.attempts
                      ) : (
                        <details className="attempts">
                          <summary
                            aria-label={t("webhooks.attemptsName", { count: delivery.attempts })}
                          >
                            {delivery.attempts}
                          </summary>
                          <ol>
                            {delivery.attemptHistory.map((attempt, index) => (
                              <li key={index}>
                                #{attempt.attempt} · {moment(attempt.attemptedAt, locale, "")} ·{" "}
                                {attempt.statusCode ?? "—"}
                                {attempt.durationMs != null && ` · ${attempt.durationMs} ms`}
                                {attempt.error && ` · ${attempt.error}`}
                              </li>
                            ))}
                          </ol>
                        </details>
                      )}
                    </td>
                    <td>{delivery.lastStatusCode ?? "—"}</td>
                    <td>{delivery.lastDurationMs != null ? `${delivery.lastDurationMs} ms` : "—"}</td>
                    <td className="break">{delivery.lastError ?? "—"}</td>
                    <td>{moment(delivery.lastAttemptAt ?? delivery.createdAt, locale, "—")}</td>
                    <td>
                      <button
                        type="button"
                        disabled={busy || !endpoint.enabled}
                        aria-label={t("webhooks.redeliverName", {
                          event: EVENTS[delivery.event].type,
                          date: moment(delivery.createdAt, locale, ""),
                        })}
                        onClick={() => void redeliver(delivery.id)}
                      >
                        {t("webhooks.redeliver")}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </li>
  );
}
