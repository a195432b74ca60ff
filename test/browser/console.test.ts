/**
 * The admin console (issue 17) in a real browser: Debian's Chromium (/usr/bin/chromium) driven by playwright-core,
 * against the real server on each store. An admin signs in with a token, sees a person a SCIM POST just created,
 * finds their memberships, creates a team, links a group to it and sees the membership appear, finds a failed SCIM
 * request in the log with the error it was answered with, previews a reconcile and applies it, constrains the team
 * and unlinks the group, and signs out; a session that ends under the page sends it back to the sign-in form. With
 * the connector on (Mattermost unreachable), a parked delivery is retried from the connector page. The page runs under its strict CSP: a
 * violation, a script error or an unlabelled form control fails the test. A phone-width run (390 px) checks that a
 * page fits without scrolling sideways. Every page is saved to artifacts/screenshots/ (CI keeps them).
 *
 * Without /usr/bin/chromium the suite is skipped with a message (`apt-get install -y chromium`; .ci/run installs it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { request as httpRequest } from 'node:http';
import { client, connect, GROUP_SCHEMA, newUser, rand, ROOT, stores, unusedPort, useServer, type TestServer } from '../helpers/server.ts';
import { workspace } from '../helpers/workspace-http.ts';
import { createToken } from '../../src/store/tokens.ts';
import { until } from '../helpers/connector.ts';
import { park, type Delivery } from '../../src/store/outbox.ts';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) to run the browser tests`;
const SHOTS = join(ROOT, 'artifacts', 'screenshots');

/** What the page reported that a test must not see: CSP violations, uncaught errors, failed script loads. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    // A 401 (GET /console/session when signed out) or a 403 (a token without admin scope) is an answer the page shows.
    if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return problems;
}

async function launch(): Promise<Browser> {
  // Chromium's sandbox needs user namespaces, which a root CI container does not give it.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Every input and select has a label (or an aria-label): the form is usable with a screen reader. */
async function assertLabelled(page: Page): Promise<void> {
  const unlabelled = await page.$$eval('input, select, textarea', (els) => els
    .filter((e) => !(e as HTMLInputElement).labels?.length && !e.getAttribute('aria-label'))
    .map((e) => e.outerHTML.slice(0, 120)));
  assert.deepEqual(unlabelled, []);
}

/** A link of the console's navigation (the page may have a link of the same name, such as "People"). */
const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name, exact: true }).click();

