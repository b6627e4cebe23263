// The page's HTML, cut at `max` characters so a huge page cannot flood the evidence. Open shadow roots
// are written as declarative `<template shadowrootmode="open">` inside their host (what the screenshot
// shows is then in the source too, and the http engine and Suggest read it back). An XML document is
// written as XML with its declaration.
(max) => {
  const root = document.documentElement;
  if (!root) return '';
  const shadowRoots = [];
  const collect = (scope) => {
    for (const host of scope.querySelectorAll('*')) {
      if (host.shadowRoot) { shadowRoots.push(host.shadowRoot); collect(host.shadowRoot); }
    }
  };
  collect(document);
  let html = root.outerHTML;
  if (!(document instanceof HTMLDocument)) {  // an XML answer: kept as XML, so XPath and Suggest read it as XML
    // Chromium shows XML through a viewer page that keeps the document's own nodes in this element.
    const original = document.getElementById('webkit-xml-viewer-source-xml');
    const nodes = original ? Array.from(original.childNodes) : [document.documentElement];
    html = '<?xml version="1.0"?>\n' + nodes.map((n) => new XMLSerializer().serializeToString(n)).join('');
  } else if (shadowRoots.length && typeof root.getHTML === 'function') {
    const attributes = Array.from(root.attributes, (a) => ` ${a.name}="${a.value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`);
    html = `<${root.localName}${attributes.join('')}>${root.getHTML({shadowRoots})}</${root.localName}>`;
  }
  return html.length > max ? html.slice(0, max) + `\n<!-- truncated by NxForge at ${max} characters -->` : html;
}
