import { collectSnippets } from './src/snippets/extract.ts';
const src = `---
title: T
variables:
  deployment:
    default: web
    description: d
    kind: dns-label
---
# Hi

\`\`\`console
$ kubectl create deployment <deployment> --image=nginx
\`\`\`

<Task id="scale" title="Scale it">

Make it **five**.

\`\`\`sh check
n=$(kubectl get deploy <deployment> -o jsonpath='{.spec.replicas}')
[ "$n" = 5 ] || { echo "$n of 5"; exit 1; }
\`\`\`

<Hint>Use \`kubectl scale\`.</Hint>

\`\`\`console solution
$ kubectl scale deploy <deployment> --replicas=5
\`\`\`

</Task>

<Task id="bad" title="x">
text
</Task>
`;
try { console.log(JSON.stringify(collectSnippets(src, 't'), null, 1)); } catch (e) { console.log(String(e)); }
console.log(JSON.stringify(collectSnippets(src.replace(/<Task id="bad"[\s\S]*<\/Task>\n$/, ''), 't').tasks, null, 1));
