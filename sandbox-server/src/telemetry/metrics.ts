/**
 * Counters for `GET /metrics`, in Prometheus' text format. Plain numbers on the hot path (an
 * addition per output chunk); formatting happens only when scraped.
 */
const NAMESPACE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** An echo is a fraction of a millisecond when all is well: fine buckets there. */
const ECHO_BUCKETS = [
  0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25,
];

class Histogram {
  readonly buckets: number[];
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(buckets: number[]) {
    this.buckets = buckets;
    this.counts = buckets.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (seconds <= this.buckets[i]!) this.counts[i] = (this.counts[i] ?? 0) + 1;
    }
  }

  /** Prometheus lines for this histogram, with `labels` (`op="create"`, say) on each. */
  render(name: string, labels: string): string[] {
    const sep = labels ? ',' : '';
    const lines = this.buckets.map(
      (le, i) => `${name}_bucket{${labels}${sep}le="${le}"} ${this.counts[i]}`,
    );
    const braces = labels ? `{${labels}}` : '';
    lines.push(
      `${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`,
      `${name}_sum${braces} ${this.sum}`,
      `${name}_count${braces} ${this.count}`,
    );
    return lines;
  }
}

export class Metrics {
  sessionsCreated = 0;
  readonly sessionsEnded = new Map<string, number>();
  attaches = 0;
  outputBytes = 0;
  inputBytes = 0;
  readonly errors = new Map<string, number>();
  readonly namespaceSeconds = {
    create: new Histogram(NAMESPACE_BUCKETS),
    delete: new Histogram(NAMESPACE_BUCKETS),
  };
  /** From input reaching a session to the next output frame leaving it (the shell's echo included). */
  readonly echoSeconds = new Histogram(ECHO_BUCKETS);
  /** How long a task's check ran (tasks/task-checks.ts). */
  readonly checkSeconds = new Histogram(NAMESPACE_BUCKETS);
  /** Task checks by outcome: done, not-yet, error. */
  readonly checks = new Map<string, number>();

  ended(reason: string): void {
    this.sessionsEnded.set(reason, (this.sessionsEnded.get(reason) ?? 0) + 1);
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  render(gauges: { sessions: number; maxSessions: number; attachments: number }): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    metric('kubenotes_sessions_active', 'gauge', 'Sessions alive now.', [['', gauges.sessions]]);
    metric('kubenotes_sessions_max', 'gauge', 'Most sessions allowed at once.', [
      ['', gauges.maxSessions],
    ]);
    metric('kubenotes_attachments_active', 'gauge', 'Terminal sockets attached now.', [
      ['', gauges.attachments],
    ]);
    metric('kubenotes_sessions_created_total', 'counter', 'Sessions created.', [
      ['', this.sessionsCreated],
    ]);
    metric(
      'kubenotes_sessions_ended_total',
      'counter',
      'Sessions ended, by reason.',
      [...this.sessionsEnded].map(([reason, n]) => [`{reason="${reason}"}`, n]),
    );
    metric('kubenotes_attaches_total', 'counter', 'Terminal attaches.', [['', this.attaches]]);
    metric('kubenotes_output_bytes_total', 'counter', 'Bytes the shells printed.', [
      ['', this.outputBytes],
    ]);
    metric('kubenotes_input_bytes_total', 'counter', 'Bytes typed into the shells.', [
      ['', this.inputBytes],
    ]);
    metric(
      'kubenotes_errors_total',
      'counter',
      'Refused requests and messages, by error code.',
      [...this.errors].map(([code, n]) => [`{code="${code}"}`, n]),
    );
    lines.push(
      '# HELP kubenotes_namespace_seconds Time to create or delete a session namespace.',
      '# TYPE kubenotes_namespace_seconds histogram',
    );
    for (const [op, histogram] of Object.entries(this.namespaceSeconds)) {
      lines.push(...histogram.render('kubenotes_namespace_seconds', `op="${op}"`));
    }
    lines.push(
      "# HELP kubenotes_echo_seconds From input reaching a session to its next output frame leaving the server, the shell's own echo included.",
      '# TYPE kubenotes_echo_seconds histogram',
      ...this.echoSeconds.render('kubenotes_echo_seconds', ''),
    );
    metric(
      'kubenotes_task_checks_total',
      'counter',
      "Tasks checked, by the check's answer (done, not-yet, error).",
      [...this.checks].map(([state, n]) => [`{state="${state}"}`, n]),
    );
    lines.push(
      "# HELP kubenotes_task_check_seconds How long a task's check ran.",
      '# TYPE kubenotes_task_check_seconds histogram',
      ...this.checkSeconds.render('kubenotes_task_check_seconds', ''),
    );
    return `${lines.join('\n')}\n`;
  }
}
