// Broadcasts ("Disparos", loaded when first opened): one approved template sent to every
// contact with a tag (or to the contacts given, over the API), at the channel's pace. The
// latest 20 with their summary (fetched again every second while one is sending and for a
// minute after: the API has no subscription for them), each one's recipients with their status and reason, and
// "cancel" on one still sending. Everyone reads them; owners and admins make, cancel and
// pace them (the API decides: its refusals are shown in words).
import { useCallback, useEffect, useId, useState } from "react";
import type { FormEvent } from "react";
import {
  BroadcastRecipientsDocument,
  BroadcastsDocument,
  CancelBroadcastDocument,
  CreateBroadcastDocument,
  SetChannelBroadcastRateDocument,
} from "../api/operations";
import { preview } from "../components/TemplatePicker";
import { useWorkspace } from "../context";
import type { BroadcastFieldsFragment, BroadcastRecipientsQuery, BroadcastsQuery } from "../gql/graphql";
import { useI18n } from "../i18n";
import type { MessageKey } from "../i18n/pt-BR";
import { conversationPath, navigate } from "../router";
import { ConfirmButton, FormError, Loading, canManage, moment, refusal } from "./settings/common";

type Organization = NonNullable<BroadcastsQuery["organization"]>;
type Channel = Organization["channels"][number];
type Broadcast = BroadcastFieldsFragment;
type Recipient = NonNullable<
  BroadcastRecipientsQuery["organization"]
>["broadcasts"]["edges"][number]["node"]["recipients"]["edges"][number]["node"];

const COUNTS = ["total", "queued", "sent", "delivered", "failed", "skipped", "cancelled"] as const;

/** A status in words; one the app does not know yet is shown as the API names it. */
function useStatus() {
  const { t } = useI18n();
  return (prefix: "broadcasts.status" | "broadcasts.recipientStatus", status: string) => {
    // A key missing from the catalog reads as undefined.
    return (t(`${prefix}.${status}` as MessageKey) as string | undefined) ?? status;
  };
}

export function Broadcasts() {
  const { t } = useI18n();
  const { api, organizationId, role } = useWorkspace();
  const [organization, setOrganization] = useState<Organization | null>(null);
  const [error, setError] = useState<string | null>(null);
  const manager = canManage(role);

  useEffect(() => {
    document.title = `${t("broadcasts.title")} · ${t("app.name")}`;
  }, [t]);

  const load = useCallback(async () => {
    const result = await api.client
      .query(BroadcastsDocument, { org: organizationId }, { requestPolicy: "network-only" })
      .toPromise();
    if (result.data?.organization) {
      setOrganization(result.data.organization);
      setError(null);
    } else if (result.error) setError(result.error.message);
  }, [api, organizationId]);
  useEffect(() => {
    void load();
  }, [load]);

  // Fetched again every second while one sends, and for a minute after it finished: the
  // messages' delivery (delivered, failed) is reported by Twilio after they went.
  const sending = organization?.broadcasts.edges.some(
    ({ node }) =>
      node.status === "SENDING" ||
      (node.finishedAt !== null &&
        node.finishedAt !== undefined &&
        Date.now() - Date.parse(node.finishedAt) < 60_000),
  );
  useEffect(() => {
    if (!sending) return;
    const timer = setInterval(() => void load(), 1000);
    return () => clearInterval(timer);
  }, [sending, load]);

  if (!organization) return error ? <FormError message={error} /> : <Loading />;
  const edges = organization.broadcasts.edges;
  return (
    <div className="settings broadcasts">
      <h1>{t("broadcasts.title")}</h1>
      <div className="settings-form">
      {!manager && <p className="notice">{t("broadcasts.readOnly")}</p>}
      {manager && <NewBroadcast channels={organization.channels} onCreated={load} />}
      <section aria-labelledby="broadcasts-list-title">
        <h2 id="broadcasts-list-title">{t("broadcasts.latest")}</h2>
        {edges.length === 0 && <p className="muted">{t("broadcasts.none")}</p>}
        <ul className="rows" aria-label={t("broadcasts.latest")}>
          {edges.map((edge, index) => (
            <BroadcastRow
              key={edge.node.id}
              broadcast={edge.node}
              before={index === 0 ? null : (edges[index - 1]?.cursor ?? null)}
              channel={organization.channels.find((c) => c.id === edge.node.channelId)}
              manager={manager}
              reload={load}
            />
          ))}
        </ul>
      </section>
      {manager && <Pace channels={organization.channels} onSaved={load} />}
      </div>
    </div>
  );
}

