// Dates and times as the team reads them, in the chosen locale.
import type { Translate } from "./i18n";

export function timeOfDay(iso: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(
    new Date(iso),
  );
}

/** Today: the time; this week: the weekday; else the date. For inbox rows. */
export function shortMoment(iso: string, locale: string, now = new Date()): string {
  const moment = new Date(iso);
  const sameDay = moment.toDateString() === now.toDateString();
  if (sameDay) return timeOfDay(iso, locale);
  const days = (now.getTime() - moment.getTime()) / 86_400_000;
  if (days < 6) return new Intl.DateTimeFormat(locale, { weekday: "short" }).format(moment);
  return new Intl.DateTimeFormat(locale, { day: "2-digit", month: "2-digit" }).format(moment);
}

export function fullMoment(iso: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" }).format(
    new Date(iso),
  );
}

export function timeLeft(untilIso: string, t: Translate, now = Date.now()): string {
  const minutes = Math.max(0, Math.floor((Date.parse(untilIso) - now) / 60_000));
  if (minutes >= 60) {
    return t("time.left.hours", { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
  }
  return t("time.left.minutes", { minutes });
}
