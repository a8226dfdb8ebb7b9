/**
 * Which container images a command of the guide uses, and where (pure; unit-tested):
 *
 *   kubectl run|create … --image=X          X runs in the cluster
 *   kubectl set image … NAME=X               X runs in the cluster
 *   image: X  (YAML, in a heredoc or block)  X runs in the cluster
 *   FROM X    (a Dockerfile in a heredoc)    X is needed by `docker build`, on the Docker engine
 *   docker pull X                            X is needed on the Docker engine
 *   docker build -t X / docker tag A X       X is made by the chapter itself: nothing to fetch
 *
 * Commands come with placeholders already filled in; words are read the way the shell reads
 * them (quotes removed), so `'*=nginx:1.29'` yields nginx:1.29.
 */
import { scanShell } from '../../../src/snippets/shell-syntax.ts';

/** Where an image must be present for the chapter to work offline. */
export type ImagePlace = 'cluster' | 'docker';

export interface ImageUse {
  image: string;
  where: ImagePlace;
  /** how the command names it: `--image`, `set image`, `image:`, `FROM`, `docker pull` */
  how: string;
}

export interface CommandImages {
  uses: ImageUse[];
  /** images the command itself makes (docker build -t, docker tag) */
  builds: string[];
}

/** Splits a command into its shell part (words, quotes removed) and its heredoc bodies. */
export function splitCommand(command: string): { words: string[][]; heredocs: string[] } {
  const { contexts } = scanShell(command);
  let shell = '';
  const heredocs: string[] = [];
  let body = '';
  for (let i = 0; i < command.length; i++) {
    const context = contexts[i];
    if (context === 'heredoc' || context === 'heredoc-literal') {
      body += command[i];
      continue;
    }
    if (body) {
      heredocs.push(body);
      body = '';
    }
    shell += command[i];
  }
  if (body) heredocs.push(body);
  return { words: shellWords(shell), heredocs };
}

const OPERATORS = new Set([';', '&', '|', '(', ')', '\n']);

/**
 * The simple commands of a line of shell, each as its words with quotes and escapes removed.
 * Enough shell for the guide's commands: quotes, backslashes, comments, `;` `&&` `||` `|` `&`,
 * redirections (their target is dropped). `$(…)` and variables are kept as written.
 */
export function shellWords(text: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let dropNext = false;
  const endWord = () => {
    if (inWord) {
      if (dropNext) dropNext = false;
      else words.push(word);
    }
    word = '';
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\') {
      const next = text[i + 1];
      i++;
      if (next === '\n' || next === undefined) continue; // line continuation
      word += next;
      inWord = true;
    } else if (char === "'") {
      const end = text.indexOf("'", i + 1);
      const stop = end < 0 ? text.length : end;
      word += text.slice(i + 1, stop);
      inWord = true;
      i = stop;
    } else if (char === '"') {
      inWord = true;
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && /["\\$`\n]/.test(text[i + 1] ?? '')) {
          i++;
          if (text[i] === '\n') continue;
        }
        word += text[i];
      }
    } else if (char === '#' && !inWord) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (char === ' ' || char === '\t') {
      endWord();
    } else if (OPERATORS.has(char)) {
      endCommand();
    } else if (char === '<' || char === '>') {
      // A redirection: `>`, `>>`, `<`, `<<EOF`, `2>&1`, `&>`; its target is not an argument.
      if (inWord && /^\d+$/.test(word)) {
        word = '';
        inWord = false;
      } else {
        endWord();
      }
      while (text[i + 1] === '<' || text[i + 1] === '>' || text[i + 1] === '-') i++;
      if (text[i + 1] === '&') {
        // >&2, 2>&1: the descriptor follows directly
        i++;
        while (/[0-9-]/.test(text[i + 1] ?? '')) i++;
        continue;
      }
      dropNext = true;
    } else {
      word += char;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

/** The images one command (placeholders filled in) uses or makes. */
export function imagesInCommand(command: string): CommandImages {
  const { words, heredocs } = splitCommand(command);
  const uses: ImageUse[] = [];
  const builds: string[] = [];
  for (const argv of words) {
    const args = withoutEnvAssignments(argv);
    const program = basename(args[0] ?? '');
    if (program === 'kubectl' || program === 'oc') {
      uses.push(...kubectlImages(args.slice(1)));
    } else if (program === 'docker' || program === 'podman') {
      const found = dockerImages(args.slice(1));
      uses.push(...found.uses);
      builds.push(...found.builds);
    }
  }
  for (const body of heredocs) {
    uses.push(...imagesInYaml(body), ...imagesInDockerfile(body));
  }
  return { uses: dedupe(uses), builds: [...new Set(builds)] };
}

function kubectlImages(args: string[]): ImageUse[] {
  const uses: ImageUse[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith('--image=')) {
      addImage(uses, arg.slice('--image='.length), 'cluster', '--image');
    } else if (arg === '--image' && args[i + 1] !== undefined) {
      addImage(uses, args[++i]!, 'cluster', '--image');
    }
  }
  // kubectl set image (-f FILE | TYPE NAME | TYPE/NAME) CONTAINER=IMAGE …
  const positional = args.filter((a) => !a.startsWith('-'));
  if (positional[0] === 'set' && positional[1] === 'image') {
    for (const arg of positional.slice(2)) {
      const eq = arg.indexOf('=');
      if (eq > 0) addImage(uses, arg.slice(eq + 1), 'cluster', 'set image');
    }
  }
  return uses;
}

