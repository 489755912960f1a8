import type { MessageStatus } from "../gql/graphql";
import { useI18n } from "../i18n";

/** WhatsApp's ticks: a clock while queued, one tick sent, two delivered, two blue read,
 * a warning sign when it failed. Named for screen readers. */
export function DeliveryTicks({ status }: { status: MessageStatus }) {
  const { t } = useI18n();
  const label = t(`message.status.${status}`);
  let icon;
  switch (status) {
    case "QUEUED":
    case "SENDING":
      icon = <path d="M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zm.6 3v3.2l2.4 1.5-.6 1-3-1.9V4.5z" />;
      break;
    case "SENT":
      icon = <path d="M13.2 4.2 6.4 11 3 7.6l-1 1L6.4 13l7.8-7.8z" />;
      break;
    case "DELIVERED":
    case "READ":
      icon = (
        <path d="M11.2 4.2 4.4 11 1.8 8.4l-1 1L4.4 13l7.8-7.8zm3.8 0L8.2 11l-.7-.7-1 1L8.2 13 16 5.2z" />
      );
      break;
    case "FAILED":
    case "UNDELIVERED":
      icon = <path d="M8 1 .5 14.5h15zm-.7 4.5h1.4v5H7.3zm0 6h1.4V13H7.3z" />;
      break;
    default:
      return null;
  }
  return (
    <svg
      className={`ticks ticks-${status.toLowerCase()}`}
      viewBox="0 0 16 16"
      width="16"
      height="16"
      role="img"
      aria-label={label}
      data-status={status}
    >
      <title>{label}</title>
      {icon}
    </svg>
  );
}
