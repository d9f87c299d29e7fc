// Test helpers for the dashboard: a node (temp project, in-process host) running the dashboard on
// a free loopback port beside some modules, Debian's chromium driven by playwright-core (never a
// downloaded browser), console errors collected per page, screenshots under test/artifacts/, and
// small HTTP calls. Every resource is closed by whoever opened it, in an after/finally hook.
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../../base/free-port.ts';
import { REPO, makeProject, startHost, waitFor, type ModuleSpec, type Project, type TestHost } from '../../../test/helpers/project.ts';

export { waitFor, freePort, REPO };

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const ARTIFACTS = join(REPO, 'test/artifacts/dashboard');

export interface DashNode {
  project: Project;
  th: TestHost;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startDashNode(opts: {
  modules?: Record<string, ModuleSpec>;
  copy?: string[];
  role: string[];
  required?: string[];
  dashboard?: Record<string, unknown>;
  config?: Record<string, unknown>;
  /** Extra entries for cheshire.json `modules`. */
  modules_config?: Record<string, Record<string, unknown>>;
  failsafeRole?: string[];
}): Promise<DashNode> {
  const port = await freePort();
  const project = await makeProject({
    modules: opts.modules ?? {},
    copy: ['dashboard', ...(opts.copy ?? [])],
    role: [...opts.role, 'dashboard'],
    required: opts.required,
    config: { ...opts.config, modules: { dashboard: { port, ...opts.dashboard }, ...opts.modules_config } },
  });
  if (opts.failsafeRole) await project.write('config/roles/failsafe.json', JSON.stringify({ modules: opts.failsafeRole }));
  let th: TestHost | null = null;
  try {
    th = await startHost(project);
    const host = th.host;
    await waitFor('the dashboard to be active', () => host.status().instances.find((i) => i.id === 'dashboard')?.state === 'active', 15_000);
  } catch (err) {
    const why = th?.host.status().instances.find((i) => i.id === 'dashboard')?.lastError?.message;
    await th?.close();
    await project.cleanup();
    throw new Error(`${(err as Error).message}${why ? ` (dashboard: ${why})` : ''}`);
  }
  const started = th;
  return {
    project, th: started, port, url: `http://127.0.0.1:${port}/`,
    async close() {
      await started.close();
      await project.cleanup();
    },
  };
}

export interface Pages {
  browser: Browser;
  /** Console errors and page errors of every page opened, as `page: text`. */
  errors: string[];
  open(url: string): Promise<Page>;
  close(): Promise<void>;
}

export async function launch(): Promise<Pages> {
  // launch() gives every run a fresh temporary profile (user data dir), removed on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
  const errors: string[] = [];
  return {
    browser,
    errors,
    async open(url) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(10_000);
      page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      await page.goto(url);
      return page;
    },
    close: () => browser.close(),
  };
}

/** Waits until the page shows the live, synced node. */
export async function synced(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid=link][data-link=live]', { timeout: 10_000 });
  await page.waitForSelector('svg.graph', { timeout: 10_000 });
}

export async function shot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request on a fresh connection (no agent: nothing stays open after a test). */
export function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url}: no answer in 5 s`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A module whose index logs a line every `everyMs` and answers a health check from globalThis. */
export const chatty = (name: string, everyMs = 100) => `
export function start(ctx: any) {
  let n = 0;
  const t = setInterval(() => ctx.log.info('${name} tick ' + (++n)), ${everyMs});
  ctx.onStop(() => clearInterval(t));
  return { name: '${name}' };
}
`;
