// The no-op burn-down of scripts/bench-peers.sh on one Node.js peer: graphile-worker, pg-boss or
// BullMQ. `node peer.mjs run PEER N` sets the peer up, forks `node peer.mjs worker PEER N` (the
// consumer, in its own process as in production), waits until it runs, then adds N jobs in bulk
// batches of BATCH and waits until the store says every job is done. It prints one line:
// "RESULT PEER INGEST E2E DRAIN" (events/s; jobs/s from ingest start to all done; jobs/s after the
// ingest, -1 when nearly all were done during the ingest). Every wait is bounded by LIMIT_MS.
//
// Connection and tuning come from the environment (scripts/bench-peers.sh sets them):
//   GW_URL, PGBOSS_URL       PostgreSQL connection strings (one database each)
//   REDIS_PORT               Redis on 127.0.0.1
//   GW_CONCURRENCY (32), GW_LOCAL_QUEUE (5000), GW_COMPLETE_DELAY (0)
//   PGBOSS_BATCH (10000), PGBOSS_WORKERS (4)
//   BULLMQ_CONCURRENCY (200)
// The defaults are the best of a sweep on the 2-core benchmark machine (docs/performance.md).
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const BATCH = 10000;
const LIMIT_MS = 900_000;
const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// graphile-worker's logger: errors only
async function graphileLogger() {
  const { Logger } = await import('graphile-worker');
  return new Logger(() => (level, message) => {
    if (level === 'error') console.error(`graphile-worker: ${message}`);
  });
}

const peers = {
  'graphile-worker': {
    settings() {
      return `concurrency ${env('GW_CONCURRENCY', 32)}, localQueue.size ${env('GW_LOCAL_QUEUE', 5000)}, ` +
        `completeJobBatchDelay ${env('GW_COMPLETE_DELAY', 0)} ms`;
    },
    async setup() {
      const { makeWorkerUtils } = await import('graphile-worker');
      this.utils = await makeWorkerUtils({ connectionString: env('GW_URL'),
        logger: await graphileLogger() });
      await this.utils.migrate();
    },
    async add(from, n) {
      const specs = [];
      for (let i = from; i < from + n; i++) specs.push({ identifier: 'noop', payload: { i } });
      await this.utils.addJobs(specs);
    },
    async remaining() {
      const r = await this.utils.withPgClient((c) =>
        c.query('select count(*)::int as n from graphile_worker._private_jobs'));
      return r.rows[0].n;
    },
    async close() {
      await this.utils.release();
    },
    async work(onJob) {
      const { run } = await import('graphile-worker');
      const concurrency = Number(env('GW_CONCURRENCY', 32));
      this.runner = await run({
        connectionString: env('GW_URL'),
        concurrency,
        noHandleSignals: true,
        pollInterval: 1000,
        logger: await graphileLogger(),
        taskList: { noop: async () => onJob(1) },
        preset: {
          worker: {
            maxPoolSize: concurrency + 2,
            localQueue: { size: Number(env('GW_LOCAL_QUEUE', 5000)) },
            completeJobBatchDelay: Number(env('GW_COMPLETE_DELAY', 0)),
            failJobBatchDelay: Number(env('GW_COMPLETE_DELAY', 0)),
          },
        },
      });
    },
    async stop() {
      await this.runner?.stop();
    },
  },

  'pg-boss': {
    settings() {
      return `work() x${env('PGBOSS_WORKERS', 4)}, batchSize ${env('PGBOSS_BATCH', 10000)}, ` +
        'pollingIntervalSeconds 0.5';
    },
    async boss() {
      const { default: PgBoss } = await import('pg-boss');
      const b = new PgBoss({ connectionString: env('PGBOSS_URL'), max: 10, supervise: false,
        schedule: false });
      b.on('error', (e) => console.error(`pg-boss: ${e.message}`));
      await b.start();
      return b;
    },
    async setup() {
      this.b = await this.boss();
      await this.b.createQueue('noop');
    },
    async add(from, n) {
      const jobs = [];
      for (let i = from; i < from + n; i++) jobs.push({ name: 'noop', data: { i } });
      await this.b.insert(jobs);
    },
    async remaining() {
      return this.b.getQueueSize('noop', { before: 'completed' });
    },
    async close() {
      await this.b.stop({ graceful: false, wait: true });
    },
    async work(onJob) {
      this.w = await this.boss();
      const opts = { batchSize: Number(env('PGBOSS_BATCH', 10000)), pollingIntervalSeconds: 0.5 };
      for (let i = 0; i < Number(env('PGBOSS_WORKERS', 4)); i++)
        await this.w.work('noop', opts, async (jobs) => onJob(jobs.length));
    },
    async stop() {
      await this.w?.stop({ graceful: true, wait: true, timeout: 10000 });
    },
  },

  bullmq: {
    settings() {
      return `Worker concurrency ${env('BULLMQ_CONCURRENCY', 200)}, removeOnComplete false ` +
        '(completed jobs kept, as asyncd keeps its rows)';
    },
    connection() {
      return { host: '127.0.0.1', port: Number(env('REDIS_PORT')), maxRetriesPerRequest: null };
    },
    async setup() {
      const { Queue } = await import('bullmq');
      this.q = new Queue('noop', { connection: this.connection() });
      await this.q.obliterate({ force: true });
    },
    async add(from, n) {
      const jobs = [];
      for (let i = from; i < from + n; i++)
        jobs.push({ name: 'noop', data: { i }, opts: { removeOnComplete: false } });
      await this.q.addBulk(jobs);
    },
    async remaining() {
      const c = await this.q.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused');
      return Object.values(c).reduce((a, b) => a + b, 0);
    },
    async close() {
      await this.q.close();
    },
    async work(onJob) {
      const { Worker } = await import('bullmq');
      this.w = new Worker('noop', async () => onJob(1), {
        connection: this.connection(),
        concurrency: Number(env('BULLMQ_CONCURRENCY', 200)),
        removeOnComplete: { count: 1e9 },
      });
      this.w.on('error', (e) => console.error(`bullmq: ${e.message}`));
      await this.w.waitUntilReady();
    },
    async stop() {
      await this.w?.close();
    },
  },
};