function BroadcastRow({
  broadcast,
  before,
  channel,
  manager,
  reload,
}: {
  broadcast: Broadcast;
  /** The cursor of the broadcast listed before it: its recipients are fetched as the one
   * page after it (the API has no `broadcast(id)`). */
  before: string | null;
  channel: Channel | undefined;
  manager: boolean;
  reload: () => Promise<void>;
}) {
  const { t, locale } = useI18n();
  const { api, notify } = useWorkspace();
  const status = useStatus();
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const label = t("broadcasts.named", {
    name: broadcast.templateName,
    date: moment(broadcast.createdAt, locale, ""),
  });

  const cancel = async () => {
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(CancelBroadcastDocument, { input: { broadcastId: broadcast.id } })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.cancelBroadcast;
    if (outcome?.__typename === "CancelBroadcastSuccess") notify(t("broadcasts.cancelledNotice"));
    else setError(refusal(outcome, result.error));
    await reload();
  };

  return (
    <li className="broadcast" data-testid="broadcast" aria-labelledby={`${id}-name`}>
      <div className="member">
        <span className="who">
          <strong id={`${id}-name`}>{label}</strong>
          <span className="muted small">
            {channel ? (channel.displayName ?? channel.phoneNumber) : broadcast.channelId} ·{" "}
            {t("broadcasts.rate", { rate: broadcast.ratePerSecond })}
          </span>
          <span className="small" data-testid="broadcast-status">
            {status("broadcasts.status", broadcast.status)}
            {broadcast.finishedAt &&
              ` · ${t("broadcasts.finished", { date: moment(broadcast.finishedAt, locale, "") })}`}
          </span>
          <span className="small">{broadcast.body}</span>
        </span>
        {manager && broadcast.status === "SENDING" && (
          <ConfirmButton
            label={t("broadcasts.cancel")}
            name={t("broadcasts.cancelName", { name: label })}
            question={t("broadcasts.cancelQuestion")}
            confirmLabel={t("broadcasts.cancelConfirm")}
            disabled={busy}
            onConfirm={cancel}
          />
        )}
      </div>
      <dl className="broadcast-counts" role="group" aria-label={t("broadcasts.summary", { name: label })}>
        {COUNTS.map((count) => (
          <div key={count} data-testid={`count-${count}`}>
            <dt>{t(`broadcasts.count.${count}`)}</dt>
            <dd>{broadcast[count]}</dd>
          </div>
        ))}
      </dl>
      <FormError message={error} />
      <button
        type="button"
        aria-expanded={open}
        aria-label={t(open ? "broadcasts.hideRecipientsOf" : "broadcasts.recipientsOf", { name: label })}
        onClick={() => setOpen(!open)}
      >
        {t(open ? "broadcasts.hideRecipients" : "broadcasts.recipients")}
      </button>
      {open && <Recipients broadcast={broadcast} before={before} />}
    </li>
  );
}

