// Building blocks of every screen: fields with their errors, switches,
// badges, notices, the side pane, and the announcer for screen readers.
import { html, useEffect, useRef, useState } from "../lib/preact.js";

let nextId = 0;
// useId gives a stable id for label/control pairs.
export function useId(prefix = "f") {
  const ref = useRef(null);
  if (ref.current === null) ref.current = `${prefix}-${++nextId}`;
  return ref.current;
}

// Field is a labelled control with an optional hint and error. The control is
// rendered by children(id, describedBy, invalid).
export function Field({ label, hint, error, children, name, className = "" }) {
  const id = useId(name || "f");
  const hintId = hint ? id + "-hint" : "";
  const errId = error ? id + "-error" : "";
  const describedBy = [hintId, errId].filter(Boolean).join(" ") || undefined;
  return html`
    <div class=${"field " + (error ? "field--invalid " : "") + className} data-field=${name}>
      <label for=${id}>${label}</label>
      ${hint && html`<p class="hint" id=${hintId}>${hint}</p>`}
      ${children(id, describedBy, !!error)}
      ${error && html`<p class="field-error" id=${errId} role="alert" data-error-for=${name}>${error}</p>`}
    </div>
  `;
}

// FormErrors lists errors that belong to no one field.
export function FormErrors({ messages }) {
  if (!messages || !messages.length) return null;
  return html`<div class="notice notice--error" role="alert" data-form-error>
    ${messages.length === 1 ? messages[0] : html`<ul>${messages.map((m) => html`<li>${m}</li>`)}</ul>`}
  </div>`;
}

// Switch is an on/off control (a checkbox with role=switch), with an
// optional description and error below its label.
export function Switch({ checked, onChange, label, disabled, name, description, error }) {
  const id = useId("sw");
  const describedBy = [description && id + "-d", error && id + "-e"].filter(Boolean).join(" ") || undefined;
  return html`
    <div class="switch-row">
      <input type="checkbox" role="switch" class="switch" id=${id} name=${name} checked=${checked} disabled=${disabled}
        aria-describedby=${describedBy} aria-invalid=${error ? "true" : undefined}
        onChange=${(e) => onChange(e.currentTarget.checked)} />
      <label for=${id}>${label}</label>
      ${description && html`<p class="hint" id=${id + "-d"}>${description}</p>`}
      ${error && html`<p class="field-error" id=${id + "-e"} role="alert" data-error-for=${name}>${error}</p>`}
    </div>
  `;
}

// Section is one titled part of a details pane.
export function Section({ title, children, id }) {
  return html`<section class="details-section" aria-labelledby=${id}><h3 id=${id}>${title}</h3>${children}</section>`;
}

export function Badge({ tone = "neutral", children }) {
  return html`<span class=${"badge badge--" + tone}>${children}</span>`;
}

export function StatusBadge({ status }) {
  return status === "ON" ? html`<${Badge} tone="success">On<//>` : html`<${Badge} tone="muted">Off<//>`;
}

export function Notice({ tone = "info", title, children }) {
  return html`<div class=${"notice notice--" + tone} role=${tone === "error" ? "alert" : undefined}>
    ${title && html`<p class="notice-title">${title}</p>`}
    ${children}
  </div>`;
}

