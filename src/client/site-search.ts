/**
 * <kn-search>: opens the search dialog (button or Ctrl/⌘-K) and loads Pagefind's UI the first
 * time it opens, not before.
 */
class SiteSearch extends HTMLElement {
  #loaded: Promise<void> | undefined;

  connectedCallback(): void {
    const dialog = this.querySelector('dialog');
    const open = this.querySelector<HTMLButtonElement>('.kn-search-open');
    if (!dialog || !open) return;
    const show = () => {
      dialog.showModal();
      void this.#load().then(() => dialog.querySelector('input')?.focus());
    };
    open.addEventListener('click', show);
    this.querySelector('.kn-search-close')?.addEventListener('click', () => dialog.close());
    // A click on the backdrop, or on a result link, closes it.
    dialog.addEventListener('click', (event) => {
      if (event.target === dialog || (event.target as Element).closest('a')) dialog.close();
    });
    addEventListener('keydown', (event) => {
      if ((event.metaKey || event.ctrlKey) && event.key === 'k') {
        event.preventDefault();
        if (dialog.open) dialog.close();
        else show();
      }
    });
  }

  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      await import('@pagefind/default-ui/css/ui.css');
      // @ts-expect-error Pagefind's UI ships without types.
      const { PagefindUI } = await import('@pagefind/default-ui');
      const base = import.meta.env.BASE_URL.replace(/\/$/, '');
      new PagefindUI({
        element: '#kn-search-results',
        baseUrl: import.meta.env.BASE_URL,
        bundlePath: `${base}/pagefind/`,
        showImages: false,
        showSubResults: true,
      });
    })();
    return this.#loaded;
  }
}

customElements.define('kn-search', SiteSearch);
