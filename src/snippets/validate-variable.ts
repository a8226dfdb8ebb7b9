/** The kinds of chapter variable, each checked before its value goes into a command. */
export const VARIABLE_KINDS = ['dns-label', 'image', 'port', 'text'] as const;

/** A chapter variable, as its frontmatter declares it (variables.ts parses it with zod). */
export interface VariableSpec {
  default: string;
  description: string;
  kind: (typeof VARIABLE_KINDS)[number];
}

/**
 * Whether a reader's value for a chapter variable can go into a command. Kept apart from
 * variables.ts (which carries the zod schema for the build) so the browser can use it without
 * shipping zod; variables.ts imports this file, never the other way round.
 *
 * Returns null when the value is fine, else one sentence saying what to change.
 */
export function validateVariable(name: string, value: string, spec: VariableSpec): string | null {
  if (value.trim() === '') {
    const example = spec.default === '' ? '' : ` such as \`${spec.default}\``;
    return `\`${name}\` is empty: enter ${NOUN[spec.kind]}${example}`;
  }
  switch (spec.kind) {
    case 'dns-label':
      return dnsLabelProblem(name, value);
    case 'image':
      return imageProblem(name, value);
    case 'port':
      return /^[1-9]\d{0,4}$/.test(value) && Number(value) <= 65535
        ? null
        : `\`${name}\` must be a port number from 1 to 65535, such as \`8080\``;
    case 'text':
      return textProblem(name, value);
  }
}

const NOUN: Record<VariableSpec['kind'], string> = {
  'dns-label': 'a name',
  image: 'an image',
  port: 'a port',
  text: 'a value',
};

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** RFC 1123 label, which Kubernetes requires for most object names. */
function dnsLabelProblem(name: string, value: string): string | null {
  if (DNS_LABEL.test(value) && value.length <= 63) return null;
  const rule = 'lowercase letters, digits and `-`, starting and ending with a letter or digit';
  if (value.length > 63) {
    return `\`${name}\` is ${value.length} characters long: Kubernetes names are at most 63`;
  }
  const suggestion = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const hint = suggestion !== '' && DNS_LABEL.test(suggestion) ? `, such as \`${suggestion}\`` : '';
  return `\`${name}\` must be a Kubernetes name: ${rule}${hint}`;
}

// The reference grammar of github.com/distribution/reference, minus IPv6 hosts.
const HOST =
  /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IMAGE_EXAMPLE = '`nginx:1.27` or `registry.example.com/team/app:v2`';

function imageProblem(name: string, value: string): string | null {
  if (/\s/.test(value)) return `\`${name}\` must be an image reference without spaces`;
  const at = value.indexOf('@');
  const digest = at === -1 ? undefined : value.slice(at + 1);
  const withoutDigest = at === -1 ? value : value.slice(0, at);
  const colon = withoutDigest.lastIndexOf(':');
  const tag = colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(colon + 1) : undefined;
  const repository = tag === undefined ? withoutDigest : withoutDigest.slice(0, colon);
  const components = repository.split('/');
  // The first component is a registry host only when it looks like one (docker's own rule).
  const first = components[0]!;
  if (components.length > 1 && (/[.:]/.test(first) || first === 'localhost')) {
    components.shift();
    if (!HOST.test(first)) return `\`${name}\` has a bad registry host \`${first}\``;
  }
  if (components.some((c) => /[A-Z]/.test(c))) {
    return `\`${name}\` must use a lowercase repository name, such as ${IMAGE_EXAMPLE}`;
  }
  if (!components.every((c) => PATH_COMPONENT.test(c)) || repository.length > 255) {
    return `\`${name}\` must be an image reference such as ${IMAGE_EXAMPLE}`;
  }
  if (tag !== undefined && !TAG.test(tag)) {
    return `\`${name}\` has a bad tag \`${tag}\`: a tag is up to 128 letters, digits, \`_\`, \`.\` and \`-\``;
  }
  if (digest !== undefined && !DIGEST.test(digest)) {
    return `\`${name}\` has a bad digest: write \`@sha256:\` followed by 64 hex digits`;
  }
  return null;
}

function textProblem(name: string, value: string): string | null {
  if (/[\r\n]/.test(value)) return `\`${name}\` must fit on one line`;
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    return `\`${name}\` contains a control character (such as a tab): remove it`;
  }
  if (value.length > 256) return `\`${name}\` is ${value.length} characters long: keep it to 256`;
  return null;
}