export function Loading({ label = "Loading…" }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>${label}</p>`;
}

// ErrorNotice shows a failed load with a retry button.
export function ErrorNotice({ error, retry }) {
  if (!error) return null;
  return html`<div class="notice notice--error" role="alert">
    <p>${error.message}</p>
    ${retry && html`<button type="button" class="btn btn--small" onClick=${retry}>Try again</button>`}
  </div>`;
}

export function Empty({ title, children }) {
  return html`<div class="empty">
    <p class="empty-title">${title}</p>
    ${children}
  </div>`;
}

// Pane is the side panel of details and wizards: a modal dialog that takes
// focus when it opens, keeps Tab inside, closes on Escape, and gives focus
// back to what had it.
export function Pane({ title, onClose, children, footer, wide = false, label }) {
  const ref = useRef(null);
  const titleId = useId("pane");
  useEffect(() => {
    const before = document.activeElement;
    const el = ref.current;
    const first = el.querySelector("[data-autofocus]") || el.querySelector("h2");
    if (first) first.focus();
    // On the document: focus may be on the body after a control went away.
    const onKey = (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        onClose();
      }
      if (e.key === "Tab") trapTab(el, e);
    };
    document.addEventListener("keydown", onKey);
    document.body.classList.add("has-pane");
    // A toast about what happened before the pane opened is old news, and
    // on a phone it would cover the pane.
    dismissToast();
    return () => {
      document.removeEventListener("keydown", onKey);
      document.body.classList.remove("has-pane");
      if (before && before.isConnected) before.focus();
    };
  }, []);
  return html`
    <div class="pane-backdrop" onClick=${onClose}></div>
    <section class=${"pane" + (wide ? " pane--wide" : "")} role="dialog" aria-modal="true" aria-labelledby=${titleId}
      aria-label=${label} ref=${ref}>
      <header class="pane-header">
        <h2 id=${titleId} tabindex="-1">${title}</h2>
        <button type="button" class="btn btn--icon" aria-label="Close" title="Close" onClick=${onClose}>
          <svg viewBox="0 0 16 16" aria-hidden="true"><path d="M3.5 3.5l9 9m0-9l-9 9" /></svg>
        </button>
      </header>
      <div class="pane-body">${children}</div>
      ${footer && html`<footer class="pane-footer">${footer}</footer>`}
    </section>
  `;
}

function trapTab(root, e) {
  const focusable = [...root.querySelectorAll("a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex='0']")].filter(
    (n) => n.offsetParent !== null
  );
  if (!focusable.length) return;
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

// announce puts a short message in the page's live region and its toast;
// dismissToast takes the toast away.
const toastListeners = new Set();
export function announce(message, tone = "success") {
  toastListeners.forEach((f) => f({ message, tone, at: Date.now() }));
}

export function dismissToast() {
  toastListeners.forEach((f) => f(null));
}

export function Toasts() {
  const [toast, setToast] = useState(null);
  useEffect(() => {
    let timer;
    const f = (t) => {
      setToast(t);
      clearTimeout(timer);
      if (t) timer = setTimeout(() => setToast(null), 5000);
    };
    toastListeners.add(f);
    return () => {
      toastListeners.delete(f);
      clearTimeout(timer);
    };
  }, []);
  return html`<div class="toasts" role="status" aria-live="polite">
    ${toast && html`<p class=${"toast toast--" + toast.tone} key=${toast.at}>${toast.message}</p>`}
  </div>`;
}

// Icon draws one of the console's few line icons.
const icons = {
  up: "M8 12.5v-9m-4 4l4-4 4 4",
  down: "M8 3.5v9m-4-4l4 4 4-4",
  plus: "M8 3v10M3 8h10",
  trash: "M3 4.5h10M6.5 4.5V3h3v1.5m-5 0l.5 8.5h6l.5-8.5",
  refresh: "M13 8a5 5 0 1 1-1.5-3.6M13 2.5v3h-3",
  chart: "M2.5 13.5h11M4.5 11V7m3 4V4m3 7V8.5",
  edit: "M10.5 3l2.5 2.5L6 12.5H3.5V10z",
  download: "M8 2.5v8m-3.5-3.5L8 10.5l3.5-3.5M3 13.5h10",
};
export function Icon({ name }) {
  return html`<svg class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d=${icons[name]} /></svg>`;
}

// Confirm asks before a destructive action; its confirm button takes focus.
export function Confirm({ label, children, confirmLabel, busy, onConfirm, onCancel }) {
  const ref = useRef(null);
  useEffect(() => {
    ref.current && ref.current.focus();
  }, []);
  return html`<div class="confirm" role="group" aria-label=${label}>
    <p>${children}</p>
    <div class="button-row">
      <button type="button" class="btn btn--danger" disabled=${busy} ref=${ref} onClick=${onConfirm}>${confirmLabel}</button>
      <button type="button" class="btn" onClick=${onCancel}>Cancel</button>
    </div>
  </div>`;
}

// useFocusWhen focuses the element of the returned ref each time cond turns true.
export function useFocusWhen(cond) {
  const ref = useRef(null);
  useEffect(() => {
    if (cond && ref.current) ref.current.focus();
  }, [cond]);
  return ref;
}
