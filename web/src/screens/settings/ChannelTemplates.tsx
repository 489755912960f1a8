// A channel's approved WhatsApp templates (Twilio Content API), listed under the channel
// for everyone: name, ContentSid, language, placeholders. Owners and admins add one
// (createChannelTemplate) and remove one (deleteChannelTemplate, asked first); the API's
// refusals (ValidationError, ChannelTemplateAlreadyExists, Forbidden...) are shown in
// words in the form they are about.
import { useId, useState } from "react";
import type { FormEvent } from "react";
import { CreateChannelTemplateDocument, DeleteChannelTemplateDocument } from "../../api/operations";
import { useWorkspace } from "../../context";
import type { ChannelTemplateFieldsFragment } from "../../gql/graphql";
import { useI18n } from "../../i18n";
import { ConfirmButton, FormError, refusal } from "./common";

type Template = ChannelTemplateFieldsFragment;

/** "1=Nome, 2=Data" as the API's placeholders; a bare "Nome" gets the next number as key. */
export function parsePlaceholders(text: string): { key: string; name: string }[] {
  return text
    .split(/[,\n]/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part, index) => {
      const at = part.indexOf("=");
      if (at < 0) return { key: String(index + 1), name: part };
      return { key: part.slice(0, at).trim(), name: part.slice(at + 1).trim() };
    });
}

export function ChannelTemplates({
  channelId,
  label,
  templates,
  manager,
  reload,
}: {
  channelId: string;
  label: string;
  templates: Template[];
  manager: boolean;
  reload: () => Promise<void>;
}) {
  const { t } = useI18n();
  const id = useId();
  const [adding, setAdding] = useState(false);
  return (
    <section className="templates" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{t("templates.title", { name: label })}</h3>
      {templates.length === 0 && <p className="muted small">{t("templates.none")}</p>}
      <ul className="rows" aria-label={t("templates.list", { name: label })}>
        {templates.map((template) => (
          <TemplateRow key={template.id} template={template} manager={manager} reload={reload} />
        ))}
      </ul>
      {manager && !adding && (
        <button
          type="button"
          aria-label={t("templates.addTo", { name: label })}
          onClick={() => setAdding(true)}
        >
          {t("templates.add")}
        </button>
      )}
      {manager && adding && (
        <AddTemplate
          channelId={channelId}
          label={label}
          onDone={async (added) => {
            if (added) await reload();
            setAdding(false);
          }}
        />
      )}
    </section>
  );
}

function TemplateRow({
  template,
  manager,
  reload,
}: {
  template: Template;
  manager: boolean;
  reload: () => Promise<void>;
}) {
  const { t } = useI18n();
  const { api, notify } = useWorkspace();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(DeleteChannelTemplateDocument, { input: { templateId: template.id } })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.deleteChannelTemplate;
    if (outcome?.__typename === "DeleteChannelTemplateSuccess") {
      notify(t("templates.removed", { name: template.name }));
      await reload();
    } else {
      setError(refusal(outcome, result.error));
    }
  };
  return (
    <li className="template" data-testid="template">
      <div className="member">
        <span className="who">
          <strong>{template.name}</strong>
          <span className="muted small">
            {template.language} · <code>{template.contentSid}</code>
          </span>
          <span className="muted small">
            {template.variables.length === 0
              ? t("templates.noPlaceholders")
              : t("templates.placeholders", {
                  list: template.variables.map((v) => `{{${v.key}}} ${v.name}`).join(", "),
                })}
          </span>
          {template.body && <span className="small">{template.body}</span>}
        </span>
        {manager && (
          <ConfirmButton
            label={t("templates.remove")}
            name={t("templates.removeName", { name: template.name })}
            question={t("templates.removeQuestion", { name: template.name })}
            confirmLabel={t("templates.removeConfirm")}
            disabled={busy}
            onConfirm={remove}
          />
        )}
      </div>
      <FormError message={error} />
    </li>
  );
}

function AddTemplate({
  channelId,
  label,
  onDone,
}: {
  channelId: string;
  label: string;
  onDone: (added: boolean) => Promise<void>;
}) {
  const { t } = useI18n();
  const { api, notify } = useWorkspace();
  const id = useId();
  const [name, setName] = useState("");
  const [contentSid, setContentSid] = useState("");
  const [language, setLanguage] = useState("pt_BR");
  const [placeholders, setPlaceholders] = useState("");
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(CreateChannelTemplateDocument, {
        input: {
          channelId,
          name: name.trim(),
          contentSid: contentSid.trim(),
          language: language.trim(),
          variables: parsePlaceholders(placeholders),
          body: body.trim() || null,
        },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.createChannelTemplate;
    if (outcome?.__typename === "ChannelTemplateSuccess") {
      notify(t("templates.added", { name: outcome.template.name }));
      await onDone(true);
    } else {
      setError(refusal(outcome, result.error));
    }
  };

  return (
    <form className="edit-panel" onSubmit={(event) => void create(event)}>
      <fieldset disabled={busy}>
        <legend>{t("templates.addTo", { name: label })}</legend>
        <div className="row">
          <div className="field grow">
            <label htmlFor={`${id}-name`}>{t("templates.name")}</label>
            <input
              id={`${id}-name`}
              required
              maxLength={100}
              value={name}
              onChange={(event) => setName(event.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-language`}>{t("templates.language")}</label>
            <input
              id={`${id}-language`}
              required
              size={8}
              value={language}
              onChange={(event) => setLanguage(event.target.value)}
            />
          </div>
        </div>
        <div className="field">
          <label htmlFor={`${id}-sid`}>{t("templates.contentSid")}</label>
          <input
            id={`${id}-sid`}
            required
            autoComplete="off"
            placeholder="HX…"
            value={contentSid}
            onChange={(event) => setContentSid(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-placeholders`}>{t("templates.placeholdersField")}</label>
          <input
            id={`${id}-placeholders`}
            aria-describedby={`${id}-placeholders-help`}
            placeholder="1=Nome, 2=Data"
            value={placeholders}
            onChange={(event) => setPlaceholders(event.target.value)}
          />
          <span id={`${id}-placeholders-help`} className="muted small">
            {t("templates.placeholdersHelp")}
          </span>
        </div>
        <div className="field">
          <label htmlFor={`${id}-body`}>{t("templates.body")}</label>
          <textarea
            id={`${id}-body`}
            rows={2}
            placeholder="Olá {{1}}…"
            value={body}
            onChange={(event) => setBody(event.target.value)}
          />
        </div>
        <div className="row">
          <button type="submit" className="primary">
            {t("templates.save")}
          </button>
          <button type="button" onClick={() => void onDone(false)}>
            {t("confirm.cancel")}
          </button>
        </div>
      </fieldset>
      <FormError message={error} />
    </form>
  );
}
