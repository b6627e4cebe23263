// What a Playwright locator found, as [text, unit text]: an input's value, else its text; the unit text is
// what `unitFrom` names ("@name" an attribute, "next" the first text after the element), or null.
(e, unitFrom) => {
  const text = (e instanceof HTMLInputElement || e instanceof HTMLTextAreaElement || e instanceof HTMLSelectElement)
    ? e.value : (e.textContent || '');
  let unit = null;
  if (unitFrom && unitFrom.startsWith('@')) unit = e.getAttribute(unitFrom.slice(1));
  else if (unitFrom === 'next') {
    for (let n = e.nextSibling; n && unit === null; n = n.nextSibling) {
      const t = (n.textContent || '').trim();
      if (t) unit = t;
    }
  }
  return [text, unit];
}
