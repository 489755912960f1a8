// Contacts (loaded when first opened): the organization's customers by name, searched and
// filtered by tag; a CSV file imported (owners and admins); a new one (the number typed as people write it, stored in E.164 by the
// API); a name, tags and the business's own fields (attributes) edited; and a conversation started with one of a channel's
// approved templates, which then opens.
import { useCallback, useEffect, useRef, useState } from "react";
import type { FormEvent } from "react";
import {
  ChannelTemplatesDocument,
  ContactsDocument,
  CreateContactDocument,
  StartConversationDocument,
  UpdateContactDocument,
} from "../api/operations";
import { preview } from "../components/TemplatePicker";
import { useWorkspace } from "../context";
import type { ChannelTemplatesQuery, ContactFieldsFragment } from "../gql/graphql";
import { useI18n } from "../i18n";
import { conversationPath, navigate } from "../router";
import { ContactImport } from "./ContactImport";
import { FormError, Loading, canManage, refusal } from "./settings/common";

type Contact = ContactFieldsFragment;
type Channel = NonNullable<ChannelTemplatesQuery["organization"]>["channels"][number];

const PAGE_SIZE = 50;

/** One of a contact's own fields as edited: its value as text, and the value it came with
 * (a number or a list from an integration stays what it was unless its text changes). */
type AttributeRow = { key: string; text: string; original?: unknown };

function attributeText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function attributeRows(attributes: unknown): AttributeRow[] {
  if (attributes === null || typeof attributes !== "object" || Array.isArray(attributes)) return [];
  return Object.entries(attributes as Record<string, unknown>).map(([key, value]) => ({
    key,
    text: attributeText(value),
    original: value,
  }));
}

function attributesOf(rows: AttributeRow[]): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const row of rows) {
    const key = row.key.trim();
    if (!key) continue;
    const unchanged = row.original !== undefined && attributeText(row.original) === row.text;
    attributes[key] = unchanged ? row.original : row.text;
  }
  return attributes;
}

/** "VIP, clientes sp" as the API's list of tags (it normalises them). */
function tagList(text: string): string[] {
  return text
    .split(/[,;]/)
    .map((tag) => tag.trim())
    .filter(Boolean);
}

