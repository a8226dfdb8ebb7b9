/**
 * The sandbox protocol, version 1: the one source of its codes, shapes and limits, described
 * for people in docs/protocol.md (update both together).
 *
 * Shared by the browser's terminal client and the server, so it uses neither DOM nor Node
 * globals (checked by tsconfig.shared.json). Messages are decoded with zod on arrival; the
 * client and server unions are separate so neither side can accept the other's messages.
 */
import { z } from 'zod';
import { ClusterChange, ClusterEvent, ClusterObject } from './cluster-objects.ts';

export const PROTOCOL_VERSION = 1;

/** WebSocket close codes. The close reason is always the error code. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009,
  serverFault: 1011,
  badToken: 4001,
  noSession: 4004,
  /** idle, expired, or too slow */
  timeout: 4008,
  badAttach: 4400,
} as const;

/** Stable error codes, used as HTTP error `code`, WebSocket `error` message code and close reason. */
export type ErrorCode =
  | 'bad_request'
  | 'bad_token'
  | 'no_session'
  | 'wrong_join_code'
  /** every seat of the join code given is taken (--join-code code:seats) */
  | 'join_code_full'
  /** a second terminal (`with`) for a participant who has every terminal already */
  | 'terminals_full'
  | 'rate_limited'
  | 'server_full'
  /** the server ran out of file descriptors (EMFILE/ENFILE): not full, starved */
  | 'out_of_files'
  | 'origin_not_allowed'
  | 'not_found'
  | 'method_not_allowed'
  | 'too_large'
  | 'malformed_message'
  | 'unknown_type'
  | 'invalid_message'
  | 'read_only'
  | 'attach_timeout'
  | 'idle_timeout'
  | 'session_expired'
  | 'session_ended'
  | 'too_slow'
  | 'server_shutdown'
  | 'cluster_unavailable'
  | 'sandbox_unavailable'
  | 'server_fault'
  // the app route (app-proxy.ts)
  | 'link_expired'
  | 'app_not_found'
  | 'app_not_ready'
  | 'app_wrong_port'
  | 'app_refused'
  | 'app_timeout'
  | 'app_too_large'
  | 'upgrade_not_supported';

export const Limits = {
  /** Largest text (JSON) frame, in bytes. */
  maxTextBytes: 64 * 1024,
  /** Largest binary (terminal input) frame, in bytes. */
  maxBinaryBytes: 1024 * 1024,
  maxCols: 1000,
  maxRows: 500,
  /** tasks one check message may name */
  maxTasksPerCheck: 20,
} as const;

/**
 * Session ids: 16 characters of lowercase base32 (80 random bits), safe in URLs and logs and a
 * valid part of a Kubernetes name, so a session's namespace can carry its id.
 */
export const SESSION_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
export const SESSION_ID_LENGTH = 16;
const SESSION_ID = new RegExp(`^[${SESSION_ID_ALPHABET}]{${SESSION_ID_LENGTH}}$`);

/** Whether a string can be a session id (whether that session exists is another question). */
export function isSessionId(value: string): boolean {
  return SESSION_ID.test(value);
}

const cols = z.number().int().min(1).max(Limits.maxCols);
const rows = z.number().int().min(1).max(Limits.maxRows);

// ---- client → server -------------------------------------------------------------------

