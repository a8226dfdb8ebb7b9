import { z } from 'zod';
import { VariableSpec } from './variables.ts';

/**
 * The checks of every task in the guide, written beside the built site (`tasks.json`) and
 * read by the sandbox server at start. The server runs a check only from here: a browser
 * names a task by chapter and id, never sends a script.
 */

export const TASK_MANIFEST_FILE = 'tasks.json';
export const TASK_MANIFEST_VERSION = 1;

export const ManifestTask = z.object({
  title: z.string(),
  /** the check's script, placeholders left as `<name>` */
  check: z.string(),
  /** where it is written, for the server's messages */
  line: z.number().int(),
  /** the variables the check uses, with their specs (kind, default) */
  variables: z.record(z.string(), VariableSpec),
});
export type ManifestTask = z.infer<typeof ManifestTask>;

export const TaskManifest = z.object({
  version: z.literal(TASK_MANIFEST_VERSION),
  /** chapter slug → task id → task */
  chapters: z.record(z.string(), z.record(z.string(), ManifestTask)),
});
export type TaskManifest = z.infer<typeof TaskManifest>;
