import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectSnippets } from './extract.ts';
import { TASK_MANIFEST_FILE, TASK_MANIFEST_VERSION, type TaskManifest } from './task-manifest.ts';

/**
 * Builds the task manifest (task-manifest.ts) from the chapters' sources, with the same rules
 * as the site (extract.ts → chapter.ts). Node only: the site build and the doc-tests call it.
 */
export function taskManifest(contentDir: string): TaskManifest {
  const chapters: TaskManifest['chapters'] = {};
  for (const file of readdirSync(contentDir).sort()) {
    if (!/\.mdx?$/.test(file) || file.startsWith('_')) continue;
    const slug = file.replace(/\.mdx?$/, '');
    const chapter = collectSnippets(readFileSync(join(contentDir, file), 'utf8'), slug, {
      file: `content/${file}`,
    });
    if (chapter.tasks.length === 0) continue;
    chapters[slug] = Object.fromEntries(
      chapter.tasks.map((task) => [
        task.id,
        {
          title: task.title,
          check: task.check.script,
          line: task.check.line,
          variables: Object.fromEntries(
            task.check.variables.map((name) => [name, chapter.variables[name]!]),
          ),
        },
      ]),
    );
  }
  return { version: TASK_MANIFEST_VERSION, chapters };
}

/** Writes the manifest into `outDir`; returns its path. */
export function writeTaskManifest(contentDir: string, outDir: string): string {
  const path = join(outDir, TASK_MANIFEST_FILE);
  writeFileSync(path, `${JSON.stringify(taskManifest(contentDir), null, 2)}\n`);
  return path;
}
