// Empty password inputs and any input holding a secret, before the evidence screenshot.
(secrets) => {
  for (const el of document.querySelectorAll('input, textarea')) {
    if (el.type === 'password' || secrets.some((s) => s && el.value.includes(s))) el.value = '';
  }
}
