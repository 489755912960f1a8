import { useCallback, useEffect, useRef, useState } from "react";
import { InboxDocument } from "../api/operations";
import { useWorkspace } from "../context";
import type { Member } from "../context";
import type { BusEvent, ConversationData } from "../events";
import { shortMoment } from "../format";
import type { InboxQueryVariables } from "../gql/graphql";
import { useI18n } from "../i18n";
import type { MessageKey } from "../i18n/pt-BR";
import { conversationPath, followLink } from "../router";

export type Filter = "open" | "team" | "mine" | "unread" | "closed";
const FILTERS: { id: Filter; label: MessageKey }[] = [
  { id: "open", label: "inbox.filter.open" },
  { id: "team", label: "inbox.filter.team" },
  { id: "mine", label: "inbox.filter.mine" },
  { id: "unread", label: "inbox.filter.unread" },
  { id: "closed", label: "inbox.filter.closed" },
];
const PAGE_SIZE = 25;
const FILTER_KEY = "atende.inbox.filter";

function filterVariables(filter: Filter, me: Member): Partial<InboxQueryVariables> {
  switch (filter) {
    case "open":
      return { status: ["OPEN", "HANDOFF"] };
    case "team":
      return { status: ["OPEN", "HANDOFF"], aiEnabled: false };
    case "mine":
      return { status: ["OPEN", "HANDOFF"], assignedTo: me.id };
    case "unread":
      return { unread: true };
    case "closed":
      return { status: ["CLOSED"] };
  }
}

/** Whether a conversation, as an event shows it now, belongs in the list: the server's
 * filters, applied to one conversation. */
export function belongs(filter: Filter, conversation: ConversationData, me: Member): boolean {
  const open = conversation.status !== "CLOSED";
  switch (filter) {
    case "open":
      return open;
    case "team":
      return open && !conversation.aiEnabled;
    case "mine":
      return open && conversation.assignee?.id === me.id;
    case "unread":
      return conversation.unreadCount > 0;
    case "closed":
      return !open;
  }
}

function byActivity(a: ConversationData, b: ConversationData): number {
  return b.lastMessageAt.localeCompare(a.lastMessageAt) || b.id.localeCompare(a.id);
}

function initialFilter(): Filter {
  const stored = localStorage.getItem(FILTER_KEY);
  return FILTERS.some((filter) => filter.id === stored) ? (stored as Filter) : "open";
}

interface Page {
  items: ConversationData[];
  total: number;
  endCursor: string | null;
  hasNextPage: boolean;
}