export const AttachMessage = z.object({
  type: z.literal('attach'),
  token: z.string().min(1).max(512),
  cols,
  rows,
  readOnly: z.boolean().optional(),
});
export const ResizeMessage = z.object({ type: z.literal('resize'), cols, rows });
export const AckMessage = z.object({
  type: z.literal('ack'),
  bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export const SnippetState = z.enum(['running', 'succeeded', 'failed']);
export const ProgressMessage = z.object({
  type: z.literal('progress'),
  page: z.string().max(512),
  snippet: z.string().max(256),
  state: SnippetState,
  code: z.number().int().optional(),
});

/** A task's place in the guide: its chapter's slug and its id there (content/*.mdx <Task id>). */
const slug = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/)
  .max(128);
/**
 * Asks the server to check tasks of one chapter (docs/tasks.md). The browser names them; the
 * check's script comes from the built site's tasks.json. `variables` are the reader's values
 * for the placeholders, validated and quoted by the server as in a Run.
 */
export const CheckMessage = z.object({
  type: z.literal('check'),
  chapter: slug,
  tasks: z.array(slug).min(1).max(Limits.maxTasksPerCheck),
  variables: z.record(z.string().max(64), z.string().max(1024)).optional(),
});
export type CheckMessage = z.infer<typeof CheckMessage>;

/**
 * The reader started a chapter clean (its clean-up blocks ran): forget the steps done on
 * `page` and the tasks of `chapter` (docs/tasks.md).
 */
export const ResetMessage = z.object({
  type: z.literal('reset'),
  page: z.string().max(512),
  chapter: slug,
});
export type ResetMessage = z.infer<typeof ResetMessage>;
/**
 * "Reset my namespace" (workshops, docs/tasks.md): delete what the participant made in their
 * namespace and forget the session's progress. The page asks the reader to confirm first.
 */
export const ResetNamespaceMessage = z.object({ type: z.literal('reset-namespace') });
/** The cluster view (docs/cluster-view.md): start or stop streaming the session's namespace. */
export const ClusterSubscribeMessage = z.object({ type: z.literal('cluster-subscribe') });
export const ClusterUnsubscribeMessage = z.object({ type: z.literal('cluster-unsubscribe') });

export const ClientMessage = z.discriminatedUnion('type', [
  AttachMessage,
  ResizeMessage,
  AckMessage,
  ProgressMessage,
  CheckMessage,
  ResetMessage,
  ResetNamespaceMessage,
  ClusterSubscribeMessage,
  ClusterUnsubscribeMessage,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type AttachMessage = z.infer<typeof AttachMessage>;
export type ProgressMessage = z.infer<typeof ProgressMessage>;

// ---- server → client -------------------------------------------------------------------

export const ReadyMessage = z.object({
  type: z.literal('ready'),
  session: z.string(),
  resumed: z.boolean(),
});
export const ExitMessage = z.object({ type: z.literal('exit'), code: z.number().int() });
export const ExpiringMessage = z.object({ type: z.literal('expiring'), at: z.string() });
export const NoticeMessage = z.object({ type: z.literal('notice'), message: z.string() });
export const ErrorMessage = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
});

/**
 * A task's check came back: `done` (exit 0), `not-yet` (exit 1, `message` is the line the
 * check printed), or `error` ("could not check": a timeout, another exit code, an unknown
 * task, too many checks; `code` says which).
 */
export const TaskState = z.enum(['done', 'not-yet', 'error']);
export type TaskState = z.infer<typeof TaskState>;
export const TaskCheckCode = z.enum([
  'unknown_task',
  'bad_variable',
  'rate_limited',
  'timeout',
  'check_failed',
  'unavailable',
]);
export const TaskMessage = z.object({
  type: z.literal('task'),
  chapter: z.string(),
  task: z.string(),
  state: TaskState,
  message: z.string(),
  code: TaskCheckCode.optional(),
});
export type TaskMessage = z.infer<typeof TaskMessage>;
/**
 * What this session has done, sent after `ready`: the steps that succeeded (`<page>#<snippet>`,
 * as in `progress`) and the tasks done (`<chapter>/<task>`).
 */
export const RecordMessage = z.object({
  type: z.literal('record'),
  steps: z.array(z.string()),
  tasks: z.array(z.string()),
});
export type RecordMessage = z.infer<typeof RecordMessage>;
/**
 * The answer to `reset-namespace`, to every terminal of the session: `done` with what was
 * removed (then a `record`, as the progress is forgotten), or `error` with why not.
 */
export const NamespaceResetMessage = z.object({
  type: z.literal('namespace-reset'),
  state: z.enum(['done', 'error']),
  removed: z.array(z.object({ kind: z.string(), name: z.string() })),
  message: z.string(),
});
export type NamespaceResetMessage = z.infer<typeof NamespaceResetMessage>;
/** Everything the view shows of the namespace; sent on subscribe and after a re-list. */
export const ClusterSnapshotMessage = z.object({
  type: z.literal('cluster-snapshot'),
  namespace: z.string(),
  objects: z.array(ClusterObject),
  /** newest first */
  events: z.array(ClusterEvent),
});
/** What changed since the last snapshot or changes message, in order. */
export const ClusterChangesMessage = z.object({
  type: z.literal('cluster-changes'),
  changes: z.array(ClusterChange),
  /** new or updated events, newest first */
  events: z.array(ClusterEvent),
});
/** The view cannot follow the namespace (no cluster, the watch refused); the message says why. */
export const ClusterUnavailableMessage = z.object({
  type: z.literal('cluster-unavailable'),
  message: z.string(),
});

export const ServerMessage = z.discriminatedUnion('type', [
  ReadyMessage,
  ExitMessage,
  ExpiringMessage,
  NoticeMessage,
  ErrorMessage,
  TaskMessage,
  RecordMessage,
  NamespaceResetMessage,
  ClusterSnapshotMessage,
  ClusterChangesMessage,
  ClusterUnavailableMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type ClusterSnapshotMessage = z.infer<typeof ClusterSnapshotMessage>;
export type ClusterChangesMessage = z.infer<typeof ClusterChangesMessage>;

// ---- decoding --------------------------------------------------------------------------

export type Decoded<T> =
  | { ok: true; message: T }
  | { ok: false; code: 'malformed_message' | 'unknown_type' | 'invalid_message'; message: string };

function decode<T>(
  text: string,
  schema: z.ZodType<T>,
  knownTypes: ReadonlySet<string>,
): Decoded<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'malformed_message', message: 'The message is not valid JSON.' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      code: 'malformed_message',
      message: 'A message must be a JSON object with a "type".',
    };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !knownTypes.has(type)) {
    return {
      ok: false,
      code: 'unknown_type',
      message: `Unknown message type ${JSON.stringify(type ?? null)}; expected one of: ${[...knownTypes].join(', ')}.`,
    };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `"${issue.path.join('.')}"` : 'the message';
    return {
      ok: false,
      code: 'invalid_message',
      message: `Invalid ${type} message: ${where} ${issue?.message ?? 'is invalid'}.`,
    };
  }
  return { ok: true, message: parsed.data };
}

