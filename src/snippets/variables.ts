import { z } from 'zod';
import {
  type VariableSpec as Spec,
  VARIABLE_KINDS,
  validateVariable,
} from './validate-variable.ts';

/** Frontmatter a chapter may carry beside Starlight's own fields. */
export const VariableSpec = z.object({
  default: z.string(),
  description: z.string(),
  kind: z.enum(VARIABLE_KINDS).default('text'),
}) satisfies z.ZodType<Spec>;
export type VariableSpec = Spec;

export const VARIABLE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export const chapterFields = z.object({
  order: z.number().int().optional(),
  variables: z.record(z.string().regex(VARIABLE_NAME), VariableSpec).default({}),
});

export type ChapterVariables =
  | { ok: true; variables: Record<string, VariableSpec> }
  | { ok: false; errors: string[] };

/**
 * The `variables:` of a chapter's raw frontmatter (as the Markdown pipeline sees it, before the
 * content collection applies its schema), with defaults filled in. A default that its own kind
 * rejects is an error too: every reader would start from a broken command.
 */
export function readChapterVariables(frontmatter: unknown): ChapterVariables {
  const raw =
    typeof frontmatter === 'object' && frontmatter !== null
      ? (frontmatter as Record<string, unknown>).variables
      : undefined;
  const parsed = chapterFields.shape.variables.safeParse(raw);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => {
      const where = ['variables', ...issue.path.map(String)].join('.');
      return `frontmatter ${where}: ${issue.message}`;
    });
    return { ok: false, errors };
  }
  const errors: string[] = [];
  for (const [name, spec] of Object.entries(parsed.data)) {
    // An empty default is allowed: the reader has to fill it in before running.
    if (spec.default === '') continue;
    const problem = validateVariable(name, spec.default, spec);
    if (problem !== null) errors.push(`frontmatter variables.${name}.default: ${problem}`);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, variables: parsed.data };
}
