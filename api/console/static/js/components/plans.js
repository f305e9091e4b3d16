// PlanChecklist: the "apps and services" of a product as checkboxes; a
// checked box is included in claimed licenses. Locked plans (the one the
// policy's app needs) stay checked.
import { html } from "../lib/preact.js";

export function PlanChecklist({ legend, plans, disabled, locked = {}, onChange, name, error, readOnly }) {
  if (readOnly) {
    const on = plans.filter((s) => !disabled.has(s.id));
    const off = plans.filter((s) => disabled.has(s.id));
    return html`<div class="plans-readonly">
      <p><strong>Included:</strong> ${on.map((s) => s.displayName).join(", ") || "none"}</p>
      <p><strong>Left off:</strong> ${off.map((s) => s.displayName).join(", ") || "none"}</p>
    </div>`;
  }
  return html`
    <fieldset class=${"plans" + (error ? " field--invalid" : "")} data-field=${name}>
      <legend>${legend}</legend>
      <ul class="checklist">
        ${plans.map((s) => {
          const lock = locked[s.id];
          return html`<li key=${s.id}>
            <label class=${lock ? "is-locked" : ""}>
              <input type="checkbox" value=${s.id} checked=${lock || !disabled.has(s.id)} disabled=${!!lock}
                onChange=${(e) => onChange(s.id, !e.currentTarget.checked)} />
              <span>${s.displayName}${lock && html` <span class="hint-inline">required by ${lock}</span>`}</span>
            </label>
          </li>`;
        })}
      </ul>
      ${error && html`<p class="field-error" role="alert" data-error-for=${name}>${error}</p>`}
    </fieldset>
  `;
}
