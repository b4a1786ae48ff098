// Small DOM helpers: elements by id (a missing one is a bug in the page, said at once),
// building elements, and the page state that tests and CSS read from <body data-state>.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`The page has no element #${id}.`);
  return element as T;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** Shows `text` in #state and mirrors it on <body data-state> (styles and tests key on it). */
export function setPageState(text: string): void {
  byId('state').textContent = text;
  document.body.dataset['state'] = text;
}

/** Copies `input`'s value; where the Clipboard API is unavailable (plain http off localhost) it selects the text for Ctrl+C. */
export async function copyField(input: HTMLInputElement, button: HTMLButtonElement): Promise<void> {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = 'Copied';
  } catch {
    input.select();
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => (button.textContent = label), 1500);
}
