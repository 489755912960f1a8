// Settings: the assistant (updateAgent), the team (members, roles, invitations), the
// channels, the knowledge base, API keys and outgoing webhooks (./settings/). Only owners
// and admins change them (the API decides; controls a member cannot use are hidden or
// disabled, and the API's refusals are shown in words).
import { useCallback, useEffect, useState } from "react";
import type { FormEvent, ReactNode } from "react";
import {
  AgentDocument,
  InviteMemberDocument,
  RemoveMemberDocument,
  RevokeInvitationDocument,
  TeamDocument,
  UpdateAgentDocument,
  UpdateMemberRoleDocument,
} from "../api/operations";
import { useWorkspace } from "../context";
import { fullMoment } from "../format";
import type { AgentFieldsFragment, MembershipRole, TeamQuery } from "../gql/graphql";
import { LanguageSelect, useI18n } from "../i18n";
import type { MessageKey } from "../i18n/pt-BR";
import { followLink } from "../router";
import type { SettingsSection } from "../router";
import { ApiKeysSettings } from "./settings/ApiKeys";
import { ChannelsSettings } from "./settings/Channels";
import { KnowledgeSettings } from "./settings/Knowledge";
import { WebhooksSettings } from "./settings/Webhooks";
import { canManage } from "./settings/common";

const ROLES: MembershipRole[] = ["OWNER", "ADMIN", "AGENT"];

const SECTIONS: Record<SettingsSection, { label: MessageKey; Screen: () => ReactNode }> = {
  assistant: { label: "settings.assistant", Screen: AssistantSettings },
  team: { label: "settings.team", Screen: TeamSettings },
  channels: { label: "settings.channels", Screen: ChannelsSettings },
  knowledge: { label: "settings.knowledge", Screen: KnowledgeSettings },
  "api-keys": { label: "settings.apiKeys", Screen: ApiKeysSettings },
  webhooks: { label: "settings.webhooks", Screen: WebhooksSettings },
};

export function Settings({ section }: { section: SettingsSection }) {
  const { t } = useI18n();
  useEffect(() => {
    document.title = `${t("settings.title")} · ${t("app.name")}`;
  }, [t]);
  const tabs = (Object.keys(SECTIONS) as SettingsSection[]).map((id) => ({
    id,
    label: SECTIONS[id].label,
    path: `/settings/${id}`,
  }));
  const { Screen } = SECTIONS[section];
  return (
    <div className="settings">
      <h1>{t("settings.title")}</h1>
      <nav aria-label={t("settings.sections")} className="settings-tabs">
        {tabs.map((tab) => (
          <a
            key={tab.id}
            href={tab.path}
            className="chip"
            aria-current={section === tab.id ? "page" : undefined}
            onClick={(event) => followLink(event, tab.path)}
          >
            {t(tab.label)}
          </a>
        ))}
      </nav>
      <div className="settings-language">
        <LanguageSelect showLabel />
      </div>
      <Screen key={section} />
    </div>
  );
}

interface AgentForm {
  aiEnabled: boolean;
  name: string;
  systemPrompt: string;
  model: string;
  temperature: string;
  debounceSeconds: string;
  fallbackMessage: string;
  handoffMessage: string;
  inactivityHours: string;
  followUpMessage: string;
  followUpAfterMinutes: string;
  knowledgeEnabled: boolean;
  knowledgePassages: string;
  answerOnlyFromKnowledge: boolean;
  visionEnabled: boolean;
}

function formOf(agent: AgentFieldsFragment): AgentForm {
  return {
    aiEnabled: agent.aiEnabled,
    name: agent.name,
    systemPrompt: agent.systemPrompt,
    model: agent.model,
    temperature: String(agent.temperature),
    debounceSeconds: String(agent.debounceSeconds),
    fallbackMessage: agent.fallbackMessage,
    handoffMessage: agent.handoffMessage,
    inactivityHours: String(agent.inactivityHours),
    followUpMessage: agent.followUpMessage ?? "",
    followUpAfterMinutes: agent.followUpAfterMinutes ? String(agent.followUpAfterMinutes) : "",
    knowledgeEnabled: agent.knowledgeEnabled,
    knowledgePassages: String(agent.knowledgePassages),
    answerOnlyFromKnowledge: agent.answerOnlyFromKnowledge,
    visionEnabled: agent.visionEnabled,
  };
}

