/**
 * Doc-tests: every runnable block of every chapter, chapter by chapter in reading order, sent
 * through the real sandbox server's protocol to a session whose shell talks to the test
 * cluster, with the variables' default values. Each block must succeed, or do what its fence
 * meta declares (`exit=N`, `until="…"`, `timeout=…`, `expect="…"`: text its output must
 * show); a block that needs what this tier does not have (`needs=docker reason="…"`) is a
 * declared skip, and a skip without a reason fails.
 * The tier decides its capabilities itself (doc-capabilities.ts) and the summary says, per
 * chapter, what its blocks need, whether the tier had it, and why. The chapters run in a
 * namespace of this run's own, with free ports for their port variables, so that runs side by
 * side on one machine do not meet (tests/README.md).
 *
 * The blocks are run by the same SnippetRunner the browser uses, so the doc-tests prove the
 * Run button's logic too. A `term=2` block runs in a second session joined to the chapter's
 * first (the dock's Terminal 2: the same namespace, docs/protocol.md), so a `keep` block can
 * hold terminal 1 (a port-forward) while the next talks to it from terminal 2.
 *
 * Every task is proven where its solution stands: its check, run by the server from the
 * tasks file as a browser would ask for it, must say "not yet" first (so it cannot pass
 * vacuously), then the solution runs, then the check must say "done".
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExistingProvider } from '../../sandbox-server/src/providers/existing-provider.ts';
import type { TaskMessage } from '../../sandbox-server/src/shared/protocol.ts';
import { SnippetRunner } from '../../src/client/snippet-runner.ts';
import { type CollectedChapter, collectSnippets } from '../../src/snippets/extract.ts';
import type { Requirement } from '../../src/snippets/meta.ts';
import { fillPlaceholders } from '../../src/snippets/placeholders.ts';
import { writeTaskManifest } from '../../src/snippets/write-task-manifest.ts';
import { freePort } from '../support/free-port.ts';
import { createSession, endSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer } from '../support/test-server.ts';
import { decideCapabilities, dockerChapterLock, type TierCapability } from './doc-capabilities.ts';
import { makeRunNamespace } from './run-namespace.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONTENT = join(ROOT, 'content');
/** Commands without their own timeout= get this bound, so a hung `wait` cannot hang CI. */
const DEFAULT_TIMEOUT_MS = 120_000;
/** `KUBENOTES_DOC_CHAPTERS=pods,services`: only these chapters (slugs), for writing one. */
const ONLY_CHAPTERS = process.env.KUBENOTES_DOC_CHAPTERS
  ? process.env.KUBENOTES_DOC_CHAPTERS.split(',').map((slug) => slug.trim())
  : undefined;

interface ChapterResult {
  slug: string;
  ran: number;
  succeeded: number;
  skipped: number;
  failed: number;
  /** the capabilities its runnable blocks ask for */
  needs: Requirement[];
}

interface Chapter {
  slug: string;
  order: number;
  file: string;
  text: string;
  chapter: CollectedChapter;
}

function chapters(): Chapter[] {
  return readdirSync(CONTENT)
    .filter((file) => /\.mdx?$/.test(file) && !file.startsWith('_'))
    .map((file) => {
      const slug = file.replace(/\.mdx?$/, '');
      const text = readFileSync(join(CONTENT, file), 'utf8');
      const chapter = collectSnippets(text, slug, { file: `content/${file}` });
      return {
        slug,
        file: `content/${file}`,
        text,
        order: Number(chapter.frontmatter.order ?? 0),
        chapter,
      };
    })
    .filter(({ chapter }) => chapter.snippets.length > 0)
    .filter(({ slug }) => !ONLY_CHAPTERS || ONLY_CHAPTERS.includes(slug))
    .sort((a, b) => a.order - b.order);
}

/** Each `kind: port` variable gets a free port: runs side by side never collide on 8088. */
async function chapterValues(chapter: CollectedChapter): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(chapter.variables)) {
    if (spec.kind === 'port') values[name] = String(await freePort());
  }
  return values;
}

function capabilityLine(capability: TierCapability): string {
  return `${capability.name}: ${capability.had ? 'yes' : 'no'} — ${capability.why}`;
}

