/**
 * The tasks' checks the server may run: read once at start from the built site's tasks.json
 * (src/snippets/task-manifest.ts). A browser names a task; the script comes from here only,
 * and the reader's values fill its placeholders exactly as in a Run (validated by kind, then
 * shell-quoted), so no browser can make the server run a script of its choosing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fillPlaceholders } from '../../../src/snippets/placeholders.ts';
import { TASK_MANIFEST_FILE, TaskManifest } from '../../../src/snippets/task-manifest.ts';

export type FoundCheck =
  | { ok: true; title: string; script: string }
  | { ok: false; code: 'unknown_task' | 'bad_variable' | 'unavailable'; message: string };

export class TaskBook {
  readonly #manifest: TaskManifest;
  readonly source: string;

  constructor(manifest: TaskManifest, source: string) {
    this.#manifest = manifest;
    this.source = source;
  }

  /**
   * The manifest named by `--tasks`, else the site folder's; none at all is allowed (a site
   * without tasks, or hosted elsewhere): every check then says the server has no tasks.
   * A manifest that is there but wrong stops the start, naming the file.
   */
  static load(settings: { tasks?: string | undefined; siteDir?: string | undefined }): TaskBook {
    const path =
      settings.tasks ?? (settings.siteDir ? join(settings.siteDir, TASK_MANIFEST_FILE) : undefined);
    if (path === undefined || (!settings.tasks && !existsSync(path))) {
      return new TaskBook({ version: 1, chapters: {} }, 'none');
    }
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(
        `The tasks file ${path} (--tasks) cannot be read: ${(error as Error).message}`,
      );
    }
    const parsed = TaskManifest.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `The tasks file ${path} (--tasks) is not a kubenotes task manifest: ${issue?.path.join('.') || 'the file'} ${issue?.message ?? ''}. Rebuild the site (npm run build).`,
      );
    }
    return new TaskBook(parsed.data, path);
  }

  get count(): number {
    return Object.values(this.#manifest.chapters).reduce((n, c) => n + Object.keys(c).length, 0);
  }

  /** The check of `chapter`/`task`, filled with the reader's values (defaults for the rest). */
  check(chapter: string, task: string, values: Readonly<Record<string, string>>): FoundCheck {
    const found = Object.hasOwn(this.#manifest.chapters, chapter)
      ? this.#manifest.chapters[chapter]
      : undefined;
    const entry = found && Object.hasOwn(found, task) ? found[task] : undefined;
    if (entry === undefined && this.count === 0) {
      return {
        ok: false,
        code: 'unavailable',
        message:
          "this sandbox has no tasks file: start it with the site (--site-dir) or with --tasks pointing at the site's tasks.json.",
      };
    }
    if (entry === undefined) {
      return {
        ok: false,
        code: 'unknown_task',
        message: `There is no task "${task}" in the chapter "${chapter}" on this server. Reload the page: the guide may have changed.`,
      };
    }
    const filled = fillPlaceholders(entry.check, values, entry.variables);
    if (!filled.ok) {
      return {
        ok: false,
        code: 'bad_variable',
        message: filled.errors.map((e) => e.message).join(' '),
      };
    }
    return { ok: true, title: entry.title, script: filled.text };
  }
}
