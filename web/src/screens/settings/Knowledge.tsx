// The knowledge base's documents: what the assistant answers from. Every member reads
// the list; owners and admins add (typed text or a file), edit and remove documents.
// Indexing happens in the background and the API has no subscription for it, so while a
// document is PENDING the list is fetched again every few seconds.
import { useCallback, useEffect, useRef, useState } from "react";
import type { FormEvent } from "react";
import {
  AddKnowledgeDocumentDocument,
  KnowledgeDocumentsDocument,
  RemoveKnowledgeDocumentDocument,
  UpdateKnowledgeDocumentDocument,
} from "../../api/operations";
import { useWorkspace } from "../../context";
import type {
  KnowledgeDocumentFieldsFragment,
  KnowledgeDocumentsQuery,
  KnowledgeDocumentsQueryVariables,
} from "../../gql/graphql";
import { useI18n } from "../../i18n";
import { ConfirmButton, FormError, Loading, canManage, moment, refusal } from "./common";

const PAGE = 50;
const POLL_MS = 2_000;
const ACCEPT = ".pdf,.md,.markdown,.txt,.html,.htm,application/pdf,text/plain,text/markdown,text/html";

type Document = KnowledgeDocumentFieldsFragment;
type KnowledgeConnection = NonNullable<KnowledgeDocumentsQuery["organization"]>["knowledgeDocuments"];

export function KnowledgeSettings() {
  const { t } = useI18n();
  const { api, organizationId, role } = useWorkspace();
  const [documents, setDocuments] = useState<Document[] | null>(null);
  const [total, setTotal] = useState(0);
  const [hasMore, setHasMore] = useState(false);
  /** How many pages are shown ("show more" adds one); each load fetches them all again,
   * following the cursors, so a document being indexed on any of them is refreshed. */
  const [pages, setPages] = useState(1);
  const manager = canManage(role);

  const load = useCallback(async () => {
    const shown: Document[] = [];
    let after: string | null = null;
    for (let page = 0; page < pages; page += 1) {
      const variables: KnowledgeDocumentsQueryVariables = { organizationId, first: PAGE, after };
      const result = await api.client
        .query(KnowledgeDocumentsDocument, variables, { requestPolicy: "network-only" })
        .toPromise();
      const connection: KnowledgeConnection | undefined =
        result.data?.organization?.knowledgeDocuments;
      if (!connection) return;
      shown.push(...connection.edges.map((edge) => edge.node));
      setTotal(connection.totalCount);
      after = connection.pageInfo.hasNextPage ? (connection.pageInfo.endCursor ?? null) : null;
      if (!after) break;
    }
    setDocuments(shown);
    setHasMore(after !== null);
  }, [api, organizationId, pages]);
  useEffect(() => {
    void load();
  }, [load]);

  // While something is being indexed, look again shortly.
  const pending = documents?.some((document) => document.status === "PENDING") ?? false;
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(() => void load(), POLL_MS);
    return () => clearTimeout(timer);
  }, [pending, documents, load]);

  if (!documents) return <Loading />;
  return (
    <div className="settings-form">
      <p className="muted">{t("knowledge.intro")}</p>
      {!manager && <p className="notice">{t("settings.readOnly")}</p>}
      <section aria-labelledby="knowledge-list-heading">
        <h2 id="knowledge-list-heading">
          {t("knowledge.title")} <span className="muted small">({total})</span>
        </h2>
        {documents.length === 0 && <p className="muted">{t("knowledge.none")}</p>}
        <ul className="rows" aria-live="polite">
          {documents.map((document) => (
            <DocumentRow key={document.id} document={document} manager={manager} reload={load} />
          ))}
        </ul>
        {hasMore && (
          <button type="button" onClick={() => setPages(pages + 1)}>
            {t("knowledge.more")}
          </button>
        )}
      </section>
      {manager && <AddDocument onAdded={load} />}
    </div>
  );
}

/** Typed text or a file: the API takes either (a file as a GraphQL multipart request). */
function DocumentForm({
  idPrefix,
  initialTitle,
  textRequired,
  submitLabel,
  busy,
  onSubmit,
  onCancel,
}: {
  idPrefix: string;
  initialTitle: string;
  textRequired: boolean;
  submitLabel: string;
  busy: boolean;
  onSubmit: (values: { title: string; content: string | null; file: File | null }) => Promise<boolean>;
  onCancel?: () => void;
}) {
  const { t } = useI18n();
  const [title, setTitle] = useState(initialTitle);
  const [content, setContent] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const ok = await onSubmit({ title: title.trim(), content: file ? null : content || null, file });
    if (ok) {
      setTitle(initialTitle);
      setContent("");
      setFile(null);
      if (fileRef.current) fileRef.current.value = "";
    }
  };
  return (
    <form onSubmit={(event) => void submit(event)}>
      <fieldset disabled={busy}>
        <legend className="visually-hidden">{submitLabel}</legend>
        <div className="field">
          <label htmlFor={`${idPrefix}-title`}>{t("knowledge.docTitle")}</label>
          <input
            id={`${idPrefix}-title`}
            required
            maxLength={200}
            value={title}
            onChange={(event) => setTitle(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${idPrefix}-content`}>
            {textRequired ? t("knowledge.text") : t("knowledge.newText")}
          </label>
          <textarea
            id={`${idPrefix}-content`}
            rows={6}
            required={textRequired && !file}
            disabled={Boolean(file)}
            value={content}
            onChange={(event) => setContent(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${idPrefix}-file`}>{t("knowledge.file")}</label>
          <input
            id={`${idPrefix}-file`}
            ref={fileRef}
            type="file"
            accept={ACCEPT}
            aria-describedby={`${idPrefix}-file-help`}
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
          />
          <span id={`${idPrefix}-file-help`} className="muted small">
            {t("knowledge.fileHelp")}
          </span>
        </div>
        <div className="row">
          <button type="submit" className="primary">
            {submitLabel}
          </button>
          {onCancel && (
            <button type="button" onClick={onCancel}>
              {t("confirm.cancel")}
            </button>
          )}
        </div>
      </fieldset>
    </form>
  );
}