function AssistantSettings() {
  const { t } = useI18n();
  const { api, organizationId, role, notify } = useWorkspace();
  const [form, setForm] = useState<AgentForm | null>(null);
  const [busy, setBusy] = useState(false);
  const [invalid, setInvalid] = useState<{ field: string; message: string } | null>(null);
  const readOnly = !canManage(role);

  useEffect(() => {
    void api.client
      .query(AgentDocument, { organizationId })
      .toPromise()
      .then((result) => {
        if (result.data?.agent) setForm(formOf(result.data.agent));
      });
  }, [api, organizationId]);

  if (!form) {
    return (
      <p className="loading" role="status">
        {t("status.loading")}
      </p>
    );
  }
  const set = (change: Partial<AgentForm>) => setForm({ ...form, ...change });
  const followUp = form.followUpMessage.trim();

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setInvalid(null);
    const result = await api.client
      .mutation(UpdateAgentDocument, {
        input: {
          organizationId,
          aiEnabled: form.aiEnabled,
          name: form.name,
          systemPrompt: form.systemPrompt,
          model: form.model.trim(),
          temperature: Number(form.temperature),
          debounceSeconds: Number(form.debounceSeconds),
          fallbackMessage: form.fallbackMessage,
          handoffMessage: form.handoffMessage,
          inactivityHours: Number(form.inactivityHours),
          followUpMessage: followUp || null,
          followUpAfterMinutes: followUp ? Number(form.followUpAfterMinutes) : null,
          knowledgeEnabled: form.knowledgeEnabled,
          knowledgePassages: Number(form.knowledgePassages),
          answerOnlyFromKnowledge: form.answerOnlyFromKnowledge,
          visionEnabled: form.visionEnabled,
        },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.updateAgent;
    if (outcome?.__typename === "UpdateAgentSuccess") {
      setForm(formOf(outcome.agent));
      notify(t("settings.saved"));
    } else if (outcome?.__typename === "ValidationError") {
      setInvalid({ field: outcome.field, message: outcome.message });
    } else {
      notify(outcome ? outcome.message : (result.error?.message ?? "?"), "error");
    }
  };

  const field = (name: keyof AgentForm, label: MessageKey, input: ReactNode) => (
    <div className="field">
      <label htmlFor={`agent-${name}`}>{t(label)}</label>
      {input}
      {invalid?.field === name && (
        <span className="field-error" id={`agent-${name}-error`}>
          {invalid.message}
        </span>
      )}
    </div>
  );
  const errorOf = (name: keyof AgentForm) =>
    invalid?.field === name
      ? { "aria-invalid": true, "aria-describedby": `agent-${name}-error` }
      : {};
  const text = (name: keyof AgentForm, label: MessageKey, type = "text", extra = {}) =>
    field(
      name,
      label,
      <input
        id={`agent-${name}`}
        type={type}
        value={String(form[name])}
        onChange={(event) => set({ [name]: event.target.value })}
        {...errorOf(name)}
        {...extra}
      />,
    );
  const area = (name: keyof AgentForm, label: MessageKey, rows: number) =>
    field(
      name,
      label,
      <textarea
        id={`agent-${name}`}
        rows={rows}
        value={String(form[name])}
        onChange={(event) => set({ [name]: event.target.value })}
        {...errorOf(name)}
      />,
    );
  const check = (name: keyof AgentForm, label: MessageKey) => (
    <label className="check">
      <input
        type="checkbox"
        checked={Boolean(form[name])}
        onChange={(event) => set({ [name]: event.target.checked })}
      />
      {t(label)}
    </label>
  );

  return (
    <form className="settings-form" onSubmit={(event) => void save(event)}>
      {readOnly && <p className="notice">{t("settings.readOnly")}</p>}
      {invalid && (
        <p className="notice error" role="alert">
          {invalid.message}
        </p>
      )}
      <fieldset disabled={readOnly || busy}>
        <legend className="visually-hidden">{t("settings.assistant")}</legend>
        {check("aiEnabled", "agent.aiEnabled")}
        {text("name", "agent.name")}
        {area("systemPrompt", "agent.systemPrompt", 8)}
        <div className="row">
          {text("model", "agent.model")}
          {check("visionEnabled", "agent.visionEnabled")}
          {text("temperature", "agent.temperature", "number", { min: 0, max: 2, step: 0.01 })}
          {text("debounceSeconds", "agent.debounceSeconds", "number", { min: 0, max: 120 })}
          {text("inactivityHours", "agent.inactivityHours", "number", { min: 1, max: 720 })}
        </div>
        {area("fallbackMessage", "agent.fallbackMessage", 2)}
        {area("handoffMessage", "agent.handoffMessage", 2)}
        <fieldset>
          <legend>{t("agent.followUp")}</legend>
          {area("followUpMessage", "agent.followUpMessage", 2)}
          {text("followUpAfterMinutes", "agent.followUpAfterMinutes", "number", {
            min: 5,
            max: 1380,
            required: Boolean(followUp),
            disabled: !followUp,
          })}
        </fieldset>
        <fieldset>
          <legend>{t("agent.knowledge")}</legend>
          {check("knowledgeEnabled", "agent.knowledgeEnabled")}
          {text("knowledgePassages", "agent.knowledgePassages", "number", { min: 1, max: 10 })}
          {check("answerOnlyFromKnowledge", "agent.answerOnlyFromKnowledge")}
        </fieldset>
        <button type="submit" className="primary">
          {busy ? t("settings.saving") : t("settings.save")}
        </button>
      </fieldset>
    </form>
  );
}

type Team = NonNullable<TeamQuery["organization"]>;

function TeamSettings() {
  const { t, locale } = useI18n();
  const { api, organizationId, me, role, notify } = useWorkspace();
  const [team, setTeam] = useState<Team | null>(null);
  const [email, setEmail] = useState("");
  const [inviteRole, setInviteRole] = useState<MembershipRole>("AGENT");
  const [busy, setBusy] = useState(false);
  const manager = canManage(role);

  const load = useCallback(async () => {
    const result = await api.client.query(TeamDocument, { organizationId }).toPromise();
    if (result.data?.organization) setTeam(result.data.organization);
  }, [api, organizationId]);
  useEffect(() => {
    void load();
  }, [load]);

  /** Run a mutation whose refusals carry a message; reload the team after. */
  const run = async (
    work: () => Promise<{ __typename?: string; message?: string } | undefined>,
    done?: string,
  ) => {
    setBusy(true);
    const outcome = await work();
    setBusy(false);
    if (outcome && "message" in outcome && outcome.message) notify(outcome.message, "error");
    else if (outcome && done) notify(done);
    await load();
    return Boolean(outcome && !("message" in outcome && outcome.message));
  };

  const invite = async (event: FormEvent) => {
    event.preventDefault();
    const address = email.trim();
    const ok = await run(
      async () =>
        (
          await api.client
            .mutation(InviteMemberDocument, {
              input: { organizationId, email: address, role: inviteRole },
            })
            .toPromise()
        ).data?.inviteMember,
      t("team.invited", { email: address }),
    );
    if (ok) setEmail("");
  };

  if (!team) {
    return (
      <p className="loading" role="status">
        {t("status.loading")}
      </p>
    );
  }
  return (
    <div className="settings-form">
      {!manager && <p className="notice">{t("settings.readOnly")}</p>}
      <section aria-labelledby="members-title">
        <h2 id="members-title">{t("team.members")}</h2>
        <ul className="rows">
          {team.members.map((member) => (
            <li key={member.id} className="member">
              <span className="who">
                <strong>{member.user.fullName}</strong>{" "}
                {member.user.id === me.id && <span className="muted">{t("team.you")}</span>}
                <span className="muted small">{member.user.email}</span>
              </span>
              <select
                aria-label={t("team.role", { name: member.user.fullName })}
                value={member.role}
                disabled={!manager || busy}
                onChange={(event) =>
                  void run(
                    async () =>
                      (
                        await api.client
                          .mutation(UpdateMemberRoleDocument, {
                            input: {
                              organizationId,
                              userId: member.user.id,
                              role: event.target.value as MembershipRole,
                            },
                          })
                          .toPromise()
                      ).data?.updateMemberRole,
                  )
                }
              >
                {ROLES.map((option) => (
                  <option key={option} value={option}>
                    {t(`role.${option}`)}
                  </option>
                ))}
              </select>
              {manager && member.user.id !== me.id && (
                <button
                  type="button"
                  disabled={busy}
                  onClick={() =>
                    void run(
                      async () =>
                        (
                          await api.client
                            .mutation(RemoveMemberDocument, {
                              input: { organizationId, userId: member.user.id },
                            })
                            .toPromise()
                        ).data?.removeMember,
                    )
                  }
                >
                  <span aria-hidden="true">✕</span>
                  <span className="visually-hidden">
                    {t("team.remove", { name: member.user.fullName })}
                  </span>
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
      {manager && (
        <section aria-labelledby="invite-title">
          <h2 id="invite-title">{t("team.invite")}</h2>
          <form className="row" onSubmit={(event) => void invite(event)}>
            <div className="field grow">
              <label htmlFor="invite-email">{t("team.inviteEmail")}</label>
              <input
                id="invite-email"
                type="email"
                required
                value={email}
                onChange={(event) => setEmail(event.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor="invite-role">{t("team.inviteRole")}</label>
              <select
                id="invite-role"
                value={inviteRole}
                onChange={(event) => setInviteRole(event.target.value as MembershipRole)}
              >
                {ROLES.filter((option) => role === "OWNER" || option !== "OWNER").map((option) => (
                  <option key={option} value={option}>
                    {t(`role.${option}`)}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" className="primary" disabled={busy}>
              {t("team.sendInvite")}
            </button>
          </form>
        </section>
      )}
      {manager && (
        <section aria-labelledby="invitations-title">
          <h2 id="invitations-title">{t("team.invitations")}</h2>
          {team.invitations.length === 0 && <p className="muted">{t("team.noInvitations")}</p>}
          <ul className="rows">
            {team.invitations.map((invitation) => (
              <li key={invitation.id} className="member">
                <span className="who">
                  <strong>{invitation.email}</strong>
                  <span className="muted small">
                    {t(`role.${invitation.role}`)} · {t(`invitation.${invitation.status}`)}
                    {invitation.status === "PENDING" &&
                      ` · ${t("team.expires", { date: fullMoment(invitation.expiresAt, locale) })}`}
                  </span>
                </span>
                {invitation.status === "PENDING" && (
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() =>
                      void run(
                        async () =>
                          (
                            await api.client
                              .mutation(RevokeInvitationDocument, {
                                input: { invitationId: invitation.id },
                              })
                              .toPromise()
                          ).data?.revokeInvitation,
                      )
                    }
                  >
                    <span aria-hidden="true">✕</span>
                    <span className="visually-hidden">
                      {t("team.revoke", { email: invitation.email })}
                    </span>
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
