// The value of an element a Playwright locator found: an input's value, else its text.
(e) => (e instanceof HTMLInputElement || e instanceof HTMLTextAreaElement || e instanceof HTMLSelectElement)
  ? e.value : (e.textContent || '')
