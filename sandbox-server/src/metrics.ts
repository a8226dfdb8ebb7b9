/**
 * Counters for `GET /metrics`, in Prometheus' text format. Plain numbers on the hot path (an
 * addition per output chunk); formatting happens only when scraped.
 */
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

class Histogram {
  readonly counts = BUCKETS.map(() => 0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }
}

export class Metrics {
  sessionsCreated = 0;
  readonly sessionsEnded = new Map<string, number>();
  attaches = 0;
  outputBytes = 0;
  inputBytes = 0;
  readonly errors = new Map<string, number>();
  readonly namespaceSeconds = { create: new Histogram(), delete: new Histogram() };

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
      BUCKETS.forEach((le, i) => {
        lines.push(
          `kubenotes_namespace_seconds_bucket{op="${op}",le="${le}"} ${histogram.counts[i]}`,
        );
      });
      lines.push(
        `kubenotes_namespace_seconds_bucket{op="${op}",le="+Inf"} ${histogram.count}`,
        `kubenotes_namespace_seconds_sum{op="${op}"} ${histogram.sum}`,
        `kubenotes_namespace_seconds_count{op="${op}"} ${histogram.count}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}