async function main(): Promise<void> {
  const testKubeconfig = process.env.KUBENOTES_TEST_KUBECONFIG;
  if (!testKubeconfig) {
    console.log(
      'doc-tests: no test cluster (KUBENOTES_TEST_KUBECONFIG is unset); run them through `npm test`.',
    );
    console.log('doc-tests: 0 passed, 1 failed');
    process.exit(1);
  }
  const path = [process.env.KUBENOTES_TEST_KUBECTL_DIR, '/usr/local/bin', '/usr/bin', '/bin']
    .filter(Boolean)
    .join(':');
  const all = chapters();
  const log = (line: string) => console.log(`doc-tests: ${line}`);

  // The tier decides what the `needs=` blocks get (doc-capabilities.ts), and says why.
  const capabilities = await decideCapabilities({
    chapters: all,
    env: { ...process.env, PATH: path },
    log,
  });
  for (const capability of capabilities.list) log(capabilityLine(capability));
  const had = new Set<string>(capabilities.had);

  const work = mkdtempSync(join(tmpdir(), 'kubenotes-doc-tests-'));
  const results: ChapterResult[] = [];
  let namespace: Awaited<ReturnType<typeof makeRunNamespace>> | undefined;
  let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
  try {
    namespace = await makeRunNamespace(testKubeconfig, work, 'kn-doc');
    log(
      `the chapters run in the namespace ${namespace.name}, this run's own, under Pod Security ${namespace.podSecurity} (a workshop's)`,
    );
    // The tasks' checks, as the site build writes them.
    const tasksFile = writeTaskManifest(CONTENT, work);
    server = await startTestServer(['--tasks', tasksFile], {
      env: { PATH: path },
      provider: new ExistingProvider({
        kubeconfig: namespace.kubeconfig,
        context: namespace.context,
        capabilities: capabilities.had,
      }),
    });
    for (const { slug, chapter } of all) {
      const runnable = (snippet: (typeof chapter.snippets)[number]) =>
        snippet.meta.needs.every((need) => had.has(need));
      const needs = [...new Set(chapter.snippets.flatMap((s) => s.meta.needs))].sort();
      const result: ChapterResult = { slug, ran: 0, succeeded: 0, skipped: 0, failed: 0, needs };
      results.push(result);
      console.log(`\n■ ${slug} (${chapter.snippets.length} blocks)`);
      const run = () => runChapter(server!.url, chapter, slug, result, runnable, had);
      // Docker blocks change the engine's images: runs on one machine take turns at them.
      if (chapter.snippets.some((s) => s.meta.needs.includes('docker') && runnable(s)))
        await dockerChapterLock(log, run);
      else await run();
    }
  } finally {
    await server?.stop();
    await namespace?.dispose();
    rmSync(work, { recursive: true, force: true });
    await capabilities.release();
  }

  console.log(
    '\nchapter              ran  succeeded  skipped  failed  capabilities its blocks need',
  );
  for (const r of results) {
    const needs = r.needs.map((n) => `${n} ${had.has(n) ? 'yes' : 'no'}`).join(', ') || '—';
    console.log(
      `${r.slug.padEnd(20)} ${String(r.ran).padStart(3)}  ${String(r.succeeded).padStart(9)}  ${String(r.skipped).padStart(7)}  ${String(r.failed).padStart(6)}  ${needs}`,
    );
  }
  console.log("this tier's capabilities, and why:");
  for (const capability of capabilities.list) console.log(`  ${capabilityLine(capability)}`);
  const total = results.reduce(
    (t, r) => ({
      passed: t.passed + r.succeeded,
      failed: t.failed + r.failed,
      skipped: t.skipped + r.skipped,
    }),
    { passed: 0, failed: 0, skipped: 0 },
  );
  console.log(
    `doc-tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`,
  );
  process.exit(total.failed === 0 && total.passed > 0 ? 0 : 1);
}

