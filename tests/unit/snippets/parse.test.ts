import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DisplayLine, parseSnippet } from '../../../src/snippets/parse.ts';

/** A display line as `kind|prompt|text|command`, so a table row reads like the block. */
function show(line: DisplayLine): string {
  return `${line.kind}|${line.prompt}|${line.text}|${line.command ?? ''}`;
}

const NOTES = `    :~$ kind load help

    Available Commands:
    docker-image  Loads docker image from host into nodes

    :~$ cat > Dockerfile << EOF
        heredoc> FROM alpine:3.14.2
        heredoc> CMD "sleep 10000"
        heredoc> EOF

    :~$ docker build -t getting-started:1.0.0 .
    :~$`;

const cases: {
  name: string;
  code: string;
  commands: string[];
  lines?: string[];
  problems?: number[];
}[] = [
  {
    name: 'the notes: indented, :~$ prompts, output, heredoc> prompts, bare prompt',
    code: NOTES,
    commands: [
      'kind load help',
      'cat > Dockerfile << EOF\nFROM alpine:3.14.2\nCMD "sleep 10000"\nEOF',
      'docker build -t getting-started:1.0.0 .',
    ],
    lines: [
      'command|$ |kind load help|0',
      'blank|||',
      'output||Available Commands:|',
      'output||docker-image  Loads docker image from host into nodes|',
      'blank|||',
      'command|$ |cat > Dockerfile << EOF|1',
      'continuation|heredoc> |FROM alpine:3.14.2|1',
      'continuation|heredoc> |CMD "sleep 10000"|1',
      'continuation|heredoc> |EOF|1',
      'blank|||',
      'command|$ |docker build -t getting-started:1.0.0 .|2',
      'blank|$ ||',
    ],
  },
  {
    name: '$ prompts with output in between',
    code: '$ kubectl get pods\nNAME   READY\nweb    1/1\n$ kubectl get svc\nNAME   TYPE',
    commands: ['kubectl get pods', 'kubectl get svc'],
    lines: [
      'command|$ |kubectl get pods|0',
      'output||NAME   READY|',
      'output||web    1/1|',
      'command|$ |kubectl get svc|1',
      'output||NAME   TYPE|',
    ],
  },
  {
    name: 'user@host and ~/dir prompts are shown as $',
    code: 'me@box:~$ ls\nme@box:~/src$ pwd\n~$ whoami',
    commands: ['ls', 'pwd', 'whoami'],
    lines: ['command|$ |ls|0', 'command|$ |pwd|1', 'command|$ |whoami|2'],
  },
  {
    name: 'trailing backslash continues onto an unprompted line, kept as written',
    code: '$ kubectl run web \\\n    --image=nginx \\\n    --restart=Never\npod/web created',
    commands: ['kubectl run web \\\n    --image=nginx \\\n    --restart=Never'],
    lines: [
      'command|$ |kubectl run web \\|0',
      'continuation||    --image=nginx \\|0',
      'continuation||    --restart=Never|0',
      'output||pod/web created|',
    ],
  },
  {
    name: 'trailing backslash continues onto a > prompted line, minus the prompt',
    code: '$ echo one \\\n> two',
    commands: ['echo one \\\ntwo'],
    lines: ['command|$ |echo one \\|0', 'continuation|> |two|0'],
  },
  {
    name: 'an escaped backslash at the end does not continue',
    code: '$ echo a\\\\\nb',
    commands: ['echo a\\\\'],
    lines: ['command|$ |echo a\\\\|0', 'output||b|'],
  },
  {
    name: 'heredoc without prompts: body lines belong to the command until the terminator',
    code: '$ cat <<EOF > pod.yaml\napiVersion: v1\n\nkind: Pod\nEOF\n$ kubectl apply -f pod.yaml\npod/web created',
    commands: [
      'cat <<EOF > pod.yaml\napiVersion: v1\n\nkind: Pod\nEOF',
      'kubectl apply -f pod.yaml',
    ],
    lines: [
      'command|$ |cat <<EOF > pod.yaml|0',
      'continuation||apiVersion: v1|0',
      'continuation|||0',
      'continuation||kind: Pod|0',
      'continuation||EOF|0',
      'command|$ |kubectl apply -f pod.yaml|1',
      'output||pod/web created|',
    ],
  },
  {
    name: 'quoted heredoc words: <<\'EOF\', <<"END", <<-EOF with tab-indented terminator',
    code: '$ cat <<\'EOF\'\n$HOME\nEOF\n$ cat <<"END"\nx\nEND\n$ cat <<-EOF\n\tindented\n\tEOF',
    commands: ["cat <<'EOF'\n$HOME\nEOF", 'cat <<"END"\nx\nEND', 'cat <<-EOF\n\tindented\n\tEOF'],
  },
  {
    name: 'a here-string <<< opens no heredoc',
    code: '$ grep x <<< "xyz"\nxyz',
    commands: ['grep x <<< "xyz"'],
    lines: ['command|$ |grep x <<< "xyz"|0', 'output||xyz|'],
  },
  {
    name: 'zsh continuation prompts: quote>, dquote>, pipe>, cmdand>',
    code: '$ echo \'a\nquote> b\'\n$ echo "c\ndquote> d"\n$ ls |\npipe> wc -l\n$ true &&\ncmdand> echo ok',
    commands: ["echo 'a\nb'", 'echo "c\nd"', 'ls |\nwc -l', 'true &&\necho ok'],
  },
  {
    name: 'an open quote continues onto unprompted lines',
    code: '$ kubectl patch deploy web -p \'{\n  "spec": {}\n}\'\ndeployment.apps/web patched',
    commands: ['kubectl patch deploy web -p \'{\n  "spec": {}\n}\''],
    lines: [
      "command|$ |kubectl patch deploy web -p '{|0",
      'continuation||  "spec": {}|0',
      "continuation||}'|0",
      'output||deployment.apps/web patched|',
    ],
  },
  {
    name: 'a > line after output is output, not a continuation',
    code: '$ echo hi\nhi\n> not a prompt',
    commands: ['echo hi'],
    lines: ['command|$ |echo hi|0', 'output||hi|', 'output||> not a prompt|'],
  },
  {
    name: 'a bare prompt is an empty line and ends the command',
    code: '$ ls\n$\n> x',
    commands: ['ls'],
    lines: ['command|$ |ls|0', 'blank|$ ||', 'output||> x|'],
  },
  {
    name: 'a comment after a command stays in the command (the shell ignores it)',
    code: "$ kubectl get pod x -o wide #custom-columns values aren't needed",
    commands: ["kubectl get pod x -o wide #custom-columns values aren't needed"],
  },
  {
    name: 'a # inside a word is not a comment, so its quote still opens',
    code: "$ echo a#'b\nc'",
    commands: ["echo a#'b\nc'"],
  },
  {
    name: 'a prompted comment line is shown but not run',
    code: '$ # first, look\n$ ls',
    commands: ['ls'],
    lines: ['comment|$ |# first, look|', 'command|$ |ls|0'],
  },
  {
    name: 'a block of only commands (no prompts): every line runs, comments and blanks are shown',
    code: '# Create it\nkubectl run web --image=nginx\n\n  kubectl get pods\n# done',
    commands: ['kubectl run web --image=nginx', 'kubectl get pods'],
    lines: [
      'comment||# Create it|',
      'command|$ |kubectl run web --image=nginx|0',
      'blank|||',
      'command|$ |kubectl get pods|1',
      'comment||# done|',
    ],
  },
  {
    name: 'a script block keeps > lines of a heredoc body as they are',
    code: 'cat <<EOF > notes.md\n> quoted\nEOF',
    commands: ['cat <<EOF > notes.md\n> quoted\nEOF'],
  },
  {
    name: 'a script block with heredoc and backslash continuation',
    code: 'cat <<EOF | kubectl apply -f -\nkind: Pod\nEOF\nkubectl wait pod web \\\n  --for=condition=Ready',
    commands: [
      'cat <<EOF | kubectl apply -f -\nkind: Pod\nEOF',
      'kubectl wait pod web \\\n  --for=condition=Ready',
    ],
  },
  {
    name: 'CRLF line endings',
    code: '$ echo a \\\r\n  b\r\nout\r\n',
    commands: ['echo a \\\n  b'],
    lines: ['command|$ |echo a \\|0', 'continuation||  b|0', 'output||out|'],
  },
  {
    name: 'leading and trailing blank lines and trailing spaces are dropped',
    code: '\n\n   $ ls   \n   file  \n\n',
    commands: ['ls'],
    lines: ['command|$ |ls|0', 'output||file|'],
  },
  {
    name: 'only output lines and blank prompts: no commands',
    code: '$\n$',
    commands: [],
  },
  {
    name: 'an unclosed heredoc is a problem at the command line',
    code: '\n$ cat <<EOF\nbody\n$ ls',
    commands: ['cat <<EOF\nbody\n$ ls'],
    problems: [2],
  },
  {
    name: 'an unclosed quote is a problem',
    code: "$ echo 'oops\n$ ls",
    commands: ["echo 'oops\n$ ls"],
    problems: [1],
  },
  {
    name: 'a trailing backslash on the last line is a problem',
    code: '$ ls\n$ echo \\',
    commands: ['ls', 'echo \\'],
    problems: [2],
  },
];

for (const c of cases) {
  test(`parseSnippet: ${c.name}`, () => {
    const parsed = parseSnippet(c.code);
    assert.deepEqual(parsed.commands, c.commands);
    if (c.lines) assert.deepEqual(parsed.lines.map(show), c.lines);
    assert.deepEqual(
      parsed.problems.map((p) => p.line),
      c.problems ?? [],
      JSON.stringify(parsed.problems),
    );
  });
}

test('parseSnippet: display lines carry their line within the block', () => {
  const parsed = parseSnippet('\n  $ ls\n  a\n\n  $ pwd');
  assert.deepEqual(
    parsed.lines.map((l) => l.line),
    [2, 3, 4, 5],
  );
});

test('parseSnippet: hasPrompts tells a session from a script', () => {
  assert.equal(parseSnippet('$ ls').hasPrompts, true);
  assert.equal(parseSnippet('ls').hasPrompts, false);
});
