/**
 * Doc-tests: every runnable block of every chapter, chapter by chapter in reading order, sent
 * through the real sandbox server's protocol to a session whose shell talks to the test
 * cluster, with the variables' default values. Each block must succeed, or do what its fence
 * meta declares (`exit=N`, `until="…"`, `timeout=…`); a block that needs what this sandbox
 * lacks (`needs=docker reason="…"`) is a declared skip, and a skip without a reason fails.
 *
 * The blocks are run by the same SnippetRunner the browser uses, so the doc-tests prove the
 * Run button's logic too.
 *
 * Every task is proven where its solution stands: its check, run by the server from the
 * tasks file as a browser would ask for it, must say "not yet" first (so it cannot pass
 * vacuously), then the solution runs, then the check must say "done".
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskMessage } from '../../sandbox-server/src/shared/protocol.ts';
import { SnippetRunner } from '../../src/client/snippet-runner.ts';
import { type CollectedChapter, collectSnippets } from '../../src/snippets/extract.ts';
import { fillPlaceholders } from '../../src/snippets/placeholders.ts';
import { writeTaskManifest } from '../../src/snippets/write-task-manifest.ts';
import { createSession, endSession, plain, TerminalClient } from '../support/terminal-client.ts';
import { startTestServer } from '../support/test-server.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONTENT = join(ROOT, 'content');
/** Commands without their own timeout= get this bound, so a hung `wait` cannot hang CI. */
const DEFAULT_TIMEOUT_MS = 120_000;

interface ChapterResult {
  slug: string;
  ran: number;
  succeeded: number;
  skipped: number;
  failed: number;
}

function chapters(): { slug: string; order: number; chapter: CollectedChapter }[] {
  return readdirSync(CONTENT)
    .filter((file) => /\.mdx?$/.test(file) && !file.startsWith('_'))
    .map((file) => {
      const slug = file.replace(/\.mdx?$/, '');
      const chapter = collectSnippets(readFileSync(join(CONTENT, file), 'utf8'), slug, {
        file: `content/${file}`,
      });
      return { slug, order: Number(chapter.frontmatter.order ?? 0), chapter };
    })
    .filter(({ chapter }) => chapter.snippets.length > 0)
    .sort((a, b) => a.order - b.order);
}

export function serverArgs(env: NodeJS.ProcessEnv): string[] {
  const kubeconfig = env.KUBENOTES_TEST_KUBECONFIG;
  if (!kubeconfig) return ['--cluster', 'none'];
  const context = /^current-context:\s*"?([^"\s]+)/m.exec(readFileSync(kubeconfig, 'utf8'))?.[1];
  return ['--cluster', 'existing', '--kubeconfig', kubeconfig, '--context', context ?? ''];
}

async function main(): Promise<void> {
  if (!process.env.KUBENOTES_TEST_KUBECONFIG) {
    console.log(
      'doc-tests: no test cluster (KUBENOTES_TEST_KUBECONFIG is unset); run them through `npm test`.',
    );
    console.log('doc-tests: 0 passed, 1 failed');
    process.exit(1);
  }
  const path = [process.env.KUBENOTES_TEST_KUBECTL_DIR, '/usr/local/bin', '/usr/bin', '/bin']
    .filter(Boolean)
    .join(':');
  // The tasks' checks, as the site build writes them.
  const tasksDir = mkdtempSync(join(tmpdir(), 'kubenotes-doc-tasks-'));
  const tasksFile = writeTaskManifest(CONTENT, tasksDir);
  const server = await startTestServer([...serverArgs(process.env), '--tasks', tasksFile], {
    env: { PATH: path },
  });
  const capabilities = (await server.provider.status()).capabilities;
  const results: ChapterResult[] = [];
  try {
    // `run-doc-tests.ts pods labels` runs those chapters only (while writing them).
    const only = process.argv.slice(2);
    for (const { slug, chapter } of chapters()) {
      if (only.length > 0 && !only.includes(slug)) continue;
      const result: ChapterResult = { slug, ran: 0, succeeded: 0, skipped: 0, failed: 0 };
      results.push(result);
      console.log(`\n■ ${slug} (${chapter.snippets.length} blocks)`);
      // Each chapter runs in a fresh session.
      const session = await createSession(server.url);
      const term = await TerminalClient.open(server.url, session, { cols: 160, rows: 50 });
      // open() has waited for the first prompt already.
      const runner = new SnippetRunner((text) => term.type(text), { atPrompt: true });
      term.onText((text) => runner.feed(text));
      for (const snippet of chapter.snippets) {
        const where = `content/${slug}.mdx:${snippet.line} [${snippet.id}]`;
        const missing = snippet.meta.needs.filter((need) => !capabilities.includes(need));
        if (missing.length > 0) {
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
        const commands = snippet.commands.map((command) => {
          const filled = fillPlaceholders(command, {}, chapter.variables);
          if (!filled.ok)
            throw new Error(`${where}: ${filled.errors.map((e) => e.message).join(' ')}`);
          return filled.text;
        });
        result.ran++;
        const task = snippet.task;
        if (task !== undefined) {
          const before = await checkTask(term, slug, task);
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
        const outcome = await runner.run({
          commands,
          exit: snippet.meta.exit,
          until: snippet.meta.until,
          timeoutMs: snippet.meta.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        });
        const after =
          outcome.ok && task !== undefined ? await checkTask(term, slug, task) : undefined;
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
      term.close();
      await endSession(server.url, session);
    }
  } finally {
    await server.stop();
    rmSync(tasksDir, { recursive: true, force: true });
  }

  console.log('\nchapter              ran  succeeded  skipped  failed');
  for (const r of results) {
    console.log(
      `${r.slug.padEnd(20)} ${String(r.ran).padStart(3)}  ${String(r.succeeded).padStart(9)}  ${String(r.skipped).padStart(7)}  ${String(r.failed).padStart(6)}`,
    );
  }
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

/** Asks the server to check a task, as the page does, with the variables' defaults. */
async function checkTask(
  term: TerminalClient,
  chapter: string,
  task: string,
): Promise<TaskMessage> {
  const from = term.messages.length;
  term.send({ type: 'check', chapter, tasks: [task] });
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