async function signIn(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.url}/console`);
  await page.getByLabel('Admin token').fill(server.adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
}

const mattermostPort = await unusedPort();

for (const store of stores()) {
  describe(`admin console in Chromium [${store}]`, { skip: SKIP }, () => {
    const env = useServer(store);
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let problems: string[];
    const person = newUser({ displayName: `Ada Lovelace ${rand()}` });
    const groupName = `Engineering ${rand()}`;
    const teamName = `eng-${rand()}`;
    let personId = '';

    before(async () => {
      browser = await launch();
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      page = await context.newPage();
      page.setDefaultTimeout(15_000);
      problems = watch(page);
    });
    after(async () => { await browser?.close(); });

    test('sign in: a wrong token is refused in the page, an admin token opens the overview', async () => {
      await page.goto(`${env.server.url}/console`);
      await page.getByRole('heading', { name: 'Sign in to the provisioning console' }).waitFor();
      await assertLabelled(page);
      await shot(page, `${store}-sign-in`);
      await page.getByLabel('Admin token').fill(env.server.token); // a SCIM token: not an admin
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'Not signed in' }).waitFor();
      await page.getByLabel('Admin token').fill(env.server.adminToken);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      await page.getByText('People active').waitFor();
      await page.getByRole('heading', { name: 'Requests per minute, last 24 h' }).waitFor();
      const cookies = await context.cookies();
      assert.ok(cookies.length > 0 && cookies.every((c) => c.httpOnly && c.sameSite === 'Strict'), JSON.stringify(cookies));
    });

    test('a person a SCIM POST just created shows up in the search and on their page', async () => {
      const scim = client(env.server);
      const created = await scim.post('/Users', person);
      assert.equal(created.status, 201);
      personId = created.body.id;
      await nav(page, 'People');
      await page.getByLabel('Search by name, userName or email').fill(person.userName);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('link', { name: person.userName }).waitFor();
      await shot(page, `${store}-people`);
      await page.getByRole('link', { name: person.userName }).click();
      await page.getByRole('heading', { name: person.displayName, level: 1 }).waitFor();
      await page.getByText(person.externalId, { exact: true }).waitFor();
      await page.getByRole('heading', { name: 'Audit trail' }).waitFor();
      await page.getByRole('cell', { name: 'create_user' }).first().waitFor();
      assert.equal(new URL(page.url()).pathname, `/console/people/${personId}`);
      await assertLabelled(page);
      // Straight to a person by userName, and that URL reloads to the same page (history API routing, deep links).
      await nav(page, 'People');
      await page.getByLabel('Search by name, userName or email').fill(person.userName);
      await page.getByRole('button', { name: 'Open' }).click();
      await page.getByRole('heading', { name: person.displayName, level: 1 }).waitFor();
      assert.equal(decodeURIComponent(new URL(page.url()).pathname), `/console/people/${person.userName}`);
      await page.reload();
      await page.getByRole('heading', { name: person.displayName, level: 1 }).waitFor();
    });

    test('create a team, link a group to it, and see the membership appear with its cause', async () => {
      const group = await client(env.server).post('/Groups', { schemas: [GROUP_SCHEMA], displayName: groupName, members: [{ value: personId }] });
      assert.equal(group.status, 201);
      await nav(page, 'Teams and links');
      await page.getByLabel('Name (URL, lower-case)').fill(teamName);
      await page.getByLabel('Display name').fill(`Engineering team ${teamName}`);
      await page.getByRole('button', { name: 'Create team' }).click();
      await page.getByRole('heading', { name: `Engineering team ${teamName}`, level: 1 }).waitFor();
      await page.getByRole('table', { name: 'Channels' }).waitFor(); // the default channels came with it
      await page.getByLabel('Group', { exact: true }).selectOption({ label: groupName });
      await page.getByRole('button', { name: 'Link group' }).click();
      await page.getByRole('status').filter({ hasText: 'Linked.' }).waitFor();
      await page.getByRole('table', { name: 'Group links' }).getByRole('cell', { name: groupName, exact: true }).waitFor();
      await page.getByRole('table', { name: 'Members' }).getByRole('link', { name: person.userName }).waitFor();
      await assertLabelled(page);
      await shot(page, `${store}-team`);

      // The person's page says they are in the team because of the group.
      await page.getByRole('table', { name: 'Members' }).getByRole('link', { name: person.userName }).click();
      await page.getByRole('heading', { name: person.displayName, level: 1 }).waitFor();
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: teamName, exact: true }) });
      await row.getByText(`group ${groupName}`).waitFor();
      await page.getByText(groupName, { exact: false }).first().waitFor();
      await shot(page, `${store}-person`);
      // The first screen of it, as the README shows it (docs/console.png is a copy).
      await page.screenshot({ path: join(SHOTS, `${store}-person-first-screen.png`) });

      await nav(page, 'Teams and links');
      await page.getByRole('link', { name: `Engineering team ${teamName}` }).waitFor();
      await shot(page, `${store}-teams`);
    });

    test('a failed SCIM request shows in the log with the error it was answered with', async () => {
      const dup = await client(env.server).post('/Users', { ...newUser(), userName: person.userName });
      assert.equal(dup.status, 409);
      await env.server.running!.requestLog!.flush();
      await nav(page, 'Provisioning log');
      await page.getByLabel('Status').selectOption('4xx');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const row = page.getByRole('table', { name: 'Requests' }).getByRole('row').filter({ hasText: '409' }).first();
      await row.getByText('uniqueness').waitFor();
      await row.getByRole('button', { name: /Show/ }).click();
      await page.getByText('Error returned').waitFor();
      await page.getByText('This request changed nothing (no audit rows).').waitFor();
      await assertLabelled(page);
      await shot(page, `${store}-log`);

      // The person filter: the requests that touched them, their creation among them.
      await page.getByLabel('Status').selectOption('');
      await page.getByLabel('Person').fill(person.userName);
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.getByRole('table', { name: 'Requests' }).getByRole('row').filter({ hasText: '201' }).first().waitFor();
    });

    test('a reconcile is previewed (dry run) before it is applied', async () => {
      await nav(page, 'Teams and links');
      await page.getByRole('link', { name: `Engineering team ${teamName}` }).click();
      await page.getByRole('button', { name: 'Preview changes' }).click();
      await page.getByRole('heading', { name: /Preview \(dry run\)/ }).waitFor();
      await page.getByRole('button', { name: 'Apply', exact: true }).click();
      await page.getByRole('heading', { name: 'Reconcile applied' }).waitFor();
    });

    test('on a group-constrained team, unlinking the group (after a confirmation) takes the membership away', async () => {
      // An unconstrained team keeps its members when a link goes (Mattermost's rule): constrain it first.
      page.once('dialog', (d) => void d.accept());
      await page.getByRole('button', { name: 'Make group-constrained' }).click();
      await page.getByText('Group-constrained: only members of linked groups may be members.').waitFor();
      await page.getByRole('table', { name: 'Members' }).getByRole('link', { name: person.userName }).waitFor();
      page.once('dialog', (d) => void d.accept());
      await page.getByRole('button', { name: `Unlink ${groupName} from the team` }).click();
      await page.getByRole('status').filter({ hasText: `Unlinked ${groupName} from the team.` }).waitFor();
      await page.getByText('No group is linked to this team or its channels.').waitFor();
      await page.getByRole('region', { name: 'Members' }).getByText('No member.').waitFor();
    });

    test('the overview counts the person, the group and the team; the connector page says it is off', async () => {
      await nav(page, 'Overview');
      await page.getByText('People active').waitFor();
      await page.getByRole('heading', { name: 'Error rate per client (24 h)' }).waitFor();
      await page.locator('svg.chart').first().waitFor();
      await shot(page, `${store}-overview`);
      await nav(page, 'Connector');
      await page.getByText('The Mattermost connector is off.').waitFor();
      await shot(page, `${store}-connector`);
    });

    test('odd URLs are pages, not crashes: a prototype key as a filter, a malformed escape in a deep link', async () => {
      const seen = watch(page);
      await page.goto(`${env.server.url}/console/log?range=constructor&scope=__proto__`);
      await page.getByRole('heading', { name: 'Provisioning log' }).waitFor();
      assert.equal(await page.locator('#f-range').inputValue(), '24h');
      assert.equal(await page.locator('#f-scope').inputValue(), 'scim');
      await page.goto(`${env.server.url}/console/people/%E0%A4%A`);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      // The page asks for that key and shows the 404; wait for Chromium to report it, so it is not left to a later test.
      for (let i = 0; i < 100 && !seen.some((p) => /status of 404/.test(p)); i++) await page.waitForTimeout(50);
      assert.ok(seen.some((p) => /status of 404/.test(p)), 'the person page asked for the key');
      assert.deepEqual(seen.filter((p) => !/status of 404/.test(p)), []);
      // The person page's 404 (nobody has that key) is an answer the page shows, not a problem for the later tests.
      problems.splice(0, problems.length, ...problems.filter((p) => !/status of 404/.test(p)));
    });

    test('a session that ends under the page sends it back to the sign-in form', async () => {
      await context.clearCookies();
      await nav(page, 'People');
      await page.getByText('Your session expired: sign in again.').waitFor();
      await signIn(page, env.server);
    });

    test('sign out ends the session: the page shows the sign-in form and the cookie opens nothing', async () => {
      const before = await context.cookies();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByText('You are signed out.').waitFor();
      await page.reload();
      await page.getByRole('heading', { name: 'Sign in to the provisioning console' }).waitFor();
      // The old cookie, replayed: the server no longer knows the session.
      const cookie = before.map((c) => `${c.name}=${c.value}`).join('; ');
      const res = await fetch(`${env.server.url}/admin/v1/overview`, { headers: { Cookie: cookie } });
      assert.equal(res.status, 401);
      assert.deepEqual(problems, []);
    });

    test('with the keyboard alone: sign in, skip to the content, and a link moves the focus to the new page\'s heading', async () => {
      await page.getByLabel('Admin token').focus();
      await page.keyboard.type(env.server.adminToken);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      await page.waitForFunction(() => document.title === 'Overview · Provisioning console');
      // The first page starts at the top: the first Tab reaches the skip link.
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
      // Tab on to the navigation's People link, follow it: the new page's heading has the focus.
      for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.textContent)) !== 'People'; i++) await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'People', level: 1 }).waitFor();
      await page.waitForFunction(() => document.activeElement?.id === 'page-title');
      await page.waitForFunction(() => document.title === 'People · Provisioning console');
      // Focus is visible: the focused search field has an outline.
      await page.keyboard.press('Tab');
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
      assert.equal(outline, 'solid');
    });

    test('on a 390 px phone the pages fit the screen', async () => {
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
      try {
        const p = await phone.newPage();
        const phoneProblems = watch(p);
        await signIn(p, env.server);
        await p.getByText('People active').waitFor();
        const widths = async () => p.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        const [overviewWidth, viewport] = await widths();
        assert.ok(overviewWidth <= viewport!, `overview is ${overviewWidth}px wide on a ${viewport}px screen`);
        await shot(p, `${store}-phone-overview`);
        await p.goto(`${env.server.url}/console/people/${personId}`);
        await p.getByRole('heading', { name: person.displayName, level: 1 }).waitFor();
        const [personWidth] = await widths();
        assert.ok(personWidth! <= viewport!, `a person's page is ${personWidth}px wide on a ${viewport}px screen`);
        await shot(p, `${store}-phone-person`);
        assert.deepEqual(phoneProblems, []);
      } finally {
        await phone.close();
      }
    });
  });
}

