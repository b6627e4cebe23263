// The page's HTML, cut at `max` characters so a huge page cannot flood the evidence.
(max) => {
  const root = document.documentElement;
  const html = root ? root.outerHTML : '';
  return html.length > max ? html.slice(0, max) + `\n<!-- truncated by NxForge at ${max} characters -->` : html;
}
