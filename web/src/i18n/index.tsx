// A small i18n layer: typed message keys, {placeholders}, the locale kept in localStorage
// and reflected in <html lang>. Portuguese (Brazil) first; English second.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { en } from "./en";
import { ptBR } from "./pt-BR";
import type { MessageKey, Messages } from "./pt-BR";

export type Locale = "pt-BR" | "en";
export const LOCALES: { id: Locale; label: string }[] = [
  { id: "pt-BR", label: "Português (Brasil)" },
  { id: "en", label: "English" },
];
const CATALOGS: Record<Locale, Messages> = { "pt-BR": ptBR, en };
const STORAGE_KEY = "atende.locale";

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

function initialLocale(): Locale {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === "pt-BR" || stored === "en") return stored;
  return "pt-BR";
}

export function format(template: string, params?: Record<string, string | number>): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

interface I18n {
  locale: Locale;
  setLocale: (locale: Locale) => void;
  t: Translate;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const setLocale = useCallback((next: Locale) => {
    localStorage.setItem(STORAGE_KEY, next);
    setLocaleState(next);
  }, []);
  const value = useMemo<I18n>(() => {
    const catalog = CATALOGS[locale];
    return { locale, setLocale, t: (key, params) => format(catalog[key], params) };
  }, [locale, setLocale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error("useI18n outside I18nProvider");
  return value;
}

export function LanguageSelect({ showLabel = false }: { showLabel?: boolean }) {
  const { locale, setLocale, t } = useI18n();
  return (
    <label className="language">
      <span className={showLabel ? "language-label" : "visually-hidden"}>{t("app.language")}</span>
      <select
        aria-label={t("app.language")}
        value={locale}
        onChange={(event) => setLocale(event.target.value as Locale)}
      >
        {LOCALES.map((option) => (
          <option key={option.id} value={option.id} lang={option.id}>
            {option.label}
          </option>
        ))}
      </select>
    </label>
  );
}
