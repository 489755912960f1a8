import type { Connection } from "../api/client";
import { useI18n } from "../i18n";

/** What is wrong with the connection, never a blank page: the API unreachable, or the
 * live updates interrupted (and being retried). */
export function ConnectionBanner({
  connection,
  onRetry,
}: {
  connection: Connection;
  onRetry: () => void;
}) {
  const { t } = useI18n();
  if (connection.apiDown) {
    return (
      <div className="banner error" role="alert" data-testid="api-down">
        <span>{t("status.apiDown")}</span>
        <button type="button" onClick={onRetry}>
          {t("status.retry")}
        </button>
      </div>
    );
  }
  if (connection.liveDown) {
    return (
      <div className="banner warning" role="status" data-testid="live-down">
        {t("status.reconnecting")}
      </div>
    );
  }
  return null;
}
