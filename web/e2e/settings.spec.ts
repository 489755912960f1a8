// Settings: the assistant's (saved, and a refusal shown beside its field) and the team's
// (an invitation sent, listed, revoked).
import { expect, test } from "@playwright/test";
import { screenshot, signIn } from "./support";

test("the owner changes the assistant's settings", async ({ page }) => {
  await signIn(page);
  await page.getByRole("navigation", { name: "Navegação principal" })
    .getByRole("link", { name: "Configurações" })
    .click();
  await expect(page.getByRole("heading", { name: "Configurações" })).toBeVisible();
  const name = page.getByLabel("Nome do assistente");
  await expect(name).not.toHaveValue("");
  await name.fill("Assistente da Padaria");
  await page.getByLabel("Esperar mais mensagens do cliente por (segundos)").fill("2");
  await page.getByLabel("Texto do lembrete (vazio: nenhum)").fill("Posso ajudar em algo mais?");
  await page.getByLabel("Enviar após (minutos)").fill("30");
  await page.getByLabel("Enviar à IA as fotos e figurinhas do cliente").check();
  await page.getByRole("button", { name: "Salvar" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Alterações salvas." })).toBeVisible();
  await page.locator("#main").evaluate((pane) => pane.scrollTo(0, 0));
  await screenshot(page, "settings", "desktop");

  await page.reload();
  await expect(page.getByLabel("Nome do assistente")).toHaveValue("Assistente da Padaria");
  await expect(page.getByLabel("Enviar após (minutos)")).toHaveValue("30");
  await expect(page.getByLabel("Enviar à IA as fotos e figurinhas do cliente")).toBeChecked();

  // The API's refusal, beside the field it names.
  await page.getByLabel("Modelo").fill("um modelo com espaços!");
  await page.getByRole("button", { name: "Salvar" }).click();
  await expect(page.getByRole("alert").first()).toBeVisible();
  await expect(page.getByLabel("Modelo")).toHaveAttribute("aria-invalid", "true");
});

test("the owner invites someone to the team and revokes it", async ({ page }) => {
  await signIn(page);
  await page.goto("/settings/team");
  await expect(page.getByRole("heading", { name: "Membros" })).toBeVisible();
  await expect(page.getByLabel("Papel de Dona Ana")).toHaveValue("OWNER");
  const email = `carla.${Date.now()}@padaria.test`;
  await page.getByLabel("E-mail de quem convidar").fill(email);
  await page.getByRole("button", { name: "Enviar convite" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Convite enviado para ${email}` }))
    .toBeVisible();
  const invitation = page.getByRole("listitem").filter({ hasText: email });
  await expect(invitation).toContainText("Pendente");
  await invitation.getByRole("button", { name: `Cancelar convite para ${email}` }).click();
  await expect(invitation).toContainText("Cancelado");
});
