// The page's visible text (a JSON answer shows as text), or '' before the body exists.
document.body ? document.body.innerText : ''
