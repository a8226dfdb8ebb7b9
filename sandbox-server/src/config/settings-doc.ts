/**
 * The settings table for people, rendered from settings.ts: `--help` in the terminal, and the
 * table in docs/configuration.md (a unit test fails when that document differs).
 */
import { type Setting, settingsList } from './settings.ts';

/** The default as written in the docs: the value a person would give, or the row's words. */
function shownDefault(setting: Setting): string {
  const { about } = setting;
  if (about.shown !== undefined) return about.shown;
  const value = setting.default;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return '';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return `\`${String(value)}\``;
}

export function helpText(): string {
  const rows = settingsList().map(([, setting]) => {
    const { flag, boolean, repeatable, help, env } = setting.about;
    const fallback = shownDefault(setting).replaceAll('`', '');
    const notes = [repeatable ? 'repeatable' : '', fallback ? `default: ${fallback}` : '']
      .filter(Boolean)
      .join('; ');
    const detail = notes ? `${help} (${notes})` : help;
    return `  ${`${flag}${boolean ? '' : ' VALUE'}`.padEnd(28)} ${detail} [${env[0] ?? ''}]`;
  });
  return [
    'Settings (flag, what it does, [environment variable]); --config FILE reads a JSON file:',
    ...rows,
  ].join('\n');
}

/** The Markdown table of every setting, for docs/configuration.md. */
export function settingsTable(): string {
  const rows = settingsList().map(([path, setting]) => {
    const { flag, boolean, repeatable, env, help } = setting.about;
    const flags = boolean ? `\`${flag}\`, \`--no-${flag.slice(2)}\`` : `\`${flag}\``;
    const names = env.map((name) => `\`${name}\``).join(', ');
    const notes = repeatable ? `${help} (repeatable)` : help;
    return `| ${flags} | ${names} | \`${path}\` | ${shownDefault(setting) || '—'} | ${notes} |`;
  });
  return [
    '| flag | environment | config file key | default | what it does |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