// The consumer process: counts handled jobs, answers "count" questions, stops on "stop".
async function worker(peer) {
  let handled = 0;
  process.on('disconnect', () => process.exit(1)); // the orchestrator is gone
  process.on('message', async (m) => {
    if (m.type === 'count') process.send({ type: 'count', n: handled });
    if (m.type === 'stop') {
      await peer.stop();
      process.exit(0);
    }
  });
  await peer.work((k) => {
    handled += k;
  });
  process.send({ type: 'ready' });
}

function forkWorker(name, n) {
  const child = fork(fileURLToPath(import.meta.url), ['worker', name, String(n)]);
  const waiting = [];
  child.on('message', (m) => {
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
  });
  child.on('exit', (code) => {
    for (const w of waiting) w.reject(new Error(`the worker process exited (${code})`));
  });
  child.expect = (type, ms = LIMIT_MS) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "${type}" from the worker in ${ms} ms`)), ms);
    waiting.push({ type, resolve: (m) => { clearTimeout(t); resolve(m); },
      reject: (e) => { clearTimeout(t); reject(e); } });
  });
  return child;
}

async function waitDone(peer, deadline) {
  for (;;) {
    const left = await peer.remaining();
    if (left === 0) return now();
    if (now() > deadline) throw new Error(`${left} jobs still unfinished after ${LIMIT_MS} ms`);
    await sleep(5);
  }
}

async function main() {
  const [mode, name, nArg] = process.argv.slice(2);
  const peer = peers[name];
  const n = Number(nArg);
  if (!peer || !(n > 0) || !['run', 'worker'].includes(mode)) {
    console.error('usage: node peer.mjs run|worker graphile-worker|pg-boss|bullmq N');
    process.exit(2);
  }
  if (mode === 'worker') return worker(peer);

  await peer.setup();
  const child = forkWorker(name, n);
  let code = 0;
  try {
    await child.expect('ready', 120_000);
    const t0 = now();
    for (let i = 0; i < n; i += BATCH) await peer.add(i, Math.min(BATCH, n - i));
    const t1 = now();
    child.send({ type: 'count' });
    const c1 = (await child.expect('count', 60_000)).n;
    const t2 = await waitDone(peer, t0 + LIMIT_MS);
    child.send({ type: 'count' });
    const handled = (await child.expect('count', 60_000)).n;
    if (handled < n) throw new Error(`the store says done, but only ${handled} of ${n} ran`);
    const drain = n - c1 >= n / 20 ? ((n - c1) * 1000) / (t2 - t1) : -1;
    console.error(`${name}: ${peer.settings()}`);
    console.log(`RESULT ${name} ${Math.round((n * 1000) / (t1 - t0))} ` +
      `${Math.round((n * 1000) / (t2 - t0))} ${Math.round(drain)}`);
  } catch (e) {
    console.error(`${name}: ${e.message}`);
    code = 1;
  }
  child.send({ type: 'stop' });
  await Promise.race([child.expect('never', 30_000).catch(() => {}), sleep(30_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
  await peer.close();
  process.exit(code);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
