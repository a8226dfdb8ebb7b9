/**
 * Where the sandbox is. By default the page's own origin (`npm start` serves both). A static
 * host sets it at build time (PUBLIC_SANDBOX_URL); a reader can choose one at run time with
 * `?sandbox=https://…`, remembered in this browser.
 */
const KEY = 'kubenotes:sandbox-url';

export function sandboxUrl(): string {
  const fromQuery = new URLSearchParams(location.search).get('sandbox');
  if (fromQuery) {
    try {
      const url = new URL(fromQuery).origin;
      localStorage.setItem(KEY, url);
      return url;
    } catch {
      // Not a URL: ignore it, fall through to the remembered or built-in one.
    }
  }
  const remembered = localStorage.getItem(KEY);
  if (remembered) return remembered;
  const built = import.meta.env.PUBLIC_SANDBOX_URL as string | undefined;
  return built ? new URL(built).origin : location.origin;
}
