// Channels: the business's Twilio numbers. Every member reads them; owners and admins
// add one, rename it, give it new Twilio credentials (confirmed with Twilio first: its
// refusal is shown in words) and switch it off and on. Under each, its templates.
import { useCallback, useEffect, useState } from "react";
import type { FormEvent } from "react";
import { ChannelsDocument, CreateChannelDocument, UpdateChannelDocument } from "../../api/operations";
import { useWorkspace } from "../../context";
import type { ChannelKind, ChannelsQuery } from "../../gql/graphql";
import { useI18n } from "../../i18n";
import { ChannelTemplates } from "./ChannelTemplates";
import { FormError, Loading, canManage, moment, refusal } from "./common";

type Channel = NonNullable<ChannelsQuery["organization"]>["channels"][number];
const KINDS: ChannelKind[] = ["WHATSAPP", "SMS"];

export function ChannelsSettings() {
  const { t } = useI18n();
  const { api, organizationId, role } = useWorkspace();
  const [channels, setChannels] = useState<Channel[] | null>(null);
  const manager = canManage(role);

  const load = useCallback(async () => {
    const result = await api.client
      .query(ChannelsDocument, { organizationId }, { requestPolicy: "network-only" })
      .toPromise();
    if (result.data?.organization) setChannels(result.data.organization.channels);
  }, [api, organizationId]);
  useEffect(() => {
    void load();
  }, [load]);

  if (!channels) return <Loading />;
  return (
    <div className="settings-form">
      {!manager && <p className="notice">{t("settings.readOnly")}</p>}
      <section aria-labelledby="channels-title">
        <h2 id="channels-title">{t("channels.title")}</h2>
        {channels.length === 0 && <p className="muted">{t("channels.none")}</p>}
        <ul className="rows">
          {channels.map((channel) => (
            <ChannelRow key={channel.id} channel={channel} manager={manager} reload={load} />
          ))}
        </ul>
      </section>
      {manager && <AddChannel onAdded={load} />}
    </div>
  );
}

function ChannelRow({
  channel,
  manager,
  reload,
}: {
  channel: Channel;
  manager: boolean;
  reload: () => Promise<void>;
}) {
  const { t, locale } = useI18n();
  const { api, notify } = useWorkspace();
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [displayName, setDisplayName] = useState(channel.displayName ?? "");
  const [accountSid, setAccountSid] = useState("");
  const [authToken, setAuthToken] = useState("");
  const label = channel.displayName ?? channel.phoneNumber;

  const update = async (input: {
    displayName?: string | null;
    twilioAccountSid?: string;
    twilioAuthToken?: string;
    enabled?: boolean;
  }) => {
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(UpdateChannelDocument, { input: { channelId: channel.id, ...input } })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.updateChannel;
    const message = refusal(outcome, result.error);
    await reload();
    if (message) {
      setError(message);
      return false;
    }
    notify(t("settings.saved"));
    return true;
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const ok = await update({
      displayName: displayName.trim() || null,
      ...(accountSid.trim() ? { twilioAccountSid: accountSid.trim() } : {}),
      ...(authToken ? { twilioAuthToken: authToken } : {}),
    });
    if (ok) {
      setEditing(false);
      setAccountSid("");
      setAuthToken("");
    }
  };

  const prefix = `channel-${channel.id}`;
  return (
    <li className="channel">
      <div className="member">
        <span className="who">
          <strong>{channel.phoneNumber}</strong>
          <span className="muted small">
            {t(`channels.kind.${channel.kind}`)}
            {channel.displayName && ` · ${channel.displayName}`} · {channel.twilioAccountSid}
          </span>
          <span className={`small ${channel.enabled ? "status-on" : "status-off"}`}>
            {channel.enabled ? t("channels.on") : t("channels.off")} ·{" "}
            <span className="muted">
              {t("channels.since", { date: moment(channel.createdAt, locale, "") })}
            </span>
          </span>
        </span>
        {manager && !editing && (
          <>
            <button
              type="button"
              disabled={busy}
              aria-label={t("channels.editName", { name: label })}
              onClick={() => setEditing(true)}
            >
              {t("channels.edit")}
            </button>
            <button
              type="button"
              disabled={busy}
              aria-label={t(channel.enabled ? "channels.disableName" : "channels.enableName", {
                name: label,
              })}
              onClick={() => void update({ enabled: !channel.enabled })}
            >
              {t(channel.enabled ? "channels.disable" : "channels.enable")}
            </button>
          </>
        )}
      </div>
      {!editing && <FormError message={error} />}
      {editing && (
        <form className="edit-panel" onSubmit={(event) => void save(event)}>
          <fieldset disabled={busy}>
            <legend className="visually-hidden">{t("channels.editName", { name: label })}</legend>
            <div className="field">
              <label htmlFor={`${prefix}-name`}>{t("channels.displayName")}</label>
              <input
                id={`${prefix}-name`}
                maxLength={120}
                value={displayName}
                onChange={(event) => setDisplayName(event.target.value)}
              />
            </div>
            <p className="muted small">{t("channels.credentialsHelp")}</p>
            <div className="row">
              <div className="field grow">
                <label htmlFor={`${prefix}-sid`}>{t("channels.accountSid")}</label>
                <input
                  id={`${prefix}-sid`}
                  placeholder={channel.twilioAccountSid}
                  autoComplete="off"
                  value={accountSid}
                  onChange={(event) => setAccountSid(event.target.value)}
                />
              </div>
              <div className="field grow">
                <label htmlFor={`${prefix}-token`}>{t("channels.authToken")}</label>
                <input
                  id={`${prefix}-token`}
                  type="password"
                  autoComplete="off"
                  required={Boolean(accountSid.trim())}
                  value={authToken}
                  onChange={(event) => setAuthToken(event.target.value)}
                />
              </div>
            </div>
            <div className="row">
              <button type="submit" className="primary">
                {t("settings.save")}
              </button>
              <button type="button" onClick={() => setEditing(false)}>
                {t("confirm.cancel")}
              </button>
            </div>
          </fieldset>
          <FormError message={error} />
        </form>
      )}
      <ChannelTemplates
        channelId={channel.id}
        label={label}
        templates={channel.templates}
        manager={manager}
        reload={reload}
      />
    </li>
  );
}