function Recipients({ broadcast, before }: { broadcast: Broadcast; before: string | null }) {
  const { t, locale } = useI18n();
  const { api, organizationId } = useWorkspace();
  const status = useStatus();
  const [recipients, setRecipients] = useState<Recipient[] | null>(null);
  const [next, setNext] = useState<string | null>(null);

  const fetchPage = useCallback(
    async (after: string | null) => {
      const result = await api.client
        .query(
          BroadcastRecipientsDocument,
          { org: organizationId, before, after },
          { requestPolicy: "network-only" },
        )
        .toPromise();
      const node = result.data?.organization?.broadcasts.edges[0]?.node;
      if (!node || node.id !== broadcast.id) return null;
      return node.recipients;
    },
    [api, organizationId, before, broadcast.id],
  );

  // Fetched again as the summary changes (every second while it sends).
  const summary = COUNTS.map((count) => broadcast[count]).join(",") + broadcast.status;
  useEffect(() => {
    void fetchPage(null).then((page) => {
      if (!page) return;
      setRecipients(page.edges.map((edge) => edge.node));
      setNext(page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
    });
  }, [fetchPage, summary]);

  const more = async () => {
    const page = await fetchPage(next);
    if (!page) return;
    setRecipients((shown) => [...(shown ?? []), ...page.edges.map((edge) => edge.node)]);
    setNext(page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
  };

  if (!recipients) return <Loading />;
  return (
    <table className="deliveries recipients">
      <caption className="visually-hidden">{t("broadcasts.recipients")}</caption>
      <thead>
        <tr>
          <th scope="col">{t("broadcasts.contact")}</th>
          <th scope="col">{t("broadcasts.recipientStatus")}</th>
          <th scope="col">{t("broadcasts.reason")}</th>
          <th scope="col">{t("broadcasts.handledAt")}</th>
        </tr>
      </thead>
      <tbody>
        {recipients.map((recipient) => (
          <tr key={recipient.contactId} data-testid="recipient">
            <td>
              {recipient.conversationId ? (
                <a
                  href={conversationPath(recipient.conversationId)}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(conversationPath(recipient.conversationId ?? ""));
                  }}
                >
                  {recipient.contactName}
                </a>
              ) : (
                recipient.contactName
              )}
              {recipient.contactName !== recipient.contactPhoneNumber && (
                <span className="muted"> {recipient.contactPhoneNumber}</span>
              )}
            </td>
            <td>{status("broadcasts.recipientStatus", recipient.status)}</td>
            <td>{recipient.reason ? reasonText(recipient.reason, t) : ""}</td>
            <td>{moment(recipient.handledAt, locale, "—")}</td>
          </tr>
        ))}
      </tbody>
      {next && (
        <tfoot>
          <tr>
            <td colSpan={4}>
              <button type="button" onClick={() => void more()}>
                {t("broadcasts.moreRecipients")}
              </button>
            </td>
          </tr>
        </tfoot>
      )}
    </table>
  );
}

/** The API's reason codes in words; a Twilio error code or a sentence as it comes. */
function reasonText(reason: string, t: (key: MessageKey) => string): string {
  return (t(`broadcasts.reason.${reason}` as MessageKey) as string | undefined) ?? reason;
}

