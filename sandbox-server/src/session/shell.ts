/**
 * Starts a session's shell: bash in a pty, from an argv array, with an allow-listed
 * environment (never the server's whole process.env), its own HOME and working directory,
 * and an rcfile that emits the OSC 133 shell-integration marks without changing what the
 * user sees.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pty from 'node-pty';
import type { SessionSandbox } from '../isolation/isolation.ts';
import { writeHomeFile } from '../isolation/sandbox-home.ts';
import { OWNER_VARIABLE, ownerMark } from '../processes/process-tree.ts';

/** Variables a shell may inherit from the server, besides those the session sets itself. */
const INHERITED = ['LANG', 'LC_ALL', 'TZ', 'USER', 'LOGNAME', 'DOCKER_HOST', 'DOCKER_CONFIG'];

export interface ShellOptions {
  command: string;
  cols: number;
  rows: number;
  /** the session's own folder: HOME and working directory */
  home: string;
  /** PATH inside the shell */
  path: string;
  /** variables the session sets (KUBECONFIG, …) */
  env: Readonly<Record<string, string>>;
  /** extra names to pass through from the server's environment */
  passEnv: readonly string[];
  serverEnv: Readonly<Record<string, string | undefined>>;
  /** printed once when the shell starts (what is missing, how to get it) */
  banner?: string | undefined;
  /** workshop mode: the session's sandbox (own uid, cgroup, bubblewrap) */
  sandbox?: SessionSandbox | undefined;
  /** the shell runs in a pod; this pty only carries the exec stream (see ClusterLease) */
  remoteShell?: ((rc: string) => { file: string; args: string[] }) | undefined;
}

/**
 * After the end mark, the command line that ended, as `ESC ] 633 ; E ; <line> BEL` (VS Code's
 * shell-integration mark; docs/protocol.md): `\\` as `\\\\`, `;` and bytes outside printable
 * ASCII as `\\xHH`, at most 1000 characters. The server keeps it so the instructor sees what a
 * participant last tried before a task's check said "not yet". Read from the history (one
 * `$(…)` per command): a line the history did not keep (a leading space, a repeat) gets no
 * mark, and the last one stands.
 */
// biome-ignore-start lint/suspicious/noTemplateCurlyInString: bash parameter expansion, not JS
const COMMAND_LINE_MARK = [
  '__kn_line() {',
  '  local LC_ALL=C h n c ch out= i',
  '  h=$(HISTTIMEFORMAT= history 1) || return',
  '  h=${h#"${h%%[![:space:]]*}"}',
  '  n=${h%%[!0-9]*}',
  '  [ -n "$n" ] && [ "$n" != "$__kn_hn" ] || return',
  '  __kn_hn=$n',
  '  c=${h#"$n"}; c=${c#"  "}',
  '  for ((i = 0; i < ${#c} && ${#out} < 1000; i++)); do',
  '    ch=${c:i:1}',
  '    case $ch in',
  "      '\\') out+='\\\\' ;;",
  "      ';' | [![:print:]]) printf -v ch '\\\\x%02x' \"'$ch\"; out+=$ch ;;",
  '      *) out+=$ch ;;',
  '    esac',
  '  done',
  '  printf \'\\e]633;E;%s\\a\' "$out"',
  '}',
];
// biome-ignore-end lint/suspicious/noTemplateCurlyInString: bash parameter expansion, not JS

/**
 * The marks: `C` when a command line starts executing, `D;<code>` when it ends, `A` at each
 * prompt. `A` is the last thing in PS1, which readline prints only once it has the terminal
 * (non-canonical, its own echo): what a client types the moment it sees `A` is read, and
 * echoed, by readline alone. A reader who sets their own PS1 gets the mark added back.
 * PS0 is printed after a command line is read and before it runs, and never for an
 * empty line; its `${__kn_none[__kn_ran=1]}` expands to nothing but sets a flag in this shell
 * (parameter expansion, unlike `$(…)`, runs in-process), so PROMPT_COMMAND knows a command
 * ran. Unlike a DEBUG trap this also covers subshells, `( … )`, and compound commands.
 */

export function rcfile(banner: string | undefined): string {
  const lines = [
    '# written by kubenotes for this session',
    'HISTFILE="$HOME/.bash_history"',
    'HISTCONTROL=ignoreboth',
    'alias k=kubectl',
    "__kn_mark='\\[\\e]133;A\\a\\]'",
    'PS1=\'\\[\\e[32m\\]kubenotes\\[\\e[0m\\]:\\[\\e[34m\\]\\w\\[\\e[0m\\]\\$ \'"$__kn_mark"',
    '__kn_precmd() {',
    '  local s=$?',
    '  if [ -n "$__kn_ran" ]; then printf \'\\e]133;D;%s\\a\' "$s"; __kn_line; fi',
    '  __kn_ran=',
    '  case "$PS1" in *"$__kn_mark") ;; *) PS1="$PS1$__kn_mark" ;; esac',
    '}',
    ...COMMAND_LINE_MARK,
    'PROMPT_COMMAND=__kn_precmd',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash parameter expansion, not JS
    "PS0='\\e]133;C\\a${__kn_none[__kn_ran=1]}'",
  ];
  if (banner) lines.push(`printf '%s\\n' ${singleQuote(banner)}`);
  lines.push('');
  return lines.join('\n');
}

function singleQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

export function prepareHome(home: string, banner: string | undefined): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const rc = join(home, '.kubenotes-rc');
  writeFileSync(rc, rcfile(banner), { mode: 0o600 });
  return rc;
}

export function removeHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
}

export function shellEnvironment(options: ShellOptions): Record<string, string> {
  const env: Record<string, string> = {
    HOME: options.home,
    PATH: options.path,
    SHELL: options.command,
    TERM: 'xterm-256color',
    COLORTERM: 'truecolor',
    LANG: 'C.UTF-8',
  };
  for (const name of [...INHERITED, ...options.passEnv]) {
    const value = options.serverEnv[name];
    if (value !== undefined) env[name] = value;
  }
  // Which server started this shell: after a crash, the next server finds what the shell
  // left running by this mark and ends it (see killOrphansOfDeadServers).
  env[OWNER_VARIABLE] = ownerMark();
  return { ...env, ...options.env };
}

/**
 * Closes every inherited descriptor above 2, then execs the command. node-pty leaves each
 * pty's master open across exec, and the server holds one per session, so without this every
 * shell would inherit the masters of all the sessions started before it: it could type into
 * their terminals, an ended session's pty would stay allocated while later shells lived, and
 * after a server crash a session's pty would never be hung up, so its shell and jobs would
 * live on. The sandboxed path does the same in JOIN_AND_EXEC.
 * Needs bash ≥ 4.1 and /proc, so Linux only; elsewhere the command runs as before.
 */
const CLOSE_FDS_AND_EXEC = `for fd in /proc/self/fd/*; do
  fd=\${fd##*/}
  if [ "$fd" -gt 2 ]; then { exec {fd}>&-; } 2>/dev/null; fi
done
exec "$@"
`;

function closingInheritedFds(command: { file: string; args: string[] }): {
  file: string;
  args: string[];
} {
  if (process.platform !== 'linux' || !existsSync('/bin/bash')) return command;
  return {
    file: '/bin/bash',
    // POSIX mode and no startup files: nothing but this script runs before the command.
    args: [
      '--posix',
      '--norc',
      '--noprofile',
      '-c',
      CLOSE_FDS_AND_EXEC,
      'kubenotes-shell',
      command.file,
      ...command.args,
    ],
  };
}

export function spawnShell(options: ShellOptions): pty.IPty {
  const { sandbox, remoteShell } = options;
  return startInPty(options, () => {
    if (remoteShell) {
      // Nothing of the participant's runs here: the home only holds the exec's kubeconfig.
      mkdirSync(options.home, { recursive: true, mode: 0o700 });
      return closingInheritedFds(remoteShell(rcfile(options.banner)));
    }
    let rc: string;
    if (sandbox) {
      // The participant owns this home: write as root without following links they made.
      mkdirSync(options.home, { recursive: true, mode: 0o700 });
      rc = writeHomeFile(options.home, '.kubenotes-rc', rcfile(options.banner), sandbox.uid);
    } else {
      rc = prepareHome(options.home, options.banner);
    }
    const inner = { file: options.command, args: ['--rcfile', rc, '-i'] };
    return sandbox ? sandbox.command(inner) : closingInheritedFds(inner);
  });
}

function startInPty(
  options: ShellOptions,
  command: () => { file: string; args: string[] },
): pty.IPty {
  const { file, args } = command();
  return pty.spawn(file, args, {
    name: 'xterm-256color',
    // Bytes, not strings: output goes out as binary frames, and a UTF-8 sequence split across
    // two reads is the client's decoder's business, not a lossy string conversion's.
    encoding: null,
    cols: options.cols,
    rows: options.rows,
    cwd: options.home,
    env: shellEnvironment(options),
  });
}

/**
 * How a task's check runs as the reader (tasks/task-checks.ts): the shell's program, sandbox,
 * environment and home, with no pty and no rcfile. Undefined for a shell in a pod, which this
 * machine cannot run a check beside.
 */
export function checkCommand(
  options: ShellOptions,
  script: string,
): { file: string; args: string[]; env: Record<string, string>; cwd: string } | undefined {
  if (options.remoteShell) return undefined;
  const inner = { file: options.command, args: ['--norc', '--noprofile', '-c', script] };
  if (!options.sandbox) mkdirSync(options.home, { recursive: true, mode: 0o700 });
  const { file, args } = options.sandbox
    ? options.sandbox.command(inner, 'check')
    : closingInheritedFds(inner);
  return { file, args, env: shellEnvironment(options), cwd: options.home };
}
