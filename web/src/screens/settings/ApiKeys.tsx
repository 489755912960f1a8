// API keys: the organization's credentials for its own systems. Owners and admins list,
// create (the secret shown once) and revoke them; the API lists none to agents.
import { useCallback, useEffect, useState } from "react";
import type { FormEvent } from "react";
import { ApiKeysDocument, CreateApiKeyDocument, RevokeApiKeyDocument } from "../../api/operations";
import { useWorkspace } from "../../context";
import type { ApiKeyFieldsFragment, MembershipRole } from "../../gql/graphql";
import { useI18n } from "../../i18n";
import { ConfirmButton, FormError, Loading, SecretOnce, canManage, moment, refusal } from "./common";

const ROLES: MembershipRole[] = ["AGENT", "ADMIN", "OWNER"];

export function ApiKeysSettings() {
  const { t, locale } = useI18n();
  const { api, organizationId, role, notify } = useWorkspace();
  const [keys, setKeys] = useState<ApiKeyFieldsFragment[] | null>(null);
  const [name, setName] = useState("");
  const [keyRole, setKeyRole] = useState<MembershipRole>("AGENT");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const manager = canManage(role);

  const load = useCallback(async () => {
    const result = await api.client
      .query(ApiKeysDocument, { organizationId }, { requestPolicy: "network-only" })
      .toPromise();
    if (result.data?.organization) setKeys(result.data.organization.apiKeys);
  }, [api, organizationId]);
  useEffect(() => {
    if (manager) void load();
  }, [load, manager]);

  if (!manager) return <p className="notice">{t("apiKeys.managersOnly")}</p>;
  if (!keys) return <Loading />;

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(CreateApiKeyDocument, {
        input: { organizationId, name: name.trim(), role: keyRole },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.createApiKey;
    if (outcome?.__typename === "CreateApiKeySuccess") {
      setCreated({ name: outcome.apiKey.name, secret: outcome.secret });
      setName("");
      await load();
    } else {
      setError(refusal(outcome, result.error));
    }
  };

  const revoke = async (key: ApiKeyFieldsFragment) => {
    setBusy(true);
    const result = await api.client
      .mutation(RevokeApiKeyDocument, { input: { apiKeyId: key.id } })
      .toPromise();
    setBusy(false);
    const message = refusal(result.data?.revokeApiKey, result.error);
    if (message) notify(message, "error");
    else notify(t("apiKeys.revoked", { name: key.name }));
    await load();
  };

  return (
    <div className="settings-form">
      <p className="muted">{t("apiKeys.intro")}</p>
      {created && (
        <SecretOnce
          title={t("apiKeys.created", { name: created.name })}
          secret={created.secret}
          onDone={() => setCreated(null)}
        />
      )}
      <section aria-labelledby="api-keys-title">
        <h2 id="api-keys-title">{t("apiKeys.title")}</h2>
        {keys.length === 0 && <p className="muted">{t("apiKeys.none")}</p>}
        <ul className="rows">
          {keys.map((key) => (
            <li key={key.id} className="member" data-revoked={key.revokedAt ? "" : undefined}>
              <span className="who">
                <strong>{key.name}</strong>
                <span className="muted small">
                  {t(`role.${key.role}`)} · <code>{key.prefix}…</code>
                </span>
                <span className="muted small">
                  {t("apiKeys.createdAt", { date: moment(key.createdAt, locale, "") })}
                  {key.createdBy && ` · ${key.createdBy.fullName}`} ·{" "}
                  {t("apiKeys.lastUsed", {
                    date: moment(key.lastUsedAt, locale, t("apiKeys.never")),
                  })}
                </span>
                {key.revokedAt && (
                  <span className="small status-off">
                    {t("apiKeys.revokedAt", { date: moment(key.revokedAt, locale, "") })}
                  </span>
                )}
              </span>
              {!key.revokedAt && (role === "OWNER" || key.role !== "OWNER") && (
                <ConfirmButton
                  label={t("apiKeys.revoke")}
                  name={t("apiKeys.revokeName", { name: key.name })}
                  question={t("apiKeys.revokeQuestion", { name: key.name })}
                  confirmLabel={t("apiKeys.revokeConfirm")}
                  disabled={busy}
                  onConfirm={() => revoke(key)}
                />
              )}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="api-key-new-title">
        <h2 id="api-key-new-title">{t("apiKeys.new")}</h2>
        <form className="row" onSubmit={(event) => void create(event)}>
          <div className="field grow">
            <label htmlFor="api-key-name">{t("apiKeys.name")}</label>
            <input
              id="api-key-name"
              required
              maxLength={100}
              value={name}
              onChange={(event) => setName(event.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="api-key-role">{t("apiKeys.role")}</label>
            <select
              id="api-key-role"
              value={keyRole}
              onChange={(event) => setKeyRole(event.target.value as MembershipRole)}
            >
              {ROLES.filter((option) => role === "OWNER" || option !== "OWNER").map((option) => (
                <option key={option} value={option}>
                  {t(`role.${option}`)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="primary" disabled={busy}>
            {t("apiKeys.create")}
          </button>
        </form>
        <FormError message={error} />
      </section>
    </div>
  );
}