function AddDocument({ onAdded }: { onAdded: () => Promise<void> }) {
  const { t } = useI18n();
  const { api, organizationId, notify } = useWorkspace();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <section aria-labelledby="knowledge-add-heading">
      <h2 id="knowledge-add-heading">{t("knowledge.new")}</h2>
      <DocumentForm
        idPrefix="knowledge-new"
        initialTitle=""
        textRequired
        submitLabel={t("knowledge.add")}
        busy={busy}
        onSubmit={async ({ title, content, file }) => {
          setBusy(true);
          setError(null);
          const result = await api.client
            .mutation(AddKnowledgeDocumentDocument, {
              input: { organizationId, title, content, file },
            })
            .toPromise();
          setBusy(false);
          const outcome = result.data?.addKnowledgeDocument;
          if (outcome?.__typename === "AddKnowledgeDocumentSuccess") {
            notify(t("knowledge.added", { title: outcome.document.title }));
            await onAdded();
            return true;
          }
          setError(refusal(outcome, result.error));
          return false;
        }}
      />
      <FormError message={error} />
    </section>
  );
}

function DocumentRow({
  document,
  manager,
  reload,
}: {
  document: Document;
  manager: boolean;
  reload: () => Promise<void>;
}) {
  const { t, locale } = useI18n();
  const { api, notify } = useWorkspace();
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const remove = async () => {
    setBusy(true);
    const result = await api.client
      .mutation(RemoveKnowledgeDocumentDocument, { input: { documentId: document.id } })
      .toPromise();
    setBusy(false);
    const message = refusal(result.data?.removeKnowledgeDocument, result.error);
    if (message) notify(message, "error");
    else notify(t("knowledge.removed", { title: document.title }));
    await reload();
  };

  return (
    <li className="document" data-status={document.status}>
      <div className="member">
        <span className="who">
          <strong>{document.title}</strong>
          <span className="small">
            <span className={`badge status-${document.status.toLowerCase()}`}>
              {t(`knowledge.status.${document.status}`)}
            </span>{" "}
            <span className="muted">
              {t("knowledge.passages", { count: document.chunkCount })} ·{" "}
              {document.fileName ?? document.sourceFormat} ·{" "}
              {t("knowledge.updated", { date: moment(document.updatedAt, locale, "") })}
            </span>
          </span>
          {document.status === "FAILED" && document.error && (
            <span className="small field-error">{document.error}</span>
          )}
        </span>
        {manager && !editing && (
          <>
            <button
              type="button"
              disabled={busy}
              aria-label={t("knowledge.editName", { title: document.title })}
              onClick={() => setEditing(true)}
            >
              {t("knowledge.edit")}
            </button>
            <ConfirmButton
              label={t("knowledge.remove")}
              name={t("knowledge.removeName", { title: document.title })}
              question={t("knowledge.removeQuestion", { title: document.title })}
              confirmLabel={t("knowledge.removeConfirm")}
              disabled={busy}
              onConfirm={remove}
            />
          </>
        )}
      </div>
      {editing && (
        <div className="edit-panel">
          <DocumentForm
            idPrefix={`knowledge-${document.id}`}
            initialTitle={document.title}
            textRequired={false}
            submitLabel={t("settings.save")}
            busy={busy}
            onCancel={() => setEditing(false)}
            onSubmit={async ({ title, content, file }) => {
              setBusy(true);
              setError(null);
              const result = await api.client
                .mutation(UpdateKnowledgeDocumentDocument, {
                  input: {
                    documentId: document.id,
                    title: title === document.title ? null : title,
                    content,
                    file,
                  },
                })
                .toPromise();
              setBusy(false);
              const outcome = result.data?.updateKnowledgeDocument;
              if (outcome?.__typename === "UpdateKnowledgeDocumentSuccess") {
                notify(t("knowledge.saved", { title: outcome.document.title }));
                setEditing(false);
                await reload();
                return true;
              }
              setError(refusal(outcome, result.error));
              return false;
            }}
          />
          <FormError message={error} />
        </div>
      )}
    </li>
  );
}
