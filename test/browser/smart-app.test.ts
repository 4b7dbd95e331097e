import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_CATEGORY_SYSTEM } from '../../profiles/index.js';
import { register, type Json } from '../smart/helpers.js';
import type { TestNetwork } from '../support/network.js';
import { startDemoNetwork } from '../support/seed-scenario.js';
import { startAppServer, type AppServer } from './app-server.js';
import { launchChromium, requireChromium, screenshots } from './chromium.js';

interface ShownDocument {
  id: string;
  category: string;
}

// at collection, so a machine without Chromium fails this file rather than reporting its tests as skipped
requireChromium();

/**
 * The acceptance run of SMART on FHIR: a small app built on the SMART JavaScript client (fhirclient), in
 * headless Chromium, against Hospital A of a test network seeded like `npm start` (server/demo/seed.ts).
 */
describe('a fhirclient SMART app in Chromium: standalone patient launch and EHR launch', () => {
  let browser: Browser;
  let net: TestNetwork;
  let appServer: AppServer;
  let app: Json;
  let mara: { patientId: string; pseudonym: string };

  beforeAll(async () => {
    browser = await launchChromium();
    ({ net, mara } = await startDemoNetwork());
    appServer = await startAppServer();
    app = await register(net.a, {
      client_name: 'Oncology record viewer',
      redirect_uris: [`${appServer.origin}/index.html`],
      launch_uri: `${appServer.origin}/launch.html`,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    });
    appServer.configure({ clientId: app.client_id, fhirBase: net.a.baseUrl, categorySystem: DATA_CATEGORY_SYSTEM });
  });
  afterAll(async () => {
    await browser?.close();
    await appServer?.stop();
    await net?.stop();
  });

  /** Mara's documents on the ledger (the hospital's replica) that a read decision would admit. */
  async function ledgerDocuments(admit: (d: { category: string; author: string }) => boolean): Promise<string[]> {
    const { rows } = await net.a.db.query<{ id: string; category: string; author: string }>('SELECT id, category, author FROM ledger_documents WHERE patient = $1', [mara.pseudonym]);
    return rows.filter(admit).map((r) => r.id).sort();
  }

  async function activeReadCategories(granteeKind: string, granteeId: string): Promise<string[]> {
    const { rows } = await net.a.db.query<{ categories: string[] }>(
      `SELECT categories FROM ledger_permissions WHERE patient = $1 AND grantee_kind = $2 AND grantee_id = $3 AND status = 'active' AND 'read' = ANY (rights) AND valid_from <= now() AND now() < valid_to`,
      [mara.pseudonym, granteeKind, granteeId],
    );
    return [...new Set(rows.flatMap((r) => r.categories))].sort();
  }

  async function appPage(page: Page): Promise<{ status: string; patient: string; fhirUser: string; banner: boolean; documents: ShownDocument[] }> {
    await page.waitForURL(`${appServer.origin}/index.html**`);
    const status = page.locator('#status');
    await page.locator('#status:not([data-state="loading"])').waitFor();
    expect(await status.getAttribute('data-state'), await status.textContent() ?? '').toBe('ready');
    return {
      status: (await status.textContent()) ?? '',
      patient: (await page.locator('#patient-name').textContent()) ?? '',
      fhirUser: (await page.locator('#fhir-user').textContent()) ?? '',
      banner: await page.locator('#banner').isVisible(),
      documents: await Promise.all(
        (await page.locator('#documents tbody tr').all()).map(async (row) => ({
          id: (await row.getAttribute('data-id')) ?? '',
          category: (await row.getAttribute('data-category')) ?? '',
        })),
      ),
    };
  }

  /** A fresh browser profile per flow; on a failure the page as it was is saved as the flow's last screenshot. */
  async function withContext(shot: (page: Page, step: string) => Promise<void>, fn: (page: Page) => Promise<void>): Promise<void> {
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    try {
      await fn(page);
    } catch (err) {
      await shot(page, 'failure').catch(() => undefined);
      throw err;
    } finally {
      await context.close();
    }
  }

  it('standalone patient launch: Mara signs in, approves three kinds of records, and the app shows exactly those', async () => {
    const shot = screenshots('standalone');
    await withContext(shot, async (page) => {
      await page.goto(`${appServer.origin}/launch.html`);
      // fhirclient read the SMART configuration and sent the browser to the hospital's authorization endpoint
      await page.waitForURL(`${net.a.baseUrl}/auth/interaction/**`);
      await page.getByLabel('Username').fill('mara');
      await page.getByLabel('Password').fill('mara-demo');
      await shot(page, 'login');
      await page.getByRole('button', { name: 'Sign in' }).click();

      await page.locator('input[name="category"]').first().waitFor();
      const scopes = await Promise.all((await page.locator('input[name="scope"]').all()).map(async (box) => [await box.getAttribute('value'), await box.isChecked()]));
      expect(Object.fromEntries(scopes)).toEqual({ 'launch/patient': true, openid: true, fhirUser: true, 'patient/Patient.rs': true, 'patient/DocumentReference.rs': true });
      await expectChecked(page, 'patient-private', false);
      await shot(page, 'consent');
      for (const category of ['imaging', 'treatment-plan']) await page.locator(`input[name="category"][value="${category}"]`).uncheck();
      await shot(page, 'consent-chosen');
      await page.getByRole('button', { name: 'Approve' }).click();

      const shown = await appPage(page);
      await shot(page, 'app');
      expect(shown.patient).toBe('Mara Okafor');
      expect(shown.fhirUser).toBe(`Patient/${mara.patientId}`);
      expect(shown.banner).toBe(true);

      // the approval wrote a ledger permission for the app: exactly the categories left ticked
      const permitted = await activeReadCategories('client', app.client_id);
      expect(permitted).toEqual(['history-physical', 'lab-results', 'radiation-dose']);
      const expected = await ledgerDocuments((d) => permitted.includes(d.category));
      expect(expected).toHaveLength(3);
      expect(shown.documents.map((d) => d.id).sort()).toEqual(expected);
      expect(shown.documents.map((d) => d.category).sort()).toEqual(permitted);
      expect(shown.status).toBe(`3 documents from ${net.a.baseUrl}`);
    });
  });

  it('EHR launch: Dr. Ryu opens the oncology EHR, launches the app for Mara, and it shows what the ledger lets him read', async () => {
    const shot = screenshots('ehr');
    await withContext(shot, async (page) => {
      await page.goto(`${net.a.url}/ehr`);
      await page.getByLabel('Username').fill('dr.ryu');
      await page.getByLabel('Password').fill('ryu-demo');
      await shot(page, 'login');
      await page.getByRole('button', { name: 'Sign in' }).click();

      await page.getByLabel('Patient').selectOption(mara.patientId);
      await page.getByLabel('SMART app').selectOption(app.client_id);
      await shot(page, 'chart');
      await page.getByRole('button', { name: 'Launch app' }).click();

      // launch_uri?iss=…&launch=… → fhirclient → authorize; the hospital session spares a second sign-in
      await page.waitForURL(`${net.a.baseUrl}/auth/interaction/**`);
      await page.getByRole('button', { name: 'Approve' }).waitFor();
      expect(await page.locator('main').textContent()).toContain('Patient in context: Mara Okafor');
      expect(await page.locator('input[name="category"]').count()).toBe(0);
      await shot(page, 'consent');
      await page.getByRole('button', { name: 'Approve' }).click();

      const shown = await appPage(page);
      await shot(page, 'app');
      expect(shown.patient).toBe('Mara Okafor');
      expect(shown.fhirUser).toBe('Practitioner/ryu');
      expect(shown.banner).toBe(false); // the EHR shows the patient; need_patient_banner is false

      // Dr. Ryu reads what he authored and what Mara's permission to him covers — never her private note
      const ryu = `${net.a.mspId}/Practitioner/ryu`;
      const permitted = await activeReadCategories('practitioner', ryu);
      expect(permitted).not.toContain('patient-private');
      const expected = await ledgerDocuments((d) => d.author === ryu || permitted.includes(d.category));
      expect(shown.documents.map((d) => d.id).sort()).toEqual(expected);
      expect(shown.documents).toHaveLength(5);
      expect(shown.status).toBe(`5 documents from ${net.a.baseUrl}`);
      expect(shown.documents.map((d) => d.category)).not.toContain('patient-private');
      expect(await ledgerDocuments((d) => d.category === 'patient-private')).toHaveLength(1);
    });
  });
});

async function expectChecked(page: Page, category: string, checked: boolean): Promise<void> {
  expect(await page.locator(`input[name="category"][value="${category}"]`).isChecked()).toBe(checked);
}