for (const store of stores()) {
  // Mattermost is a port nothing listens on: deliveries fail and wait a minute before the next attempt, so the test
  // parks one by hand (as the worker parks one retrying cannot fix) without the worker touching it meanwhile.
  // Stored XSS: what IdPs and anonymous callers write is shown to the admin. Every text the console renders from data
  // (a person's names and email, a group's and a team's names, a credential's name as the actor, a request's raw path
  // and the error detail it got) holds markup; none of it may become an element, an attribute or a script.
  describe(`admin console against stored markup [${store}]`, { skip: SKIP }, () => {
    const env = useServer(store);
    let browser: Browser;
    before(async () => { browser = await launch(); });
    after(async () => { await browser?.close(); });

    test('names, paths and error details with markup are shown as text on every page', async () => {
      const mark = (n: number) => `<img src=x id=xss${n} onerror=__xss=${n}>"'&lt;`;
      const sql = connect(env.server.dbUrl);
      const made = (await createToken(sql, `idp ${mark(1)}`, 'scim', 'test'))!;
      await sql.destroy();
      const idp = client(env.server, made.token);
      const w = workspace(env.server);
      const person = newUser({ userName: `x${rand()}${mark(2)}@example.com`, displayName: `Mallory ${mark(3)}`, externalId: `ext-${mark(5)}` });
      const created = await idp.post('/Users', person);
      assert.equal(created.status, 201, created.text);
      const group = await idp.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Group ${mark(6)}`, members: [{ value: created.body.id }] });
      assert.equal(group.status, 201, group.text);
      const team = w.ok(await w.admin.post(`${w.A}/teams`, { name: `x-${rand()}`, displayName: `Team ${mark(7)}` }), 201).body.team;
      await w.linkTeam(group.body.id, team.id, { autoAdd: true });
      // A raw path with markup (fetch would percent-encode it; an attacker's client does not) and a failure detail.
      await new Promise<void>((resolve, reject) => {
        const url = new URL(env.server.url);
        httpRequest({ host: url.hostname, port: url.port, path: `/scim/v2/Users/<img/src=x/id=xss8/onerror=__xss=8>`, headers: { Authorization: `Bearer ${made.token}` } }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject).end();
      });
      assert.equal((await idp.post('/Users', { ...newUser(), userName: person.userName })).status, 409);
      await env.server.running!.requestLog!.flush();

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(15_000);
      const problems = watch(page);
      await signIn(page, env.server);
      const injected = () => page.evaluate(() => ({
        elements: [...document.querySelectorAll('[id^=xss], img:not([src^="data:"]), svg:not(.chart) [onload], [onerror], [onload]')].map((e) => e.outerHTML.slice(0, 80)),
        ran: (window as unknown as { __xss?: number }).__xss ?? null,
      }));
      const visit = async (path: string, text: string) => {
        await page.goto(`${env.server.url}${path}`);
        await page.getByText(text, { exact: false }).first().waitFor();
        assert.deepEqual(await injected(), { elements: [], ran: null }, path);
      };
      await page.getByText(`token:idp ${mark(1)}`).first().waitFor(); // the overview's client table and chart
      assert.deepEqual(await injected(), { elements: [], ran: null }, 'overview');
      await visit(`/console/people?q=Mallory`, person.userName);
      await visit(`/console/people/${created.body.id}`, `Mallory ${mark(3)}`);
      await page.getByText(`Group ${mark(6)}`).first().waitFor();
      await visit(`/console/teams/${team.id}`, `Group ${mark(6)}`);
      await visit(`/console/teams`, `Team ${mark(7)}`);
      await visit(`/console/log?status=4xx&range=all`, '/scim/v2/Users/<img/src=x/id=xss8/onerror=__xss=8>');
      const show = page.getByRole('button', { name: /^Show/ });
      for (let n = await show.count(); n > 0; n--) await show.first().click();
      await page.getByText('Error returned').first().waitFor();
      assert.deepEqual(await injected(), { elements: [], ran: null }, 'log details');
      await visit(`/console/${encodeURIComponent(mark(9))}`, 'No console page at');
      assert.deepEqual(problems, []);
      await page.close();
    });
  });

  describe(`admin console, connector on [${store}]`, { skip: SKIP }, () => {
    const env = useServer(store, {
      env: { MATTERMOST_URL: `http://127.0.0.1:${mattermostPort}`, MATTERMOST_TOKEN: 'abcdefghijklmnopqrstuvwxyz', MATTERMOST_REQUEST_TIMEOUT: '1s' },
      connectorTuning: { pollMs: 20, baseBackoffMs: 60_000, maxBackoffMs: 60_000 },
    });
    let browser: Browser;
    before(async () => { browser = await launch(); });
    after(async () => { await browser?.close(); });

    test('the overview shows the connector\'s backlog; a parked delivery is retried from the connector page', async () => {
      const person = newUser();
      assert.equal((await client(env.server).post('/Users', person)).status, 201);
      const admin = client(env.server, env.server.adminToken);
      const delivery = await until('a failed delivery attempt', async () => {
        const r = await admin.get(`${env.server.url}/admin/v1/connector/deliveries?limit=500`);
        return r.body.items.find((d: any) => d.attempts >= 1 && d.lastError && !d.leased && d.state === 'pending');
      });
      await park(env.server.running!.connector!.ctx.db, { id: delivery.id } as Delivery, 'parked by the browser test');

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(15_000);
      const problems = watch(page);
      await signIn(page, env.server);
      const connector = page.getByRole('region', { name: /Connector/ });
      await connector.getByText('Parked deliveries').waitFor();
      await connector.getByText('needs a look').waitFor();
      await nav(page, 'Connector');
      await page.getByRole('heading', { name: /Mattermost/ }).getByText('problem').waitFor();
      const row = page.getByRole('table', { name: 'Deliveries' }).getByRole('row').filter({ hasText: 'parked by the browser test' });
      await row.waitFor();
      await assertLabelled(page);
      await shot(page, `${store}-connector-on`);
      await row.getByRole('button', { name: `Retry delivery ${delivery.id}` }).click();
      await page.getByText('No parked delivery.').waitFor();
      await page.getByLabel('Show').selectOption('pending');
      await page.getByRole('table', { name: 'Deliveries' }).getByRole('cell', { name: delivery.entityKey, exact: true }).waitFor();
      assert.deepEqual(problems, []);
    });
  });
}
