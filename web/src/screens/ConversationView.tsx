import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import type { FormEvent, KeyboardEvent } from "react";
import {
  AssignDocument,
  CloseDocument,
  ConversationDocument,
  MarkReadDocument,
  ReopenDocument,
  SendMessageDocument,
  SetAiDocument,
} from "../api/operations";
import { TemplatePicker } from "../components/TemplatePicker";
import type { Template } from "../components/TemplatePicker";
import { DeliveryTicks } from "../components/DeliveryTicks";
import { ScheduledMessages } from "../components/ScheduledMessages";
import { useWorkspace } from "../context";
import type { BusEvent, ConversationData, MessageData } from "../events";
import { fullMoment, timeLeft, timeOfDay } from "../format";
import { useI18n } from "../i18n";
import { conversationPath, followLink, navigate } from "../router";

const PAGE_SIZE = 40;

interface History {
  /** Newest first, as the API pages them. */
  messages: MessageData[];
  endCursor: string | null;
  hasOlder: boolean;
}

function upsert(messages: MessageData[], message: MessageData): MessageData[] {
  const others = messages.filter((item) => item.id !== message.id);
  return [...others, message].sort(
    (a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id),
  );
}

/** Re-render every minute, for what depends on the clock (the 24-hour window). */
function useMinute(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

export function ConversationView({ id }: { id: string }) {
  const { t, locale } = useI18n();
  const { api, events, me, members, notify } = useWorkspace();
  const [conversation, setConversation] = useState<ConversationData | null>(null);
  const [history, setHistory] = useState<History | null>(null);
  const [missing, setMissing] = useState(false);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const listRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const now = useMinute();

  const markRead = useCallback(async () => {
    if (document.visibilityState !== "visible") return;
    const result = await api.client
      .mutation(MarkReadDocument, { input: { conversationId: id } })
      .toPromise();
    const outcome = result.data?.markConversationRead;
    if (outcome?.__typename === "MarkConversationReadSuccess") {
      events.changed(outcome.conversation);
    }
  }, [api, events, id]);

  const load = useCallback(async () => {
    const result = await api.client
      .query(ConversationDocument, { id, first: PAGE_SIZE, after: null })
      .toPromise();
    if (result.error) {
      if (!result.error.networkError) notify(result.error.message, "error");
      return;
    }
    const data = result.data?.conversation;
    if (!data) {
      setMissing(true);
      return;
    }
    const { messages, ...fields } = data;
    setConversation(fields);
    setTemplates(data.channel.templates);
    setHistory({
      messages: messages.edges.map((edge) => edge.node),
      endCursor: messages.pageInfo.endCursor ?? null,
      hasOlder: messages.pageInfo.hasNextPage,
    });
    stickToBottom.current = true;
    if (fields.unreadCount > 0) void markRead();
  }, [api, id, markRead, notify]);

  useEffect(() => {
    void load();
    return api.onResync(() => void load());
  }, [api, load]);

  useEffect(
    () =>
      events.on((event: BusEvent) => {
        if (event.conversation?.id !== id) return;
        setConversation(event.conversation);
        const message = event.message;
        if (message && message.conversationId === id) {
          setHistory((previous) =>
            previous ? { ...previous, messages: upsert(previous.messages, message) } : previous,
          );
          if (event.kind === "MESSAGE_CREATED" && message.direction === "INBOUND") {
            void markRead();
          }
        }
      }),
    [events, id, markRead],
  );

  useEffect(() => {
    if (conversation) document.title = `${conversation.contact.name} · ${t("app.name")}`;
  }, [conversation, t]);

  // Keep the newest message in view when the reader is at the bottom.
  useLayoutEffect(() => {
    const list = listRef.current;
    if (list && stickToBottom.current) list.scrollTop = list.scrollHeight;
  }, [history]);

  const loadOlder = async () => {
    if (!history?.endCursor) return;
    const list = listRef.current;
    const fromBottom = list ? list.scrollHeight - list.scrollTop : 0;
    const result = await api.client
      .query(ConversationDocument, { id, first: PAGE_SIZE, after: history.endCursor })
      .toPromise();
    const messages = result.data?.conversation?.messages;
    if (!messages) return;
    stickToBottom.current = false;
    setHistory((previous) => ({
      messages: [...(previous?.messages ?? []), ...messages.edges.map((edge) => edge.node)],
      endCursor: messages.pageInfo.endCursor ?? null,
      hasOlder: messages.pageInfo.hasNextPage,
    }));
    requestAnimationFrame(() => {
      if (list) list.scrollTop = list.scrollHeight - fromBottom;
    });
  };

  /** Run a mutation; a refusal's message is shown, the conversation updated otherwise. */
  async function act(
    name: string,
    run: () => Promise<{ conversation?: ConversationData | null; message?: string } | null>,
  ): Promise<boolean> {
    setBusy(name);
    try {
      const outcome = await run();
      if (outcome?.message) {
        notify(outcome.message, "error");
        return false;
      }
      if (outcome?.conversation) {
        setConversation(outcome.conversation);
        events.changed(outcome.conversation);
      }
      return Boolean(outcome);
    } finally {
      setBusy(null);
    }
  }

  const setAi = (enabled: boolean) =>
    act(enabled ? "handBack" : "takeOver", async () => {
      const result = await api.client
        .mutation(SetAiDocument, { input: { conversationId: id, enabled } })
        .toPromise();
      const outcome = result.data?.setConversationAi;
      if (!outcome) return errorOutcome(result.error);
      if (outcome.__typename === "SetConversationAiSuccess") {
        if (!enabled && !outcome.conversation.assignee) return assign(me.id);
        return { conversation: outcome.conversation };
      }
      return { message: outcome.message };
    });

  const assign = async (userId: string | null) => {
    const result = await api.client
      .mutation(AssignDocument, { input: { conversationId: id, userId } })
      .toPromise();
    const outcome = result.data?.assignConversation;
    if (!outcome) return errorOutcome(result.error);
    if (outcome.__typename === "AssignConversationSuccess") return { conversation: outcome.conversation };
    return { message: outcome.message };
  };

  const close = () =>
    act("close", async () => {
      const result = await api.client
        .mutation(CloseDocument, { input: { conversationId: id } })
        .toPromise();
      const outcome = result.data?.closeConversation;
      if (!outcome) return errorOutcome(result.error);
      if (outcome.__typename === "CloseConversationSuccess") return { conversation: outcome.conversation };
      return { message: outcome.message };
    });

  const reopen = () =>
    act("reopen", async () => {
      const result = await api.client
        .mutation(ReopenDocument, { input: { conversationId: id } })
        .toPromise();
      const outcome = result.data?.reopenConversation;
      if (!outcome) return errorOutcome(result.error);
      if (outcome.__typename === "ReopenConversationSuccess") return { conversation: outcome.conversation };
      if (outcome.__typename === "ConversationAlreadyOpen") {
        notify(outcome.message, "error");
        navigate(conversationPath(outcome.conversationId));
        return null;
      }
      return { message: outcome.message };
    });

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    const body = draft.trim();
    if (!body || busy) return;
    const sent = await act("send", async () => {
      const result = await api.client
        .mutation(SendMessageDocument, { input: { conversationId: id, body } })
        .toPromise();
      const outcome = result.data?.sendMessage;
      if (!outcome) return errorOutcome(result.error);
      if (outcome.__typename === "SendMessageSuccess") {
        stickToBottom.current = true;
        setHistory((previous) =>
          previous ? { ...previous, messages: upsert(previous.messages, outcome.reply) } : previous,
        );
        return { conversation: outcome.conversation };
      }
      return { message: outcome.message };
    });
    if (sent) setDraft("");
  };

  const onComposerKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  if (missing) {
    return (
      <div className="conversation">
        <BackLink />
        <p className="notice error" role="alert">
          {t("conversation.notFound")}
        </p>
      </div>
    );
  }
  if (!conversation || !history) {
    return (
      <p className="loading" role="status">
        {t("status.loading")}
      </p>
    );
  }

  const closed = conversation.status === "CLOSED";
  const whatsapp = conversation.channel.kind === "WHATSAPP";
  const windowOpen =
    !whatsapp ||
    (conversation.windowExpiresAt != null && Date.parse(conversation.windowExpiresAt) > now);
  const canReply = !closed && !conversation.contact.optedOut && windowOpen;
  const ordered = [...history.messages].reverse();

  return (
    <div className="conversation" data-testid="conversation">
      <header className="conversation-head">
        <BackLink />
        <div className="who">
          <h2 id="conversation-title">{conversation.contact.name}</h2>
          <span className="muted">
            {conversation.contact.phoneNumber} ·{" "}
            {conversation.channel.displayName ?? conversation.channel.phoneNumber}
          </span>
        </div>
        <div className="states">
          <span className={`tag status-${conversation.status.toLowerCase()}`} data-testid="status">
            {t(`conversation.status.${conversation.status}`)}
          </span>
          {!closed && (
            <span className={`tag ${conversation.aiEnabled ? "ai" : "team"}`} data-testid="ai-state">
              {conversation.aiEnabled ? t("conversation.ai.on") : t("conversation.ai.off")}
            </span>
          )}
        </div>
      </header>
      <div className="toolbar" role="group" aria-label={t("conversation.actions")}>
        {!closed &&
          (conversation.aiEnabled ? (
            <button
              type="button"
              className="primary"
              disabled={busy !== null}
              onClick={() => void setAi(false)}
              title={t("conversation.takeOver.hint")}
            >
              {t("conversation.takeOver")}
            </button>
          ) : (
            <button type="button" disabled={busy !== null} onClick={() => void setAi(true)}>
              {t("conversation.handBack")}
            </button>
          ))}
        <label className="assign">
          <span>{t("conversation.assign")}</span>
          <select
            value={conversation.assignee?.id ?? ""}
            disabled={busy !== null}
            onChange={(event) => void act("assign", () => assign(event.target.value || null))}
          >
            <option value="">{t("conversation.assign.nobody")}</option>
            {members.map((member) => (
              <option key={member.id} value={member.id}>
                {member.fullName}
              </option>
            ))}
          </select>
        </label>
        {closed ? (
          <button type="button" disabled={busy !== null} onClick={() => void reopen()}>
            {t("conversation.reopen")}
          </button>
        ) : (
          <button type="button" disabled={busy !== null} onClick={() => void close()}>
            {t("conversation.close")}
          </button>
        )}
      </div>
      <div
        className="messages"
        ref={listRef}
        role="log"
        aria-label={t("conversation.messages", { name: conversation.contact.name })}
        tabIndex={0}
        onScroll={(event) => {
          const list = event.currentTarget;
          stickToBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
        }}
      >
        {history.hasOlder && (
          <button type="button" className="load-older" onClick={() => void loadOlder()}>
            {t("conversation.loadOlder")}
          </button>
        )}
        <ol>
          {ordered.map((message) => (
            <MessageItem key={message.id} message={message} locale={locale} />
          ))}
        </ol>
      </div>
      <div className="composer">
        <WindowNotice conversation={conversation} now={now} />
        {conversation.contact.optedOut && (
          <p className="notice warning">{t("conversation.optedOut")}</p>
        )}
        {closed && <p className="notice">{t("conversation.closed")}</p>}
        {whatsapp && !windowOpen && !closed && !conversation.contact.optedOut && (
          <TemplatePicker conversationId={id} templates={templates} />
        )}
        <form className="composer-row" onSubmit={(event) => void send(event)}>
          <label htmlFor="reply" className="visually-hidden">
            {t("reply.label")}
          </label>
          <textarea
            id="reply"
            rows={2}
            value={draft}
            disabled={!canReply}
            placeholder={t("reply.placeholder")}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={onComposerKey}
            aria-describedby="reply-hint"
            maxLength={4096}
          />
          <button type="submit" className="primary" disabled={!canReply || busy !== null || !draft.trim()}>
            {busy === "send" ? t("reply.sending") : t("reply.send")}
          </button>
        </form>
        {canReply && (
          <p id="reply-hint" className="muted small">
            {t("reply.keys")} {conversation.aiEnabled ? t("reply.pausesAi") : ""}
          </p>
        )}
        <ScheduledMessages conversationId={id} templates={templates} />
      </div>
    </div>
  );
}

