// One value as [text, unit text], or null when the selector matches nothing. The text is the element's
// (or an attribute's, or an input's value); the unit text is what `unitFrom` names: "@name" an attribute,
// "next" the first text after the element. Open shadow roots are searched (in document order) when the
// document itself has no match; XPath on an XML document ignores its default namespace. Reading in the page's own world is ~10x cheaper than a Playwright
// locator on a fresh context (no selector engine to inject); Playwright-only selectors fall back to locators.
([selector, kind, attribute, unitFrom]) => {
  const xpath = (expression, context) =>
    document.evaluate(expression, context, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
  const find = (root) => {
    if (kind !== 'xpath') return root.querySelector(selector);
    if (root === document) return xpath(selector, document);
    if (!selector.startsWith('//')) return null;
    // A shadow root is no XPath context: `//x` there is `descendant-or-self::x` from each top element.
    for (const top of root.children) {
      const e = xpath('descendant-or-self::' + selector.slice(2), top);
      if (e) return e;
    }
    return null;
  };
  const shadowRoots = function* (root) {
    for (const host of root.querySelectorAll('*')) {
      if (host.shadowRoot) { yield host.shadowRoot; yield* shadowRoots(host.shadowRoot); }
    }
  };
  let e = find(document);
  if (!e && kind === 'xpath' && !(document instanceof HTMLDocument) && document.documentElement) {
    // An XML document with a default namespace: read it without, as the http engine does (`//energy`).
    // Chromium shows XML through a viewer page that keeps the document's own nodes in this element.
    const original = document.getElementById('webkit-xml-viewer-source-xml');
    const nodes = original ? Array.from(original.children) : [document.documentElement];
    const plain = nodes.map((n) => new XMLSerializer().serializeToString(n)).join('').replace(/\sxmlns="[^"]*"/g, '');
    const copy = new DOMParser().parseFromString(plain, 'application/xml');
    e = copy.evaluate(selector, copy, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
  }
  if (!e) {
    for (const root of shadowRoots(document)) { e = find(root); if (e) break; }
  }
  if (!e) return null;
  let text;
  if (attribute) text = e.getAttribute ? (e.getAttribute(attribute) || '') : '';
  else if (e instanceof HTMLInputElement || e instanceof HTMLTextAreaElement || e instanceof HTMLSelectElement)
    text = e.value;
  else text = e.textContent || '';
  let unit = null;
  if (unitFrom && unitFrom.startsWith('@')) unit = e.getAttribute ? e.getAttribute(unitFrom.slice(1)) : null;
  else if (unitFrom === 'next') {
    for (let n = e.nextSibling; n && unit === null; n = n.nextSibling) {
      const t = (n.textContent || '').trim();
      if (t) unit = t;
    }
  }
  return [text, unit];
}
