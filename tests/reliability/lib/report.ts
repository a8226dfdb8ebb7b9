/**
 * The report: one row per check (scenario · what was tried · the figure · result), printed as
 * one table at the end, then the failures' reasons, then `reliability: N passed, N failed`.
 *
 * `info` rows carry figures the issue asks to report but not to judge (an echo-latency ratio,
 * a known limit of the design); they count neither as passed nor as failed.
 */
export type Status = 'pass' | 'fail' | 'skip' | 'info';

export interface Row {
  scenario: string;
  tried: string;
  figure: string;
  status: Status;
  /** why it failed (or was skipped), printed under the table */
  reason?: string;
}

/** Collects rows for one scenario; `check` turns a condition into pass/fail. */
export class Recorder {
  readonly rows: Row[] = [];
  readonly scenario: string;

  constructor(scenario: string) {
    this.scenario = scenario;
  }

  add(tried: string, figure: string, status: Status, reason?: string): void {
    this.rows.push({
      scenario: this.scenario,
      tried,
      figure,
      status,
      ...(reason ? { reason } : {}),
    });
  }

  /** A pass/fail row: `failures` lists what went wrong (empty: pass). */
  check(tried: string, figure: string, failures: readonly string[]): boolean {
    const ok = failures.length === 0;
    this.add(tried, figure, ok ? 'pass' : 'fail', ok ? undefined : failures.join('; '));
    return ok;
  }

  info(tried: string, figure: string, note?: string): void {
    this.add(tried, figure, 'info', note);
  }
}

const WIDTHS = { scenario: 16, tried: 50, figure: 56, status: 6 };

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (word.length > width) {
        if (line) lines.push(line);
        for (let i = 0; i < word.length; i += width) lines.push(word.slice(i, i + width));
        line = lines.pop() ?? '';
        continue;
      }
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  return lines.length ? lines : [''];
}

export function renderTable(rows: readonly Row[]): string {
  const cols = [WIDTHS.scenario, WIDTHS.tried, WIDTHS.figure, WIDTHS.status];
  const rule = (l: string, m: string, r: string) =>
    l + cols.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const line = (cells: string[][]) => {
    const height = Math.max(...cells.map((c) => c.length));
    const out: string[] = [];
    for (let i = 0; i < height; i++) {
      out.push(`│${cells.map((c, j) => ` ${(c[i] ?? '').padEnd(cols[j] ?? 0)} `).join('│')}│`);
    }
    return out.join('\n');
  };
  const out = [rule('┌', '┬', '┐')];
  out.push(line([['scenario'], ['what was tried'], ['figure'], ['result']]));
  out.push(rule('├', '┼', '┤'));
  let previous = '';
  rows.forEach((row, i) => {
    if (i > 0 && row.scenario !== previous) out.push(rule('├', '┼', '┤'));
    out.push(
      line([
        wrap(row.scenario === previous ? '' : row.scenario, WIDTHS.scenario),
        wrap(row.tried, WIDTHS.tried),
        wrap(row.figure, WIDTHS.figure),
        [row.status.toUpperCase()],
      ]),
    );
    previous = row.scenario;
  });
  out.push(rule('└', '┴', '┘'));
  return out.join('\n');
}

export function summary(rows: readonly Row[]): {
  passed: number;
  failed: number;
  skipped: number;
} {
  return {
    passed: rows.filter((r) => r.status === 'pass').length,
    failed: rows.filter((r) => r.status === 'fail').length,
    skipped: rows.filter((r) => r.status === 'skip').length,
  };
}

// ---- figures --------------------------------------------------------------------------

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

/** The largest value (no spread: a run holds too many samples for the call stack). */
export function max(values: readonly number[]): number {
  let best = Number.NEGATIVE_INFINITY;
  for (const value of values) if (value > best) best = value;
  return best;
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes >= 100 * 1024 * 1024 ? 0 : 1)} MiB`;
}

/** KiB under 1 MiB, else MiB. */
export function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : mib(bytes);
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}
