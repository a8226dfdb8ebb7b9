/**
 * The reader's variable values: shared by every chapter (a name means the same thing
 * everywhere), remembered in this browser, defaults from the chapters' frontmatter.
 */
import type { VariableSpec } from '../snippets/variables.ts';

const KEY = 'kubenotes:variables';
const EVENT = 'kubenotes:variables-changed';

export type Specs = Record<string, VariableSpec>;

function read(): Record<string, string> {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? '{}');
    return typeof value === 'object' && value !== null ? value : {};
  } catch {
    return {};
  }
}

export function variableValue(name: string, spec: VariableSpec | undefined): string {
  return read()[name] ?? spec?.default ?? '';
}

export function variableValues(specs: Specs): Record<string, string> {
  const stored = read();
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = stored[name] ?? spec.default;
  return values;
}

export function setVariable(name: string, value: string, spec: VariableSpec | undefined): void {
  const stored = read();
  if (spec && value === spec.default) delete stored[name];
  else stored[name] = value;
  localStorage.setItem(KEY, JSON.stringify(stored));
  document.dispatchEvent(new CustomEvent(EVENT, { detail: { name, value } }));
}

export function onVariablesChanged(listener: () => void): void {
  document.addEventListener(EVENT, listener);
  // Another tab changed them.
  addEventListener('storage', (event) => {
    if (event.key === KEY) listener();
  });
}

/** All specs declared on this page (the variables panel carries them). */
export function pageSpecs(): Specs {
  const specs: Specs = {};
  for (const panel of document.querySelectorAll<HTMLElement>('kn-variables[data-variables]')) {
    try {
      Object.assign(specs, JSON.parse(panel.dataset.variables ?? '{}'));
    } catch {
      // A malformed panel is a build bug; the snippets then use defaults from the text.
    }
  }
  return specs;
}
