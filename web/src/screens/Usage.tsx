// Usage over the last 14 days, a day each: pictures, not tables (issue 22).
import { useEffect, useState } from "react";
import { UsageDocument } from "../api/operations";
import { BarChart } from "../components/BarChart";
import { useWorkspace } from "../context";
import type { UsageFieldsFragment, UsageQueryVariables } from "../gql/graphql";
import { useI18n } from "../i18n";

const DAYS = 14;

/** Midnight (local) of each of the last DAYS days, and of tomorrow: DAYS + 1 boundaries. */
function boundaries(now = new Date()): Date[] {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  return Array.from({ length: DAYS + 1 }, (_, index) => {
    const day = new Date(midnight);
    day.setDate(midnight.getDate() - (DAYS - 1) + index);
    return day;
  });
}

export function Usage() {
  const { t, locale } = useI18n();
  const { api, organizationId } = useWorkspace();
  const [days, setDays] = useState<UsageFieldsFragment[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    document.title = `${t("usage.title")} · ${t("app.name")}`;
  }, [t]);

  useEffect(() => {
    const edges = boundaries();
    const variables = {
      organizationId,
      ...Object.fromEntries(edges.map((edge, index) => [`d${index}`, edge.toISOString()])),
    } as UsageQueryVariables;
    void api.client
      .query(UsageDocument, variables)
      .toPromise()
      .then((result) => {
        const organization = result.data?.organization;
        if (!organization) {
          setError(result.error?.message ?? t("conversation.notFound"));
          return;
        }
        const record = organization as unknown as Record<string, UsageFieldsFragment>;
        setDays(Array.from({ length: DAYS }, (_, index) => record[`d${index}`]!));
      });
  }, [api, organizationId, t]);

  if (error) {
    return (
      <p className="notice error" role="alert">
        {t("status.error", { message: error })}
      </p>
    );
  }
  if (!days) {
    return (
      <p className="loading" role="status">
        {t("status.loading")}
      </p>
    );
  }
  const labels = days.map((day) =>
    new Intl.DateTimeFormat(locale, { day: "2-digit", month: "2-digit" }).format(new Date(day.from)),
  );
  const pick = (key: keyof UsageFieldsFragment) => days.map((day) => Number(day[key] ?? 0));
  return (
    <div className="settings usage">
      <h1>{t("usage.title")}</h1>
      <p className="muted">{t("usage.period")}</p>
      <BarChart
        title={t("usage.messages")}
        labels={labels}
        series={[
          { name: t("usage.messagesIn"), className: "series-0", values: pick("messagesIn") },
          { name: t("usage.messagesOut"), className: "series-1", values: pick("messagesOut") },
        ]}
      />
      <BarChart
        title={t("usage.assistant")}
        labels={labels}
        series={[
          { name: t("usage.aiReplies"), className: "series-2", values: pick("aiReplies") },
          { name: t("usage.fallbacks"), className: "series-3", values: pick("fallbacks") },
        ]}
      />
      <BarChart
        title={t("usage.tokens")}
        labels={labels}
        series={[
          { name: t("usage.tokensIn"), className: "series-0", values: pick("tokensIn") },
          { name: t("usage.tokensOut"), className: "series-1", values: pick("tokensOut") },
        ]}
        format={(value) =>
          new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 }).format(value)
        }
      />
    </div>
  );
}