function NewBroadcast({ channels, onCreated }: { channels: Channel[]; onCreated: () => Promise<void> }) {
  const { t } = useI18n();
  const { api, notify } = useWorkspace();
  const usable = channels.filter((channel) => channel.enabled);
  const [channelId, setChannelId] = useState(usable[0]?.id ?? "");
  const channel = usable.find((candidate) => candidate.id === channelId);
  const [templateId, setTemplateId] = useState("");
  const template = channel?.templates.find((candidate) => candidate.id === templateId);
  const [values, setValues] = useState<Record<string, string>>({});
  const [tag, setTag] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (!template) return;
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(CreateBroadcastDocument, {
        input: {
          channelId,
          templateId: template.id,
          tag: tag.trim(),
          variables: template.variables.map((variable) => ({
            key: variable.key,
            value: values[variable.key]?.trim() ?? "",
          })),
        },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.createBroadcast;
    if (outcome?.__typename === "CreateBroadcastSuccess") {
      notify(t("broadcasts.created", { count: outcome.broadcast.total }));
      setTag("");
      setValues({});
      await onCreated();
    } else {
      setError(refusal(outcome, result.error));
    }
  };

  return (
    <section aria-labelledby="broadcast-new-title">
      <h2 id="broadcast-new-title">{t("broadcasts.new")}</h2>
      <form onSubmit={(event) => void create(event)}>
        <fieldset disabled={busy}>
          <legend className="visually-hidden">{t("broadcasts.new")}</legend>
          <div className="row">
            <div className="field">
              <label htmlFor="broadcast-channel">{t("broadcasts.channel")}</label>
              <select
                id="broadcast-channel"
                value={channelId}
                onChange={(event) => {
                  setChannelId(event.target.value);
                  setTemplateId("");
                }}
              >
                {usable.map((candidate) => (
                  <option key={candidate.id} value={candidate.id}>
                    {candidate.displayName ?? candidate.phoneNumber}
                  </option>
                ))}
              </select>
            </div>
            <div className="field grow">
              <label htmlFor="broadcast-template">{t("broadcasts.template")}</label>
              <select
                id="broadcast-template"
                required
                value={templateId}
                onChange={(event) => {
                  setTemplateId(event.target.value);
                  setValues({});
                }}
              >
                <option value="">{t("broadcasts.pickTemplate")}</option>
                {channel?.templates.map((candidate) => (
                  <option key={candidate.id} value={candidate.id}>
                    {`${candidate.name} (${candidate.language})`}
                  </option>
                ))}
              </select>
            </div>
          </div>
          {channel && channel.templates.length === 0 && (
            <p className="muted small">{t("broadcasts.noTemplates")}</p>
          )}
          {template?.variables.map((variable) => (
            <div className="field" key={variable.key}>
              <label htmlFor={`broadcast-var-${variable.key}`}>{variable.name}</label>
              <input
                id={`broadcast-var-${variable.key}`}
                required
                value={values[variable.key] ?? ""}
                onChange={(event) => setValues({ ...values, [variable.key]: event.target.value })}
              />
            </div>
          ))}
          {template && (
            <p className="template-preview" aria-label={t("broadcasts.preview")}>
              {preview(template, values)}
            </p>
          )}
          <div className="field">
            <label htmlFor="broadcast-tag">{t("broadcasts.tag")}</label>
            <input
              id="broadcast-tag"
              required
              aria-describedby="broadcast-tag-help"
              value={tag}
              onChange={(event) => setTag(event.target.value)}
            />
            <span id="broadcast-tag-help" className="muted small">
              {t("broadcasts.tagHelp")}
            </span>
          </div>
          <button type="submit" className="primary">
            {t("broadcasts.send")}
          </button>
        </fieldset>
      </form>
      <FormError message={error} />
    </section>
  );
}

/** Each channel's pace: messages a second (empty for Twilio's default). */
function Pace({ channels, onSaved }: { channels: Channel[]; onSaved: () => Promise<void> }) {
  const { t } = useI18n();
  return (
    <section aria-labelledby="broadcast-pace-title">
      <h2 id="broadcast-pace-title">{t("broadcasts.pace")}</h2>
      <p className="muted small">{t("broadcasts.paceHelp")}</p>
      <ul className="rows">
        {channels.map((channel) => (
          <PaceRow key={channel.id} channel={channel} onSaved={onSaved} />
        ))}
      </ul>
    </section>
  );
}

function PaceRow({ channel, onSaved }: { channel: Channel; onSaved: () => Promise<void> }) {
  const { t } = useI18n();
  const { api, notify } = useWorkspace();
  const [rate, setRate] = useState(String(channel.broadcastRatePerSecond));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const name = channel.displayName ?? channel.phoneNumber;
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const value = rate.trim() === "" ? null : Number(rate.replace(",", "."));
    const result = await api.client
      .mutation(SetChannelBroadcastRateDocument, {
        input: { channelId: channel.id, broadcastRatePerSecond: value },
      })
      .toPromise();
    setBusy(false);
    const message = refusal(result.data?.setChannelBroadcastRate, result.error);
    if (message) setError(message);
    else {
      notify(t("settings.saved"));
      await onSaved();
    }
  };
  return (
    <li>
      <form className="row" onSubmit={(event) => void save(event)}>
        <div className="field grow">
          <label htmlFor={`pace-${channel.id}`}>{t("broadcasts.rateOf", { name })}</label>
          <input
            id={`pace-${channel.id}`}
            inputMode="decimal"
            value={rate}
            disabled={busy}
            onChange={(event) => setRate(event.target.value)}
          />
        </div>
        <button type="submit" disabled={busy} aria-label={t("broadcasts.saveRateOf", { name })}>
          {t("settings.save")}
        </button>
      </form>
      <FormError message={error} />
    </li>
  );
}