const typesOf = (union: { options: readonly { shape: { type: { value: string } } }[] }) =>
  new Set(union.options.map((o) => o.shape.type.value));
const clientTypes: ReadonlySet<string> = typesOf(ClientMessage);
const serverTypes: ReadonlySet<string> = typesOf(ServerMessage);

/** Decodes a text frame the server received. Pure; never throws. */
export function decodeClientMessage(text: string): Decoded<ClientMessage> {
  return decode(text, ClientMessage, clientTypes);
}

/** Decodes a text frame the client received. Pure; never throws. */
export function decodeServerMessage(text: string): Decoded<ServerMessage> {
  return decode(text, ServerMessage, serverTypes);
}

export function encode(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(message);
}

// ---- HTTP bodies -----------------------------------------------------------------------

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const HealthBody = z.object({
  status: z.literal('ok'),
  protocol: z.number(),
  mode: z.enum(['local', 'workshop']),
  cluster: z.object({
    provider: z.string(),
    ready: z.boolean(),
    starting: z.boolean().optional(),
    message: z.string().optional(),
    capabilities: z.array(z.string()).optional(),
  }),
  sessions: z.object({ active: z.number(), max: z.number() }),
  joinCodeRequired: z.boolean().optional(),
});
export type HealthBody = z.infer<typeof HealthBody>;

/**
 * How many terminals the page's dock has: a participant's sessions, the first and those that
 * joined it (`with`), at most this many at once. Also the largest fence `term=`.
 */
export const TERMINALS = 2;

export const CreateSessionRequest = z.object({
  joinCode: z.string().max(256).optional(),
  /** another terminal of the participant holding this session: the same namespace */
  with: z.object({ id: z.string().max(64), token: z.string().max(256) }).optional(),
});
export const SessionCreatedBody = z.object({
  id: z.string(),
  token: z.string(),
  namespace: z.string(),
  expiresAt: z.string(),
});
export type SessionCreatedBody = z.infer<typeof SessionCreatedBody>;

export const SessionInfoBody = z.object({
  id: z.string(),
  namespace: z.string(),
  expiresAt: z.string(),
  attached: z.number(),
});
export type SessionInfoBody = z.infer<typeof SessionInfoBody>;

/** `POST /api/sessions/:id/apps`: a link that opens one of the session's apps. */
export const AppLinkRequest = z.object({ target: z.string().min(1).max(300) });
export const AppLinkBody = z.object({
  /** absolute when apps are served from an origin of their own, else a path on the sandbox */
  url: z.string(),
  expiresAt: z.string(),
});
export type AppLinkBody = z.infer<typeof AppLinkBody>;

/** Where a session's app links are made. */
export function appLinksPath(sessionId: string): string {
  return `/api/sessions/${encodeURIComponent(sessionId)}/apps`;
}

// ---- admin (instructor) bodies ---------------------------------------------------------

/** A session as the instructor sees it: `GET /api/admin/sessions` and the event stream. */
export interface SessionSummary extends SessionInfoBody {
  createdAt: string;
  lastActiveAt: string;
  /** the snippet the participant last ran, and how it went */
  progress: {
    page: string;
    snippet: string;
    state: z.infer<typeof SnippetState>;
    code?: number;
  } | null;
  /** each task the participant checked, by `<chapter>/<task>` (docs/tasks.md) */
  tasks: Record<string, TaskSummary>;
}

/** A task as the instructor sees it: its last answer, the "not yet"s, since when. */
export interface TaskSummary {
  state: TaskState;
  failures: number;
  /** when the participant started on it (ISO time) */
  since: string;
  message: string;
  /** the participant's last command line before their latest "not yet" (shell marks) */
  command?: string;
}

/** An event of `GET /api/admin/events` (Server-Sent Events: `event: <type>`, `data: <JSON>`). */
export type AdminEvent =
  | { type: 'created' | 'progress' | 'attached'; session: SessionSummary }
  | { type: 'ended'; id: string; reason: string };

export interface ExtendedBody {
  id: string;
  expiresAt: string;
}

export interface BroadcastBody {
  sent: number;
}

/** The path of a session's terminal socket. */
export function terminalPath(sessionId: string): string {
  return `/api/sessions/${encodeURIComponent(sessionId)}/terminal`;
}
