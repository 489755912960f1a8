// Importing contacts from a CSV file (owners and admins): the upload (a GraphQL multipart
// request), then the import followed until it finishes (the API has no subscription for
// it: polled every second), and the refused rows listed by their line in the file.
import { useEffect, useRef, useState } from "react";
import type { FormEvent } from "react";
import { ContactImportDocument, ImportContactsDocument } from "../api/operations";
import { useWorkspace } from "../context";
import type { ContactImportFieldsFragment } from "../gql/graphql";
import { useI18n } from "../i18n";
import type { MessageKey } from "../i18n/pt-BR";
import { FormError, refusal } from "./settings/common";

type Import = ContactImportFieldsFragment;
type Refusal = { line: number; reason: string };

const RUNNING = new Set(["PENDING", "CHECKING", "WRITING"]);

export function ContactImport({ onImported }: { onImported: () => void }) {
  const { t } = useI18n();
  const { api, organizationId } = useWorkspace();
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [current, setCurrent] = useState<Import | null>(null);
  const [refusals, setRefusals] = useState<Refusal[]>([]);
  const fileRef = useRef<HTMLInputElement>(null);
  const importId = current?.id;
  const running = current ? RUNNING.has(current.status) : false;

  useEffect(() => {
    if (!importId || !running) return;
    const timer = setInterval(() => {
      void api.client
        .query(
          ContactImportDocument,
          { org: organizationId, id: importId, afterLine: null },
          { requestPolicy: "network-only" },
        )
        .toPromise()
        .then((result) => {
          const found = result.data?.organization?.contactImport;
          if (!found) return;
          const { refusals: rows, ...fields } = found;
          setCurrent(fields);
          setRefusals(rows);
          if (fields.status === "SUCCEEDED") onImported();
        });
    }, 1000);
    return () => clearInterval(timer);
  }, [api, organizationId, importId, running, onImported]);

  const moreRefusals = async () => {
    if (!importId) return;
    const last = refusals[refusals.length - 1]?.line ?? null;
    const result = await api.client
      .query(
        ContactImportDocument,
        { org: organizationId, id: importId, afterLine: last },
        { requestPolicy: "network-only" },
      )
      .toPromise();
    const rows = result.data?.organization?.contactImport?.refusals;
    if (rows) setRefusals((previous) => [...previous, ...rows]);
  };

  const upload = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    setRefusals([]);
    const result = await api.client
      .mutation(ImportContactsDocument, { input: { organizationId, file } })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.importContacts;
    if (outcome?.__typename === "ImportContactsSuccess") {
      setCurrent(outcome.contactImport);
      setFile(null);
      if (fileRef.current) fileRef.current.value = "";
      return;
    }
    setError(refusal(outcome, result.error));
  };

  return (
    <form onSubmit={(event) => void upload(event)}>
      <fieldset disabled={busy}>
        <legend>{t("contactImport.title")}</legend>
        <div className="field">
          <label htmlFor="contact-import-file">{t("contactImport.file")}</label>
          <input
            id="contact-import-file"
            ref={fileRef}
            type="file"
            accept=".csv,text/csv,text/plain"
            required
            aria-describedby="contact-import-help"
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
          />
          <span id="contact-import-help" className="muted small">
            {t("contactImport.help")}
          </span>
        </div>
        <FormError message={error} />
        <button type="submit" className="primary" disabled={!file || running}>
          {t("contactImport.submit")}
        </button>
      </fieldset>
      {current && (
        <div className="contact-import" data-testid="contact-import">
          <p role="status">
            {current.fileName ? `${current.fileName}: ` : ""}
            {t(`contactImport.status.${current.status}` as MessageKey, {
              checked: current.checkedRows,
              written: current.writtenRows,
              total: current.totalRows,
              created: current.created,
              updated: current.updated,
              refused: current.refusedCount,
            })}
          </p>
          {current.status === "FAILED" && current.error && (
            <p className="notice error" role="alert">
              {current.error}
            </p>
          )}
          {current.status === "REFUSED" && (
            <>
              <table className="deliveries" aria-label={t("contactImport.refusals")}>
                <thead>
                  <tr>
                    <th scope="col">{t("contactImport.line")}</th>
                    <th scope="col">{t("contactImport.reason")}</th>
                  </tr>
                </thead>
                <tbody>
                  {refusals.map((row) => (
                    <tr key={row.line}>
                      <td>{row.line}</td>
                      <td>{row.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {refusals.length < current.refusedCount && (
                <button type="button" onClick={() => void moreRefusals()}>
                  {t("contactImport.moreRefusals")}
                </button>
              )}
            </>
          )}
        </div>
      )}
    </form>
  );
}
