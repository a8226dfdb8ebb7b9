/**
 * Structured logs: one JSON object per line, one line per event. Tokens never reach a log:
 * callers pass session ids, never credentials, and `redact` guards the obvious field names.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

const SECRET_KEYS = /token|authorization|password|secret|joincode/i;

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_KEYS.test(key) ? '[redacted]' : value;
  }
  return out;
}

export function createLogger(
  write: (line: string) => void = (line) => process.stdout.write(line),
  minLevel: LogLevel = 'info',
): Logger {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  const min = order.indexOf(minLevel);
  return {
    log(level, event, fields = {}) {
      if (order.indexOf(level) < min) return;
      const record = { time: new Date().toISOString(), level, event, ...redact(fields) };
      write(`${JSON.stringify(record)}\n`);
    },
  };
}

export const silentLogger: Logger = { log() {} };
