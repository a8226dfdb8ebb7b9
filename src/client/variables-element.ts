/**
 * <kn-variables>: the Variables panel. Each input edits one shared variable; the code on the
 * page shows the current values; a bad value gets a message next to its field (and Run
 * refuses to send it).
 */
import { validateVariable } from '../snippets/validate-variable.ts';
import { showMessage } from './message-text.ts';
import {
  onVariablesChanged,
  pageSpecs,
  type Specs,
  setVariable,
  variableValue,
} from './variables-store.ts';

export class VariablesElement extends HTMLElement {
  connectedCallback(): void {
    const specs = pageSpecs();
    for (const input of this.querySelectorAll<HTMLInputElement>('input[name]')) {
      const spec = specs[input.name];
      input.value = variableValue(input.name, spec);
      this.#check(input, specs);
      input.addEventListener('input', () => {
        setVariable(input.name, input.value, spec);
        this.#check(input, specs);
      });
    }
    onVariablesChanged(() => {
      for (const input of this.querySelectorAll<HTMLInputElement>('input[name]')) {
        const value = variableValue(input.name, specs[input.name]);
        if (input.value !== value && document.activeElement !== input) input.value = value;
        this.#check(input, specs);
      }
    });
  }

  #check(input: HTMLInputElement, specs: Specs): void {
    const spec = specs[input.name];
    const problem = spec ? validateVariable(input.name, input.value, spec) : null;
    const message = this.querySelector<HTMLElement>(`#kn-var-${CSS.escape(input.name)}-error`);
    if (message) showMessage(message, problem ?? '');
    input.setAttribute('aria-invalid', String(problem !== null));
  }
}

/**
 * Shows each variable's current value wherever the code names it (and where the expected
 * output shows it). A value that cannot be used shows as its `<placeholder>`, marked invalid:
 * the code never shows a command Run would refuse.
 */
export function showValuesInCode(): void {
  const specs = pageSpecs();
  const render = () => {
    for (const span of document.querySelectorAll<HTMLElement>('.kn-var[data-var]')) {
      const name = span.dataset.var ?? '';
      const spec = specs[name];
      const value = variableValue(name, spec);
      const usable = value !== '' && (!spec || validateVariable(name, value, spec) === null);
      span.textContent = usable ? value : `<${name}>`;
      span.toggleAttribute('data-invalid', !usable);
    }
  };
  render();
  onVariablesChanged(render);
  // A click on a value in the code takes the reader to its field.
  document.addEventListener('click', (event) => {
    const span = (event.target as Element | null)?.closest<HTMLElement>('.kn-var[data-var]');
    if (!span) return;
    const input = document.getElementById(`kn-var-${span.dataset.var}`);
    if (input instanceof HTMLInputElement) {
      input.closest('details')?.setAttribute('open', '');
      input.focus();
      input.select();
    }
  });
}
