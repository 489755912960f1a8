import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Api } from "./api/client";
import { SessionStore } from "./api/session";
import { App } from "./App";
import { I18nProvider } from "./i18n";
import "./styles.css";

const session = new SessionStore();
const api = new Api(session);

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <I18nProvider>
        <App api={api} session={session} />
      </I18nProvider>
    </StrictMode>,
  );
}
