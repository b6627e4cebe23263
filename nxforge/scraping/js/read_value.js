// One value's text (or attribute, or input value), or null when the selector matches nothing.
// Reading in the page's own world is ~10x cheaper than a Playwright locator on a fresh context
// (no selector engine to inject); Playwright-only selectors fall back to locators.
([selector, kind, attribute]) => {
  const e = kind === 'xpath'
    ? document.evaluate(selector, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue
    : document.querySelector(selector);
  if (!e) return null;
  if (attribute) return e.getAttribute ? (e.getAttribute(attribute) || '') : '';
  if (e instanceof HTMLInputElement || e instanceof HTMLTextAreaElement || e instanceof HTMLSelectElement)
    return e.value;
  return e.textContent || '';
}
