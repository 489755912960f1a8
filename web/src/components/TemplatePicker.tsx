import { useState } from "react";
import type { FormEvent } from "react";
import { SendTemplateDocument } from "../api/operations";
import { useWorkspace } from "../context";
import { useI18n } from "../i18n";

export interface Template {
  id: string;
  name: string;
  language: string;
  body?: string | null;
  variables: { key: string; name: string }[];
}

/** The body with each {{key}} replaced by what was typed for it (or its name). */
export function preview(template: Template, values: Record<string, string>): string {
  const body = template.body ?? template.name;
  return body.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (whole, key: string) => {
    const variable = template.variables.find((candidate) => candidate.key === key);
    const value = values[key]?.trim();
    return value || (variable ? `[${variable.name}]` : whole);
  });
}

/** Outside WhatsApp's 24-hour window only an approved template may be sent. */
export function TemplatePicker({
  conversationId,
  templates,
}: {
  conversationId: string;
  templates: Template[];
}) {
  const { t } = useI18n();
  const { api, notify } = useWorkspace();
  const [chosenId, setChosenId] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const chosen = templates.find((template) => template.id === chosenId);

  if (templates.length === 0) {
    return <p className="muted small">{t("template.none")}</p>;
  }

  const send = async (event: FormEvent) => {
    event.preventDefault();
    if (!chosen) return;
    setBusy(true);
    const result = await api.client
      .mutation(SendTemplateDocument, {
        input: {
          conversationId,
          templateId: chosen.id,
          variables: chosen.variables.map((variable) => ({
            key: variable.key,
            value: values[variable.key]?.trim() ?? "",
          })),
        },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.sendTemplate;
    if (outcome?.__typename === "SendTemplateSuccess") {
      notify(t("template.sent"));
      setChosenId("");
      setValues({});
    } else {
      notify(outcome ? outcome.message : (result.error?.message ?? "?"), "error");
    }
  };

  return (
    <form className="template-picker" onSubmit={(event) => void send(event)}>
      <fieldset>
        <legend>{t("template.legend")}</legend>
        <label>
          <span>{t("template.choose")}</span>
          <select value={chosenId} onChange={(event) => setChosenId(event.target.value)}>
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
              onChange={(event) => setValues({ ...values, [variable.key]: event.target.value })}
            />
          </label>
        ))}
        {chosen && (
          <p className="template-preview" aria-label={t("template.preview")}>
            {preview(chosen, values)}
          </p>
        )}
        <button type="submit" className="primary" disabled={!chosen || busy}>
          {t("template.send")}
        </button>
      </fieldset>
    </form>
  );
}
