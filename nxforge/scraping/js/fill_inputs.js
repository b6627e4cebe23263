// Fill visible, editable inputs in one round trip; false (nothing filled) when one is not usable.
(fields) => {
  const inputs = fields.map(([selector]) => document.querySelector(selector));
  const usable = (e) => e instanceof HTMLInputElement && !e.disabled && !e.readOnly && e.getClientRects().length > 0
    && getComputedStyle(e).visibility !== 'hidden';
  if (!inputs.every(usable)) return false;
  // The prototype's setter, so frameworks that track the value (React) see the change.
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  fields.forEach(([, value], i) => {
    const e = inputs[i];
    e.focus();
    setValue.call(e, value);
    e.dispatchEvent(new Event('input', {bubbles: true}));
    e.dispatchEvent(new Event('change', {bubbles: true}));
  });
  return true;
}