function errorOutcome(error: { message: string } | undefined) {
  return error ? { message: error.message } : null;
}

function BackLink() {
  const { t } = useI18n();
  return (
    <a href="/" className="back" onClick={(event) => followLink(event, "/")}>
      <span aria-hidden="true">←</span>
      <span className="visually-hidden">{t("conversation.back")}</span>
    </a>
  );
}

function WindowNotice({ conversation, now }: { conversation: ConversationData; now: number }) {
  const { t, locale } = useI18n();
  if (conversation.channel.kind !== "WHATSAPP" || conversation.status === "CLOSED") return null;
  const until = conversation.windowExpiresAt;
  if (until && Date.parse(until) > now) {
    return (
      <p className="window open" data-testid="window">
        {t("reply.window.open", { time: fullMoment(until, locale), left: timeLeft(until, t, now) })}
      </p>
    );
  }
  return (
    <p className="window closed" data-testid="window">
      {until ? t("reply.window.closed") : t("reply.window.none")}
    </p>
  );
}

/** A shared place's name and address, as WhatsApp sent them ("MASP — Av. Paulista, 1578"). */
function placeName(location: { label?: string | null; address?: string | null }): string {
  return [location.label, location.address].filter(Boolean).join(" — ");
}

function MessageItem({ message, locale }: { message: MessageData; locale: string }) {
  const { t } = useI18n();
  const inbound = message.direction === "INBOUND";
  const author =
    message.author === "MEMBER" && message.authorMember
      ? message.authorMember.fullName
      : t(`author.${message.author}`);
  return (
    <li
      className={`message ${inbound ? "inbound" : "outbound"} author-${message.author.toLowerCase()}`}
      data-error={message.isError || undefined}
      data-testid="message"
    >
      <span className="author">{author}</span>
      {message.isError && (
        <span className="flag" role="note">
          {message.author === "AI" ? t("message.fallback") : t("message.failed")}
          {message.errorMessage ? `: ${message.errorMessage}` : ""}
        </span>
      )}
      {message.body && <p className="body">{message.body}</p>}
      {message.media.map((media, index) =>
        // A file Atende has not kept (yet, or at all) has no link.
        media.url ? (
          <a key={index} className="media" href={media.url} target="_blank" rel="noreferrer">
            {t("message.media", { type: media.contentType ?? "?" })}
          </a>
        ) : (
          <span key={index} className="media">
            {t("message.media", { type: media.contentType ?? "?" })}
          </span>
        ),
      )}
      {message.transcript && (
        <p className="transcript" data-testid="transcript">
          <span className="label">{t("message.transcript")}</span> {message.transcript}
        </p>
      )}
      {message.media.map((media, index) =>
        media.transcriptErrorMessage ? (
          <span key={`transcript-${index}`} className="flag" role="note">
            {media.transcriptErrorMessage}
          </span>
        ) : null,
      )}
      {message.location && (
        <a
          className="location"
          href={message.location.mapUrl}
          target="_blank"
          rel="noreferrer"
          data-testid="location"
        >
          {[t("message.location"), placeName(message.location)].filter(Boolean).join(": ")}
        </a>
      )}
      {message.knowledgeSources && message.knowledgeSources.length > 0 && (
        <details className="sources">
          <summary>{t("message.sources", { count: message.knowledgeSources.length })}</summary>
          <ul>
            {message.knowledgeSources.map((source, index) => (
              <li key={`${source.document.id}-${index}`}>
                <strong>{source.document.title}</strong>: {source.text}
              </li>
            ))}
          </ul>
        </details>
      )}
      <span className="meta">
        <time dateTime={message.createdAt} title={fullMoment(message.createdAt, locale)}>
          {timeOfDay(message.createdAt, locale)}
        </time>
        {!inbound && <DeliveryTicks status={message.status} />}
      </span>
    </li>
  );
}