/** One chapter, in a fresh session, block by block. */
async function runChapter(
  url: string,
  chapter: CollectedChapter,
  slug: string,
  result: ChapterResult,
  runnable: (snippet: CollectedChapter['snippets'][number]) => boolean,
  had: Set<string>,
): Promise<void> {
  const values = await chapterValues(chapter);
  const session = await createSession(url);
  const first = await terminal(url, session);
  // A `term=2` block runs in a second session joined to the first, as the dock's Terminal 2.
  const terminals = new Map<number, Terminal>([[1, first]]);
  const sessions = [session];
  const open = async (number: number): Promise<Terminal> => {
    const had = terminals.get(number);
    if (had) return had;
    const joined = await createSession(url, { with: { id: session.id, token: session.token } });
    sessions.push(joined);
    const made = await terminal(url, joined);
    terminals.set(number, made);
    return made;
  };
  try {
    for (const snippet of chapter.snippets) {
      const where = `content/${slug}.mdx:${snippet.line} [${snippet.id}]`;
      if (!runnable(snippet)) {
        const missing = snippet.meta.needs.filter((need) => !had.has(need));
        if (!snippet.meta.reason) {
          result.failed++;
          console.log(`  ✗ ${where}: needs=${missing.join(',')} without a reason="…"`);
        } else {
          result.skipped++;
          console.log(
            `  – ${where}: skipped, needs ${missing.join(', ')} (${snippet.meta.reason})`,
          );
        }
        continue;
      }
      const { term, runner } = await open(snippet.meta.term);
      const commands = snippet.commands.map((command) => {
        const filled = fillPlaceholders(command, values, chapter.variables);
        if (!filled.ok)
          throw new Error(`${where}: ${filled.errors.map((e) => e.message).join(' ')}`);
        return filled.text;
      });
      result.ran++;
      const task = snippet.task;
      if (task !== undefined) {
        const before = await checkTask(term, slug, task, values);
        if (before.state !== 'not-yet') {
          result.failed++;
          console.log(
            `  ✗ ${where}: task "${task}": its check must say "not yet" before the solution runs; it said ${before.state}: ${before.message}`,
          );
          continue;
        }
        console.log(`  ✓ task "${task}" not yet done: ${before.message}`);
      }
      const from = term.output.length;
      let outcome = await runner.run({
        commands,
        exit: snippet.meta.exit,
        until: snippet.meta.until,
        keep: snippet.meta.keep === true,
        timeoutMs: snippet.meta.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      });
      const shown = plain(term.output.slice(from));
      const expected = snippet.meta.expect;
      // The typed commands are echoed too: the text must appear more often than they hold it.
      if (
        outcome.ok &&
        expected &&
        count(shown, expected) <= count(commands.join('\n'), expected)
      ) {
        outcome = { ok: false, reason: `its output does not show expect="${expected}"` };
      }
      const after =
        outcome.ok && task !== undefined ? await checkTask(term, slug, task, values) : undefined;
      if (after && after.state !== 'done') {
        result.failed++;
        console.log(
          `  ✗ ${where}: task "${task}": the solution ran, but its check said ${after.state}: ${after.message}`,
        );
      } else if (outcome.ok) {
        result.succeeded++;
        console.log(`  ✓ ${where}${after ? ` (task "${task}" done: ${after.message})` : ''}`);
      } else {
        result.failed++;
        console.log(`  ✗ ${where}: ${outcome.reason}`);
        console.log(
          `    commands:\n${commands.map((c) => `      $ ${c.replaceAll('\n', '\n        ')}`).join('\n')}`,
        );
        const output = plain(term.output.slice(from)).trimEnd().split('\n').slice(-40);
        console.log(`    terminal:\n${output.map((line) => `      | ${line}`).join('\n')}`);
      }
    }
  } finally {
    for (const { term } of terminals.values()) term.close();
    for (const made of sessions.reverse()) await endSession(url, made);
  }
}

interface Terminal {
  term: TerminalClient;
  runner: SnippetRunner;
}

/** A session's terminal and the runner that types into it, as the dock has for each tab. */
async function terminal(url: string, session: { id: string; token: string }): Promise<Terminal> {
  const term = await TerminalClient.open(url, session, { cols: 160, rows: 50 });
  // open() has waited for the first prompt already.
  const runner = new SnippetRunner((text) => term.type(text), { atPrompt: true });
  term.onText((text) => runner.feed(text));
  return { term, runner };
}

function count(text: string, part: string): number {
  return text.split(part).length - 1;
}

/** Asks the server to check a task, as the page does, with the values the blocks ran with. */
async function checkTask(
  term: TerminalClient,
  chapter: string,
  task: string,
  variables: Record<string, string>,
): Promise<TaskMessage> {
  const from = term.messages.length;
  term.send({ type: 'check', chapter, tasks: [task], variables });
  let answer: TaskMessage | undefined;
  await term.waitFor(
    () => {
      answer = term.messages
        .slice(from)
        .find((m): m is TaskMessage => m.type === 'task' && m.task === task);
      return answer !== undefined;
    },
    30_000,
    `the check of task ${task}`,
  );
  return answer!;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
