/**
 * Messages for the reader are written once, for the terminal and the page alike, with
 * Markdown's backticks around code (`pod_name`, `npm start`). On the page the backticks become
 * <code>, never literal characters.
 */
export function showMessage(element: Element, message: string): void {
  const parts = message.split('`');
  // An odd backtick out is shown as it is, not half-turned into code.
  if (parts.length % 2 === 0) {
    element.textContent = message;
    return;
  }
  element.replaceChildren(
    ...parts.map((part, index) => {
      if (index % 2 === 0) return document.createTextNode(part);
      const code = document.createElement('code');
      code.textContent = part;
      return code;
    }),
  );
}
