import { z } from 'zod';

/** Frontmatter a chapter may carry beside Starlight's own fields. */
export const VariableSpec = z.object({
  default: z.string(),
  description: z.string(),
  kind: z.enum(['dns-label', 'image', 'port', 'text']).default('text'),
});
export type VariableSpec = z.infer<typeof VariableSpec>;

export const chapterFields = z.object({
  order: z.number().int().optional(),
  variables: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), VariableSpec).default({}),
});
