import type { QuoteContext } from './shell-syntax.ts';

/** Characters that never need quoting in a shell word. */
const SAFE_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** `value` as one shell word: as-is when safe, else single-quoted (`'` written as `'\''`). */
export function shellQuote(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * `value` written so that, placed at a spot with the given quoting context, the shell reads back
 * exactly `value`. A placeholder may sit inside quotes the author wrote (`echo "Hi <name>"`);
 * quoting it again there would put literal quote marks into the result.
 */
export function quoteFor(context: QuoteContext, value: string): string {
  switch (context) {
    case 'unquoted':
      return shellQuote(value);
    case 'single':
      // Close the quote, add an escaped quote, reopen.
      return value.replaceAll("'", `'\\''`);
    case 'ansi':
      return value.replace(/[\\']/g, '\\$&');
    case 'double':
      // `!` cannot be escaped inside double quotes in an interactive bash (history expansion):
      // step out of the quotes for it.
      return value.replace(/[\\"$`]/g, '\\$&').replaceAll('!', `"'!'"`);
    case 'heredoc':
      return value.replace(/[\\$`]/g, '\\$&');
    case 'heredoc-literal':
    case 'comment':
      return value;
  }
}