function AddChannel({ onAdded }: { onAdded: () => Promise<void> }) {
  const { t } = useI18n();
  const { api, organizationId, notify } = useWorkspace();
  const [kind, setKind] = useState<ChannelKind>("WHATSAPP");
  const [phoneNumber, setPhoneNumber] = useState("");
  const [accountSid, setAccountSid] = useState("");
  const [authToken, setAuthToken] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(CreateChannelDocument, {
        input: {
          organizationId,
          kind,
          phoneNumber: phoneNumber.trim(),
          twilioAccountSid: accountSid.trim(),
          twilioAuthToken: authToken,
          displayName: displayName.trim() || null,
        },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.createChannel;
    if (outcome?.__typename === "CreateChannelSuccess") {
      notify(t("channels.added", { number: outcome.channel.phoneNumber }));
      setPhoneNumber("");
      setAccountSid("");
      setAuthToken("");
      setDisplayName("");
      await onAdded();
    } else {
      setError(refusal(outcome, result.error));
    }
  };

  return (
    <section aria-labelledby="channel-new-title">
      <h2 id="channel-new-title">{t("channels.new")}</h2>
      <form onSubmit={(event) => void create(event)}>
        <fieldset disabled={busy}>
          <legend className="visually-hidden">{t("channels.new")}</legend>
          <div className="row">
            <div className="field">
              <label htmlFor="channel-kind">{t("channels.kind")}</label>
              <select
                id="channel-kind"
                value={kind}
                onChange={(event) => setKind(event.target.value as ChannelKind)}
              >
                {KINDS.map((option) => (
                  <option key={option} value={option}>
                    {t(`channels.kind.${option}`)}
                  </option>
                ))}
              </select>
            </div>
            <div className="field grow">
              <label htmlFor="channel-number">{t("channels.number")}</label>
              <input
                id="channel-number"
                type="tel"
                required
                placeholder="+55 11 98765-4321"
                value={phoneNumber}
                onChange={(event) => setPhoneNumber(event.target.value)}
              />
            </div>
          </div>
          <div className="row">
            <div className="field grow">
              <label htmlFor="channel-sid">{t("channels.accountSid")}</label>
              <input
                id="channel-sid"
                required
                autoComplete="off"
                placeholder="AC…"
                value={accountSid}
                onChange={(event) => setAccountSid(event.target.value)}
              />
            </div>
            <div className="field grow">
              <label htmlFor="channel-token">{t("channels.authToken")}</label>
              <input
                id="channel-token"
                type="password"
                required
                autoComplete="off"
                value={authToken}
                onChange={(event) => setAuthToken(event.target.value)}
              />
            </div>
          </div>
          <div className="field">
            <label htmlFor="channel-display-name">{t("channels.displayName")}</label>
            <input
              id="channel-display-name"
              maxLength={120}
              value={displayName}
              onChange={(event) => setDisplayName(event.target.value)}
            />
          </div>
          <button type="submit" className="primary">
            {t("channels.add")}
          </button>
        </fieldset>
      </form>
      <FormError message={error} />
    </section>
  );
}
