/**
 * The element's look. Every colour, the font, radius and spacing are CSS custom properties a
 * page sets on `otp-link-verify` (or any ancestor); sizes are in rem/em, so 200 % zoom and narrow
 * screens reflow instead of cutting.
 */
export const STYLES = `
:host {
  display: block;
  max-width: var(--otp-link-max-width, 26rem);
  font: var(--otp-link-font, 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  color: var(--otp-link-color, #1b1b1f);
}
:host([hidden]) { display: none; }
.box {
  background: var(--otp-link-background, #ffffff);
  border: 1px solid var(--otp-link-border-color, #c4c6d0);
  border-radius: var(--otp-link-radius, 0.75rem);
  padding: var(--otp-link-padding, 1.25rem);
}
.step { display: flex; flex-direction: column; gap: var(--otp-link-gap, 0.5rem); }
.step[hidden] { display: none; }
label { font-weight: 600; }
input, select {
  box-sizing: border-box;
  width: 100%;
  min-height: 2.75rem;
  padding: 0.5rem 0.75rem;
  font: inherit;
  color: inherit;
  background: var(--otp-link-input-background, #ffffff);
  border: 1px solid var(--otp-link-input-border, #74777f);
  border-radius: calc(var(--otp-link-radius, 0.75rem) / 2);
}
#code { letter-spacing: 0.3em; font-variant-numeric: tabular-nums; }
input[aria-invalid="true"] { border-color: var(--otp-link-error, #b3261e); border-width: 2px; }
button {
  min-height: 2.75rem;
  padding: 0.5rem 1rem;
  font: inherit;
  font-weight: 600;
  border-radius: calc(var(--otp-link-radius, 0.75rem) / 2);
  cursor: pointer;
}
button.primary {
  color: var(--otp-link-accent-text, #ffffff);
  background: var(--otp-link-accent, #0b57d0);
  border: 1px solid var(--otp-link-accent, #0b57d0);
}
button.secondary {
  color: var(--otp-link-accent, #0b57d0);
  background: transparent;
  border: 1px solid var(--otp-link-accent, #0b57d0);
}
button:disabled { cursor: not-allowed; opacity: 0.7; }
button.secondary:disabled { color: var(--otp-link-muted, #44474f); border-color: var(--otp-link-muted, #44474f); }
:is(button, input, select, .done):focus-visible {
  outline: 3px solid var(--otp-link-focus, #0b57d0);
  outline-offset: 2px;
}
.row { display: flex; flex-wrap: wrap; gap: var(--otp-link-gap, 0.5rem); }
.row > button { flex: 1 1 10rem; }
.hint { margin: 0; color: var(--otp-link-muted, #44474f); font-size: 0.9em; }
.sent-to { margin: 0; }
.done { margin: 0; font-weight: 600; color: var(--otp-link-success, #146c2e); }
.error { margin: 0.75rem 0 0; color: var(--otp-link-error, #b3261e); font-weight: 600; }
.error:empty, .status:empty { display: none; }
.status { margin: 0.75rem 0 0; color: var(--otp-link-muted, #44474f); }
`;
