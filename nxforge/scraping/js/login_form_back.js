// True when a loaded page shows the password field again, empty: the device refused the login.
(selector) => {
  if (document.readyState !== 'complete') return false;
  const e = document.querySelector(selector);
  return !!e && e.value === '';
}