export function Inbox({ selectedId }: { selectedId: string | null }) {
  const { t, locale } = useI18n();
  const { api, events, organizationId, me } = useWorkspace();
  const [filter, setFilter] = useState<Filter>(initialFilter);
  const [searchText, setSearchText] = useState("");
  const [search, setSearch] = useState("");
  const [page, setPage] = useState<Page | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const request = useRef(0);
  const sentinel = useRef<HTMLDivElement>(null);

  // Searching waits for a pause in typing, and for three characters (the API's minimum).
  useEffect(() => {
    const term = searchText.trim();
    const timer = setTimeout(() => setSearch(term.length >= 3 ? term : ""), 250);
    return () => clearTimeout(timer);
  }, [searchText]);

  const load = useCallback(
    async (after: string | null) => {
      const id = ++request.current;
      setLoading(true);
      const result = await api.client
        .query(InboxDocument, {
          organizationId,
          first: PAGE_SIZE,
          after,
          search: search || null,
          ...filterVariables(filter, me),
        })
        .toPromise();
      if (id !== request.current) return;
      setLoading(false);
      const connection = result.data?.organization?.conversations;
      if (!connection) {
        if (result.error && !result.error.networkError) setError(result.error.message);
        return;
      }
      setError(null);
      const fresh = connection.edges.map((edge) => edge.node);
      setPage((previous) => {
        const kept = after && previous ? previous.items : [];
        const seen = new Set(fresh.map((item) => item.id));
        return {
          items: [...kept.filter((item) => !seen.has(item.id)), ...fresh],
          total: connection.totalCount,
          endCursor: connection.pageInfo.endCursor ?? null,
          hasNextPage: connection.pageInfo.hasNextPage,
        };
      });
    },
    [api, organizationId, filter, search, me],
  );

  useEffect(() => {
    setPage(null);
    void load(null);
    return api.onResync(() => void load(null));
  }, [api, load]);

  // Live: a conversation an event shows is put where it belongs now, or taken out.
  useEffect(
    () =>
      events.on((event: BusEvent) => {
        const conversation = event.conversation;
        if (!conversation) return;
        setPage((previous) => {
          if (!previous) return previous;
          const present = previous.items.some((item) => item.id === conversation.id);
          const fits = belongs(filter, conversation, me);
          if (!present && (!fits || search)) return previous;
          const others = previous.items.filter((item) => item.id !== conversation.id);
          if (!fits) return { ...previous, items: others, total: Math.max(0, previous.total - 1) };
          const items = [...others, conversation].sort(byActivity);
          // A conversation older than the last one loaded waits for its page.
          const last = previous.items[previous.items.length - 1];
          if (!present && previous.hasNextPage && last && byActivity(conversation, last) > 0) {
            return previous;
          }
          return { ...previous, items, total: previous.total + (present ? 0 : 1) };
        });
      }),
    [events, filter, me, search],
  );

  // Infinite scroll: the next page loads as the end of the list comes into view.
  useEffect(() => {
    const target = sentinel.current;
    if (!target || !page?.hasNextPage) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting) && !loading) void load(page.endCursor);
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [page, loading, load]);

  const choose = (next: Filter) => {
    localStorage.setItem(FILTER_KEY, next);
    setFilter(next);
  };

  const count = page?.total ?? 0;
  return (
    <section className="inbox" id="inbox" aria-labelledby="inbox-title" tabIndex={-1}>
      <div className="inbox-head">
        <h1 id="inbox-title">{t("inbox.title")}</h1>
        {page && (
          <span className="muted" aria-live="polite" data-testid="inbox-count">
            {count === 1 ? t("inbox.count.one") : t("inbox.count", { count })}
          </span>
        )}
      </div>
      <div className="filters" role="group" aria-label={t("inbox.filters")}>
        {FILTERS.map((option) => (
          <button
            key={option.id}
            type="button"
            className="chip"
            aria-pressed={filter === option.id}
            onClick={() => choose(option.id)}
          >
            {t(option.label)}
          </button>
        ))}
      </div>
      <div className="search">
        <input
          type="search"
          aria-label={t("inbox.search")}
          placeholder={t("inbox.search")}
          value={searchText}
          onChange={(event) => setSearchText(event.target.value)}
          aria-describedby="search-hint"
        />
        <span id="search-hint" className="visually-hidden">
          {t("inbox.searchHint")}
        </span>
      </div>
      {error && (
        <p className="notice error" role="alert">
          {t("status.error", { message: error })}
        </p>
      )}
      <ul className="conversation-list" aria-label={t("inbox.list")} aria-busy={loading}>
        {page?.items.map((conversation) => (
          <ConversationItem
            key={conversation.id}
            conversation={conversation}
            selected={conversation.id === selectedId}
            me={me}
            locale={locale}
          />
        ))}
      </ul>
      {page && page.items.length === 0 && !loading && (
        <p className="empty">
          {search ? t("inbox.emptySearch", { search }) : t("inbox.empty")}
        </p>
      )}
      {!page && loading && (
        <p className="loading" role="status">
          {t("status.loading")}
        </p>
      )}
      {page?.hasNextPage && (
        <div ref={sentinel} className="load-more">
          <button type="button" disabled={loading} onClick={() => void load(page.endCursor)}>
            {loading ? t("inbox.loadingMore") : t("inbox.loadMore")}
          </button>
        </div>
      )}
    </section>
  );
}

function ConversationItem({
  conversation,
  selected,
  me,
  locale,
}: {
  conversation: ConversationData;
  selected: boolean;
  me: Member;
  locale: string;
}) {
  const { t } = useI18n();
  const last = conversation.lastMessage;
  const unread = conversation.unreadCount;
  const path = conversationPath(conversation.id);
  let preview = t("inbox.noMessages");
  if (last) {
    const text = last.body || t("inbox.media");
    const author =
      last.author === "CONTACT"
        ? ""
        : last.author === "MEMBER"
          ? `${t("inbox.you")}: `
          : `${t(`author.${last.author}`)}: `;
    preview = `${author}${text}`;
  }
  const withTeam = conversation.status !== "CLOSED" && !conversation.aiEnabled;
  return (
    <li>
      <a
        href={path}
        className="conversation-item"
        aria-current={selected ? "page" : undefined}
        data-unread={unread > 0 || undefined}
        onClick={(event) => followLink(event, path)}
      >
        <span className="avatar" aria-hidden="true">
          {initials(conversation.contact.name)}
        </span>
        <span className="item-main">
          <span className="item-top">
            <span className="name">{conversation.contact.name}</span>
            <time dateTime={conversation.lastMessageAt}>
              {shortMoment(conversation.lastMessageAt, locale)}
            </time>
          </span>
          <span className="item-bottom">
            <span className="preview">{preview}</span>
            {unread > 0 && (
              <span className="badge">
                <span aria-hidden="true">{unread > 99 ? "99+" : unread}</span>
                <span className="visually-hidden">
                  {unread === 1 ? t("inbox.unread.one") : t("inbox.unread", { count: unread > 99 ? "99+" : unread })}
                </span>
              </span>
            )}
          </span>
          {(withTeam || conversation.assignee || conversation.status === "CLOSED") && (
            <span className="item-tags">
              {withTeam && <span className="tag team">{t("conversation.ai.off")}</span>}
              {conversation.status === "CLOSED" && (
                <span className="tag">{t("conversation.status.CLOSED")}</span>
              )}
              {conversation.assignee && (
                <span className="tag">
                  {conversation.assignee.id === me.id ? t("inbox.you") : conversation.assignee.fullName}
                </span>
              )}
            </span>
          )}
        </span>
      </a>
    </li>
  );
}

function initials(name: string): string {
  const letters = name
    .replace(/[^\p{L}\p{N} ]/gu, "")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0]?.toUpperCase());
  return letters.join("") || "#";
}