/** docker flags that take a value, for the subcommands read here. */
const DOCKER_VALUE_FLAGS = new Set(['--platform', '-f', '--file', '--build-arg', '--target']);

function dockerImages(args: string[]): CommandImages {
  const uses: ImageUse[] = [];
  const builds: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-t' || arg === '--tag') {
      if (args[i + 1] !== undefined) builds.push(args[++i]!);
    } else if (arg.startsWith('--tag=')) {
      builds.push(arg.slice('--tag='.length));
    } else if (/^-t[^-]/.test(arg)) {
      builds.push(arg.slice(2));
    } else if (DOCKER_VALUE_FLAGS.has(arg)) {
      i++;
    } else if (!arg.startsWith('-')) {
      positional.push(arg);
    }
  }
  const [sub, ...rest] = positional;
  if (sub === 'build' || (sub === 'image' && rest[0] === 'build') || sub === 'buildx') {
    return { uses, builds };
  }
  if (sub === 'tag' || (sub === 'image' && rest[0] === 'tag')) {
    const tagArgs = sub === 'tag' ? rest : rest.slice(1);
    if (tagArgs[1]) builds.push(tagArgs[1]);
    return { uses, builds: builds.filter((b) => b === tagArgs[1]) };
  }
  if (sub === 'pull' || (sub === 'image' && rest[0] === 'pull')) {
    const image = sub === 'pull' ? rest[0] : rest[1];
    if (image) addImage(uses, image, 'docker', 'docker pull');
  }
  return { uses, builds: [] };
}

/** `image: X` lines of YAML (Kubernetes manifests), quotes and comments removed. */
export function imagesInYaml(text: string): ImageUse[] {
  const uses: ImageUse[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(?:-\s+)?["']?image["']?\s*:\s*(.+?)\s*$/.exec(line);
    if (!match) continue;
    let value = match[1]!;
    const quoted = /^(["'])(.*)\1(?:\s+#.*)?$/.exec(value);
    if (quoted) value = quoted[2]!;
    else value = value.replace(/\s+#.*$/, '').replace(/,$/, '');
    addImage(uses, value, 'cluster', 'image:');
  }
  return uses;
}

/** The base images of a Dockerfile (`FROM X [AS name]`), earlier stages and scratch left out. */
export function imagesInDockerfile(text: string): ImageUse[] {
  const uses: ImageUse[] = [];
  const stages = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (!match) continue;
    const image = match[1]!;
    if (!stages.has(image.toLowerCase()) && image.toLowerCase() !== 'scratch') {
      addImage(uses, image, 'docker', 'FROM');
    }
    if (match[2]) stages.add(match[2].toLowerCase());
  }
  return uses;
}

/** Only what looks like an image reference: no variables, templates or placeholders left. */
export function isImageReference(value: string): boolean {
  return /^[a-z0-9][a-z0-9._\-/:@]*$/i.test(value) && !/[:@/]$/.test(value);
}

function addImage(uses: ImageUse[], image: string, where: ImagePlace, how: string): void {
  if (isImageReference(image)) uses.push({ image, where, how });
}

function dedupe(uses: ImageUse[]): ImageUse[] {
  const seen = new Set<string>();
  return uses.filter((use) => {
    const key = `${use.where} ${use.image}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function withoutEnvAssignments(argv: string[]): string[] {
  let i = 0;
  while (i < argv.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[i]!)) i++;
  const rest = argv.slice(i);
  // `sudo kubectl …`, `command kubectl …`, `exec kubectl …`
  while (rest.length > 1 && ['sudo', 'command', 'exec', 'time'].includes(rest[0]!)) rest.shift();
  return rest;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * An image reference in the full form containerd lists (`crictl images`):
 * `nginx` → `docker.io/library/nginx:latest`, `me/app:1` → `docker.io/me/app:1`.
 */
export function normalizeImage(ref: string): string {
  let name = ref.trim();
  let digest = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at);
    name = name.slice(0, at);
  }
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasRegistry =
    first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) name = `docker.io/${slash < 0 ? `library/${name}` : name}`;
  else if (first === 'index.docker.io') name = `docker.io${name.slice(first.length)}`;
  const lastSlash = name.lastIndexOf('/');
  const hasTag = name.slice(lastSlash + 1).includes(':');
  if (!hasTag && !digest) name += ':latest';
  return name + digest;
}

/** Without a digest (`kindest/node:v1.35.0@sha256:…` → `kindest/node:v1.35.0`): what docker save names. */
export function withoutDigest(ref: string): string {
  const at = ref.indexOf('@');
  return at < 0 ? ref : ref.slice(0, at);
}

/** The needed images (as written) that `present` (as any tool lists them) lacks. */
export function missingImages(needed: readonly string[], present: readonly string[]): string[] {
  const have = new Set(present.map((ref) => normalizeImage(withoutDigest(ref))));
  return needed.filter((ref) => !have.has(normalizeImage(withoutDigest(ref))));
}

/** kind's default node image per kind release (pkg/apis/config/defaults/image.go). */
export const KIND_DEFAULT_NODE_IMAGES: Readonly<Record<string, string>> = {
  'v0.30.0':
    'kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a',
  'v0.31.0':
    'kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f',
};

/** `kind v0.31.0 go1.25.5 linux/amd64` → kind's default node image, or undefined. */
export function kindDefaultNodeImage(kindVersionOutput: string): string | undefined {
  const version = /\bv\d+\.\d+\.\d+\b/.exec(kindVersionOutput)?.[0];
  return version ? KIND_DEFAULT_NODE_IMAGES[version] : undefined;
}
