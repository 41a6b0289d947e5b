// The browser tests' harness: a real asyncd (its own state directory, --listen 127.0.0.1:0,
// asyncd.url and admin.token read as the integration harness does), users of each role made
// through the API, Debian's Chromium driven by playwright-core, and a small TAP runner.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BUILD = process.env.ASYNCD_BUILD_DIR || path.resolve('build');
export const SOURCE = process.env.ASYNCD_SOURCE_DIR || path.resolve('.');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.join(BUILD, 'meson-logs', 'browser-screenshots');
export const PASSWORD = 'correct horse battery staple';

// Wait for cond() (sync or async) to be truthy: polls every 50 ms, at most ms; throws with what.
export async function until(what, cond, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await cond();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Server {
  // start() on a new state directory, or start(dir) again on one kept by stop({ keep: true })
  async start(dir) {
    this.dir = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'asyncd-btest.'));
    fs.chmodSync(this.dir, 0o700);
    fs.rmSync(path.join(this.dir, 'asyncd.url'), { force: true });
    const log = fs.openSync(path.join(this.dir, 'asyncd.log'), 'a');
    this.proc = spawn(path.join(BUILD, 'src/bin/asyncd'),
                      ['--state-dir', this.dir, '--listen', '127.0.0.1:0', '--host-id', 'browser',
                       '--worker', path.join(BUILD, 'src/bin/asyncd-worker')],
                      { stdio: ['ignore', log, log],
                        // POST /api/v1/debug/clock moves the clock (the statistics job's test)
                        env: { ...process.env, ASYNCD_TEST_CLOCK: '1' } });
    this.exited = null;
    this.proc.on('exit', (code, sig) => { this.exited = `${code ?? sig}`; });
    this.url = await until('asyncd.url', () => {
      if (this.exited) throw new Error(`asyncd exited ${this.exited}: ${this.logTail()}`);
      const f = path.join(this.dir, 'asyncd.url');
      return fs.existsSync(f) && fs.readFileSync(f, 'utf8').trim().replace(/\/$/, '');
    }, 30000);
    this.token = fs.readFileSync(path.join(this.dir, 'admin.token'), 'utf8').trim();
  }

  logTail() {
    try {
      return fs.readFileSync(path.join(this.dir, 'asyncd.log'), 'utf8').split('\n').slice(-20).join('\n');
    } catch (e) { return ''; }
  }

  // One API call with the administrator's token.
  async api(method, p, body, token = this.token) {
    const headers = { Authorization: `Bearer ${token}` };
    let payload;
    if (body instanceof Buffer) {
      headers['Content-Type'] = 'application/octet-stream';
      payload = body;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(this.url + p, { method, headers, body: payload });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = text; }
    return { status: res.status, body: json, headers: res.headers };
  }

  async must(method, p, body, want) {
    const r = await this.api(method, p, body);
    if (want ? r.status !== want : r.status >= 300)
      throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async stop({ keep = false } = {}) {
    if (this.proc && !this.exited) {
      this.proc.kill('SIGTERM');
      await until('asyncd to exit', () => this.exited, 60000).catch(() => this.proc.kill('SIGKILL'));
    }
    if (this.dir && !keep && !process.env.KEEP_STATE)
      fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// A minimal TAP runner: test(name, fn) in order; a failure is reported and the run goes on.
const tests = [];
export function test(name, fn) { tests.push({ name, fn }); }
export async function runAll(before, after) {
  let failed = 0;
  console.log(`TAP version 13`);
  console.log(`1..${tests.length}`);
  let ctx;
  try {
    ctx = await before();
  } catch (e) {
    for (let i = 0; i < tests.length; i++)
      console.log(`not ok ${i + 1} - ${tests[i].name}\n  # setup failed: ${e.stack || e}`);
    return tests.length;
  }
  for (let i = 0; i < tests.length; i++) {
    const t0 = Date.now();
    try {
      await tests[i].fn(ctx);
      console.log(`ok ${i + 1} - ${tests[i].name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`not ok ${i + 1} - ${tests[i].name}`);
      for (const line of String(e.stack || e).split('\n')) console.log(`  # ${line}`);
      if (ctx && ctx.onFailure) await ctx.onFailure(tests[i].name).catch(() => {});
    }
  }
  await after(ctx).catch((e) => console.log(`# teardown: ${e}`));
  return failed;
}
