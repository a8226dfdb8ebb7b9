import { removeE2eNamespace } from './e2e-namespace.ts';

export default function globalTeardown(): void {
  removeE2eNamespace();
}
