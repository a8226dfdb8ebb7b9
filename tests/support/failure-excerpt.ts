/**
 * What a failed tier said about its failures, short enough to repeat at the end of `npm test`.
 * A CI log is often read from its tail (ours shows the last few hundred lines); without this,
 * a failure in an early tier is named there but its reason scrolled away long before.
 *
 * node:test ends with a "failing tests:" section, which is taken whole; other runners (the
 * doc-tests, Playwright, the kind tier's nested output) mark a failure with ✗, ✖ or `N) [`,
 * and each such line is taken with the few lines after it. Stack frames are dropped.
 */

import { plain } from './terminal-client.ts';

const MAX_LINES = 40;
const FOLLOWING = 4;
const MARK = /[✖✗]|^(?:\s*│)*\s*\d+\) \[/;
const FRAME = /^(?:\s*│)*\s+at /;
/** the error object's fields node:test prints after an assertion's message */
const FIELDS = /^\s+(?:generatedMessage|code|actual|expected|operator|diff): |^\s*}$/;

export function failureExcerpt(output: string): string[] {
  const lines = plain(output)
    .split('\n')
    .map((line) => line.trimEnd());
  const section = lines.findLastIndex((line) => /^✖ failing tests:$/.test(line.trim()));
  const picked: string[] = [];
  if (section >= 0) {
    for (const line of lines.slice(section + 1)) {
      if (line && !FRAME.test(line) && !FIELDS.test(line) && !/^test at /.test(line)) {
        picked.push(line);
      }
    }
  } else {
    for (let i = 0; i < lines.length; i++) {
      if (!MARK.test(lines[i] ?? '')) continue;
      picked.push(lines[i] ?? '');
      let taken = 0;
      for (let j = i + 1; j < lines.length && taken < FOLLOWING; j++, i++) {
        const next = lines[j] ?? '';
        if (MARK.test(next) || !next.replace(/[│\s]/g, '')) break;
        if (FRAME.test(next)) continue;
        picked.push(next);
        taken++;
      }
    }
  }
  const unique = [...new Set(picked)];
  if (unique.length <= MAX_LINES) return unique;
  return [
    ...unique.slice(0, MAX_LINES),
    `… and ${unique.length - MAX_LINES} more lines, in the tier's output above`,
  ];
}