export function Contacts() {
  const { t } = useI18n();
  const { api, organizationId, role } = useWorkspace();
  const [search, setSearch] = useState("");
  const [tag, setTag] = useState("");
  const [filters, setFilters] = useState({ search: "", tag: "" });
  const [contacts, setContacts] = useState<Contact[] | null>(null);
  const [total, setTotal] = useState(0);
  const [endCursor, setEndCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [channels, setChannels] = useState<Channel[]>([]);
  const [error, setError] = useState<string | null>(null);
  // Only the latest request's answer is shown: typing fires several, which may answer out
  // of order.
  const latest = useRef(0);

  useEffect(() => {
    document.title = `${t("contacts.title")} · ${t("app.name")}`;
  }, [t]);

  // The API searches 3 characters or more; typing is debounced.
  useEffect(() => {
    const timer = setTimeout(() => {
      const term = search.trim();
      setFilters({ search: term.length >= 3 ? term : "", tag: tag.trim() });
    }, 300);
    return () => clearTimeout(timer);
  }, [search, tag]);

  const load = useCallback(
    async (after: string | null = null) => {
      const request = ++latest.current;
      const result = await api.client
        .query(
          ContactsDocument,
          {
            org: organizationId,
            first: PAGE_SIZE,
            after,
            search: filters.search || null,
            tag: filters.tag || null,
          },
          { requestPolicy: "network-only" },
        )
        .toPromise();
      if (request !== latest.current) return;
      const page = result.data?.organization?.contacts;
      if (!page) {
        if (result.error && !result.error.networkError) setError(result.error.message);
        return;
      }
      setError(null);
      const nodes = page.edges.map((edge) => edge.node);
      setContacts((previous) => (after ? [...(previous ?? []), ...nodes] : nodes));
      setTotal(page.totalCount);
      setEndCursor(page.pageInfo.endCursor ?? null);
      setHasMore(page.pageInfo.hasNextPage);
    },
    [api, organizationId, filters],
  );

  useEffect(() => {
    void load();
    return api.onResync(() => void load());
  }, [api, load]);
  const reloadFirstPage = useCallback(() => void load(), [load]);

  useEffect(() => {
    void api.client
      .query(ChannelTemplatesDocument, { org: organizationId }, { requestPolicy: "network-only" })
      .toPromise()
      .then((result) => setChannels(result.data?.organization?.channels ?? []));
  }, [api, organizationId]);

  const replace = (contact: Contact) =>
    setContacts((previous) =>
      (previous ?? []).map((item) => (item.id === contact.id ? contact : item)),
    );

  return (
    <div className="settings contacts">
      <h1>{t("contacts.title")}</h1>
      <div className="settings-form">
        <NewContact onCreated={() => void load()} />
        {canManage(role) && <ContactImport onImported={reloadFirstPage} />}
        <section aria-labelledby="contacts-list-title">
          <h2 id="contacts-list-title">{t("contacts.list")}</h2>
          <div className="row" role="search">
            <div className="field grow">
              <label htmlFor="contacts-search">{t("contacts.search")}</label>
              <input
                id="contacts-search"
                type="search"
                value={search}
                maxLength={100}
                onChange={(event) => setSearch(event.target.value)}
                aria-describedby="contacts-search-hint"
              />
              <span id="contacts-search-hint" className="muted small">
                {t("contacts.searchHint")}
              </span>
            </div>
            <div className="field">
              <label htmlFor="contacts-tag">{t("contacts.tagFilter")}</label>
              <input
                id="contacts-tag"
                value={tag}
                maxLength={50}
                onChange={(event) => setTag(event.target.value)}
              />
            </div>
          </div>
          <FormError message={error} />
          {!contacts ? (
            <Loading />
          ) : (
            <>
              <p className="muted" role="status" data-testid="contacts-count">
                {t("contacts.count", { count: total })}
              </p>
              <ul className="rows" aria-labelledby="contacts-list-title">
                {contacts.map((contact) => (
                  <ContactRow
                    key={contact.id}
                    contact={contact}
                    channels={channels}
                    onChanged={replace}
                  />
                ))}
              </ul>
              {hasMore && (
                <button type="button" onClick={() => void load(endCursor)}>
                  {t("contacts.more")}
                </button>
              )}
            </>
          )}
        </section>
      </div>
    </div>
  );
}

function NewContact({ onCreated }: { onCreated: () => void }) {
  const { t } = useI18n();
  const { api, organizationId, notify } = useWorkspace();
  const [phone, setPhone] = useState("");
  const [name, setName] = useState("");
  const [tags, setTags] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(CreateContactDocument, {
        input: {
          organizationId,
          phoneNumber: phone.trim(),
          name: name.trim() || null,
          tags: tagList(tags),
        },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.createContact;
    if (outcome?.__typename === "CreateContactSuccess") {
      notify(
        t("contacts.created", { name: outcome.contact.name, phone: outcome.contact.phoneNumber }),
      );
      setPhone("");
      setName("");
      setTags("");
      onCreated();
      return;
    }
    setError({
      field: outcome?.__typename === "ValidationError" ? outcome.field : undefined,
      message: refusal(outcome, result.error) ?? "?",
    });
  };

  return (
    <form onSubmit={(event) => void create(event)}>
      <fieldset disabled={busy}>
        <legend>{t("contacts.new")}</legend>
        <div className="row">
          <div className="field grow">
            <label htmlFor="new-contact-phone">{t("contacts.phone")}</label>
            <input
              id="new-contact-phone"
              type="tel"
              required
              maxLength={40}
              value={phone}
              placeholder="(11) 98765-4321"
              aria-invalid={error?.field === "phoneNumber" || undefined}
              onChange={(event) => setPhone(event.target.value)}
            />
          </div>
          <div className="field grow">
            <label htmlFor="new-contact-name">{t("contacts.name")}</label>
            <input
              id="new-contact-name"
              maxLength={200}
              value={name}
              aria-invalid={error?.field === "name" || undefined}
              onChange={(event) => setName(event.target.value)}
            />
          </div>
          <div className="field grow">
            <label htmlFor="new-contact-tags">{t("contacts.tags")}</label>
            <input
              id="new-contact-tags"
              value={tags}
              aria-describedby="new-contact-tags-hint"
              aria-invalid={error?.field === "tags" || undefined}
              onChange={(event) => setTags(event.target.value)}
            />
            <span id="new-contact-tags-hint" className="muted small">
              {t("contacts.tagsHint")}
            </span>
          </div>
        </div>
        <FormError message={error?.message ?? null} />
        <button type="submit" className="primary">
          {t("contacts.create")}
        </button>
      </fieldset>
    </form>
  );
}

function ContactRow({
  contact,
  channels,
  onChanged,
}: {
  contact: Contact;
  channels: Channel[];
  onChanged: (contact: Contact) => void;
}) {
  const { t } = useI18n();
  const [panel, setPanel] = useState<"edit" | "start" | null>(null);
  return (
    <li className="contact" data-testid="contact">
      <div className="member">
        <span className="who">
          <strong>{contact.name}</strong>
          <span className="muted small">
            {contact.phoneNumber}
            {contact.profileName && contact.profileName !== contact.name
              ? ` · ${contact.profileName}`
              : ""}
          </span>
          {contact.tags.length > 0 && (
            <span className="tags" aria-label={t("contacts.tags")}>
              {contact.tags.map((tag) => (
                <span key={tag} className="tag">
                  {tag}
                </span>
              ))}
            </span>
          )}
          {attributeRows(contact.attributes).length > 0 && (
            <span className="muted small attributes" aria-label={t("contacts.attributes")}>
              {attributeRows(contact.attributes)
                .map((row) => `${row.key}: ${row.text}`)
                .join(" · ")}
            </span>
          )}
          {contact.optedOut && <span className="small status-off">{t("contacts.optedOut")}</span>}
        </span>
        {panel === null && (
          <>
            <button
              type="button"
              aria-label={t("contacts.editName", { name: contact.name })}
              onClick={() => setPanel("edit")}
            >
              {t("contacts.edit")}
            </button>
            <button
              type="button"
              disabled={contact.optedOut}
              aria-label={t("contacts.startName", { name: contact.name })}
              onClick={() => setPanel("start")}
            >
              {t("contacts.start")}
            </button>
          </>
        )}
      </div>
      {panel === "edit" && (
        <EditContact
          contact={contact}
          onDone={(changed) => {
            if (changed) onChanged(changed);
            setPanel(null);
          }}
        />
      )}
      {panel === "start" && (
        <StartConversation contact={contact} channels={channels} onCancel={() => setPanel(null)} />
      )}
    </li>
  );
}

function EditContact({
  contact,
  onDone,
}: {
  contact: Contact;
  onDone: (changed: Contact | null) => void;
}) {
  const { t } = useI18n();
  const { api, notify } = useWorkspace();
  const [name, setName] = useState(contact.displayName ?? "");
  const [tags, setTags] = useState(contact.tags.join(", "));
  const [attributes, setAttributes] = useState<AttributeRow[]>(() =>
    attributeRows(contact.attributes),
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const prefix = `contact-${contact.id}`;

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(UpdateContactDocument, {
        input: {
          contactId: contact.id,
          name: name.trim(),
          tags: tagList(tags),
          attributes: attributesOf(attributes),
        },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.updateContact;
    if (outcome?.__typename === "UpdateContactSuccess") {
      notify(t("settings.saved"));
      onDone(outcome.contact);
      return;
    }
    setError(refusal(outcome, result.error));
  };

  return (
    <form className="edit-panel" onSubmit={(event) => void save(event)}>
      <fieldset disabled={busy}>
        <legend className="visually-hidden">{t("contacts.editName", { name: contact.name })}</legend>
        <div className="row">
          <div className="field grow">
            <label htmlFor={`${prefix}-name`}>{t("contacts.name")}</label>
            <input
              id={`${prefix}-name`}
              maxLength={200}
              value={name}
              onChange={(event) => setName(event.target.value)}
            />
          </div>
          <div className="field grow">
            <label htmlFor={`${prefix}-tags`}>{t("contacts.tags")}</label>
            <input
              id={`${prefix}-tags`}
              value={tags}
              onChange={(event) => setTags(event.target.value)}
            />
          </div>
        </div>
        <fieldset className="attributes-editor">
          <legend>{t("contacts.attributes")}</legend>
          {attributes.map((row, index) => {
            const change = (changed: Partial<AttributeRow>) =>
              setAttributes((rows) =>
                rows.map((other, at) => (at === index ? { ...other, ...changed } : other)),
              );
            const label = row.key.trim() || String(index + 1);
            return (
              <div className="row" key={index} data-testid="attribute">
                <div className="field">
                  <label htmlFor={`${prefix}-attribute-${index}-key`}>{t("contacts.attributeKey")}</label>
                  <input
                    id={`${prefix}-attribute-${index}-key`}
                    maxLength={100}
                    value={row.key}
                    onChange={(event) => change({ key: event.target.value })}
                  />
                </div>
                <div className="field grow">
                  <label htmlFor={`${prefix}-attribute-${index}-value`}>
                    {t("contacts.attributeValue")}
                  </label>
                  <input
                    id={`${prefix}-attribute-${index}-value`}
                    value={row.text}
                    onChange={(event) => change({ text: event.target.value })}
                  />
                </div>
                <button
                  type="button"
                  aria-label={t("contacts.removeAttribute", { key: label })}
                  onClick={() => setAttributes((rows) => rows.filter((_, at) => at !== index))}
                >
                  {t("contacts.remove")}
                </button>
              </div>
            );
          })}
          <button type="button" onClick={() => setAttributes((rows) => [...rows, { key: "", text: "" }])}>
            {t("contacts.addAttribute")}
          </button>
        </fieldset>
        <div className="row">
          <button type="submit" className="primary">
            {t("settings.save")}
          </button>
          <button type="button" onClick={() => onDone(null)}>
            {t("confirm.cancel")}
          </button>
        </div>
      </fieldset>
      <FormError message={error} />
    </form>
  );
}

function StartConversation({
  contact,
  channels,
  onCancel,
}: {
  contact: Contact;
  channels: Channel[];
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const { api, notify } = useWorkspace();
  const usable = channels.filter((channel) => channel.enabled);
  const [channelId, setChannelId] = useState(usable[0]?.id ?? "");
  const [templateId, setTemplateId] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const channel = usable.find((candidate) => candidate.id === channelId);
  const template = channel?.templates.find((candidate) => candidate.id === templateId);
  const prefix = `start-${contact.id}`;

  const start = async (event: FormEvent) => {
    event.preventDefault();
    if (!channel || !template) return;
    setBusy(true);
    setError(null);
    const result = await api.client
      .mutation(StartConversationDocument, {
        input: {
          channelId: channel.id,
          phoneNumber: contact.phoneNumber,
          templateId: template.id,
          variables: template.variables.map((variable) => ({
            key: variable.key,
            value: values[variable.key]?.trim() ?? "",
          })),
        },
      })
      .toPromise();
    setBusy(false);
    const outcome = result.data?.startConversation;
    if (outcome?.__typename === "StartConversationSuccess") {
      notify(t("template.sent"));
      navigate(conversationPath(outcome.conversation.id));
      return;
    }
    setError(refusal(outcome, result.error));
  };

  return (
    <form className="edit-panel" onSubmit={(event) => void start(event)}>
      <fieldset disabled={busy}>
        <legend>{t("contacts.startName", { name: contact.name })}</legend>
        {usable.length === 0 ? (
          <p className="muted">{t("contacts.noChannel")}</p>
        ) : (
          <div className="row">
            <div className="field">
              <label htmlFor={`${prefix}-channel`}>{t("contacts.channel")}</label>
              <select
                id={`${prefix}-channel`}
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
              <label htmlFor={`${prefix}-template`}>{t("template.choose")}</label>
              <select
                id={`${prefix}-template`}
                required
                value={templateId}
                onChange={(event) => setTemplateId(event.target.value)}
              >
                <option value="">{t("template.pick")}</option>
                {channel?.templates.map((candidate) => (
                  <option key={candidate.id} value={candidate.id}>
                    {candidate.name} ({candidate.language})
                  </option>
                ))}
              </select>
              {channel && channel.templates.length === 0 && (
                <span className="muted small">{t("template.none")}</span>
              )}
            </div>
          </div>
        )}
        {template?.variables.map((variable) => (
          <div className="field" key={variable.key}>
            <label htmlFor={`${prefix}-var-${variable.key}`}>{variable.name}</label>
            <input
              id={`${prefix}-var-${variable.key}`}
              required
              maxLength={1000}
              value={values[variable.key] ?? ""}
              onChange={(event) => setValues({ ...values, [variable.key]: event.target.value })}
            />
          </div>
        ))}
        {template && (
          <p className="template-preview" aria-label={t("template.preview")}>
            {preview(template, values)}
          </p>
        )}
        <div className="row">
          <button type="submit" className="primary" disabled={!template}>
            {t("contacts.startSend")}
          </button>
          <button type="button" onClick={onCancel}>
            {t("confirm.cancel")}
          </button>
        </div>
      </fieldset>
      <FormError message={error} />
    </form>
  );
}
