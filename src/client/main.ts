/**
 * What every chapter page loads before the first Run: the snippet, variables and dock
 * elements. Small on purpose; xterm, the protocol client and zod load on the first Run.
 */

import { AppPane, OpenAppElement } from './app-open.ts';
import { autoCheckTasks } from './auto-check.ts';
import { DockMoreElement } from './dock-more.ts';
import { showPageProgress } from './page-progress.ts';
import { SnippetElement } from './snippet-element.ts';
import { TaskElement } from './task-element.ts';
import { TerminalDock } from './terminal-dock.ts';
import { showValuesInCode, VariablesElement } from './variables-element.ts';

customElements.define('kn-terminal-dock', TerminalDock);
customElements.define('kn-dock-more', DockMoreElement);
customElements.define('kn-variables', VariablesElement);
customElements.define('kn-snippet', SnippetElement);
customElements.define('kn-task', TaskElement);
customElements.define('kn-app-pane', AppPane);
customElements.define('kn-open-app', OpenAppElement);
showValuesInCode();
showPageProgress();
autoCheckTasks();
