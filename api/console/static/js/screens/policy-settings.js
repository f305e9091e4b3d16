// The Settings section of a policy's details pane: how licenses reach the
// users who need them, and flow back. Each setting is one entry of SETTINGS, shown as a
// switch or as a number of days. Save sends the settings changed, in one
// updateAutoClaimPolicySettings, with the version of the policy the page
// read: if someone changed the policy since, the server answers CONFLICT,
// nothing is saved, and the section offers to reload the policy.
import { html, useState, useEffect, useRef } from "../lib/preact.js";
import { gql, placeErrors } from "../lib/api.js";
import { UPDATE_SETTINGS } from "../lib/queries.js";
import { useForm } from "../lib/hooks.js";
import { href } from "../lib/router.js";
import { plural } from "../lib/format.js";
import { Section, Field, FormErrors, Switch, Icon, announce } from "../components/ui.js";

// SETTINGS are a policy's settings, in the order the section shows them:
//   key     the field of AutoClaimPolicy and of the settings input
//   kind    "switch" (true or false) or "days" (a whole number of days from
//           min to max, or null: empty in the form)
//   name    the setting's name; label, hint: its control's
//   shown(value)   the value in words, for those who can't change it
// A new setting is one more entry here, and one more name in queries.js.
export const SETTINGS = [
  {
    key: "waitlistEnabled",
    kind: "switch",
    name: "Waitlist",
    label: "Waitlist",
    hint: "When no license is free, users wait in line for one instead of being turned away, and get the next one that becomes free, first come first served. Turning it off empties the waitlist.",
    shown: (on) => (on ? "On: users wait for a license when none is free." : "Off: claims that find no license are turned away."),
  },
  {
    key: "approvalRequired",
    kind: "switch",
    name: "Require approval",
    label: "Require approval",
    hint: "Each claim waits on the Requests page for a Global admin or License admin to approve it, even when a license is free. Turning it on takes off the waitlist the users no approval queued: they ask again.",
    shown: (on) => (on ? "On: an admin approves each license first, on the Requests page." : "Off: users get a license as soon as they need one."),
  },
  {
    key: "releaseSupersededLicenses",
    kind: "switch",
    name: "Give back superseded licenses",
    label: "Give back superseded licenses",
    hint: "When a user claims a product that covers all a license they got through this policy covers (Power Automate Premium over the per user plan), that license goes back to its pool.",
    shown: (on) => (on ? "On: a license the user's new one covers goes back to its pool." : "Off: users keep both licenses."),
  },
  {
    key: "reclaimInactiveAfterDays",
    kind: "days",
    name: "Reclaim unused licenses",
    label: "Reclaim licenses unused for",
    min: 7,
    max: 365,
    hint: "From 7 to 365 days, or empty to never reclaim. Every hour, licenses claimed under this policy and unused that long go back to their pool, and to users waiting. Licenses assigned directly are never reclaimed.",
    shown: (days) => (days ? `After ${plural(days, "day", "days")} unused.` : "Never."),
  },
];

// draftOf is the form's value of each setting: a boolean, or the text of a
// number of days.
const draftOf = (policy) =>
  Object.fromEntries(SETTINGS.map((s) => [s.key, s.kind === "days" ? (policy[s.key] ? String(policy[s.key]) : "") : !!policy[s.key]]));

// valueOf is what the input sends for a setting's draft.
const valueOf = (s, v) => (s.kind === "days" ? (v.trim() === "" ? null : Number(v.trim())) : v);

// settingsField maps the server's extensions.field to a setting's key.
export const settingsField = (path) => {
  const key = path.replace(/^input\./, "");
  return SETTINGS.some((s) => s.key === key) ? key : undefined;
};

export function Settings({ policy, canEdit, changed, reload }) {
  if (!canEdit) {
    return html`<${Section} title="Settings" id="sec-settings">
      <dl class="settings-list" data-settings>
        ${SETTINGS.map((s) => html`<div data-setting=${s.key}><dt>${s.name}</dt><dd>${s.shown(policy[s.key])}</dd></div>`)}
      </dl>
      <${FlowLinks} policy=${policy} />
    <//>`;
  }
  return html`<${Section} title="Settings" id="sec-settings"><${SettingsForm} policy=${policy} changed=${changed} reload=${reload} /><${FlowLinks} policy=${policy} /><//>`;
}

function FlowLinks({ policy }) {
  return html`<p class="settings-links">
    <a href=${href("policies", policy.id, "waitlist")}>See who is waiting</a>
    <a href=${href("policies", policy.id, "reclaim")}>Find unused licenses</a>
  </p>`;
}

function SettingsForm({ policy, changed, reload }) {
  const [draft, setDraft] = useState(() => draftOf(policy));
  const formRef = useRef(null);
  const reloadRef = useRef(null);
  const changes = SETTINGS.filter((s) => valueOf(s, draft[s.key]) !== (s.kind === "days" ? policy[s.key] || null : policy[s.key]));
  const form = useForm({
    check: () => {
      const out = {};
      for (const s of SETTINGS) {
        if (s.kind !== "days" || draft[s.key].trim() === "") continue;
        const n = Number(draft[s.key].trim());
        if (!/^\d+$/.test(draft[s.key].trim()) || n < s.min || n > s.max)
          out[s.key] = `Enter a whole number of days from ${s.min} to ${s.max}, or leave it empty to turn this off.`;
      }
      return out;
    },
    run: async () => {
      if (changes.length === 0) {
        announce("Nothing to save: the settings are as shown.", "info");
        return;
      }
      const input = { policyId: policy.id, expectedVersion: policy.version };
      for (const s of changes) input[s.key] = valueOf(s, draft[s.key]);
      const d = await gql(UPDATE_SETTINGS, { in: input });
      changed(d.updateAutoClaimPolicySettings, "Settings saved.");
    },
    // A conflict (the policy is at another version) is the form's own:
    // nothing was saved, and the page must read the policy again.
    place: (err) => {
      const out = placeErrors(err, { fieldFor: settingsField });
      const conflict = err.errors && err.errors.find((e) => e.extensions && e.extensions.code === "CONFLICT");
      if (conflict) {
        out.conflict = conflict.message;
        out.form = out.form.filter((m) => m !== conflict.message);
      }
      return out;
    },
  });
  // The policy as the page reads it again (after a save, or a reload):
  // the form starts from it.
  useEffect(() => {
    setDraft(draftOf(policy));
    form.reset();
  }, [policy.version]);
  // A conflict's way out takes focus (and comes into view).
  useEffect(() => {
    if (form.errors.conflict && reloadRef.current) reloadRef.current.focus();
  }, [form.errors.conflict]);
  const set = (key, v) => setDraft({ ...draft, [key]: v });
  const onReload = async () => {
    await reload();
    // The Reload button is gone: focus goes to the first setting.
    requestAnimationFrame(() => {
      const first = formRef.current && formRef.current.querySelector("input");
      if (first) first.focus();
    });
  };
  const { fields } = form.errors;
  // One save at a time: a second would carry the version the first changed.
  const submit = (e) => (form.busy ? e.preventDefault() : form.submit(e));
  return html`<form class="settings-form" onSubmit=${submit} novalidate data-form="settings" ref=${formRef}>
    ${SETTINGS.map((s) =>
      s.kind === "switch"
        ? html`<div class="setting" data-field=${s.key} key=${s.key}>
            <${Switch} name=${s.key} label=${s.label} description=${s.hint} checked=${draft[s.key]} error=${fields[s.key]}
              onChange=${(on) => set(s.key, on)} />
          </div>`
        : html`<${Field} key=${s.key} name=${s.key} label=${s.label} hint=${s.hint} error=${fields[s.key]} className="setting">
            ${(id, d, invalid) => html`<div class="input-unit">
              <input id=${id} type="number" min=${s.min} max=${s.max} step="1" inputmode="numeric" value=${draft[s.key]}
                placeholder="Never" aria-describedby=${d} aria-invalid=${invalid} onInput=${(e) => set(s.key, e.currentTarget.value)} />
              <span aria-hidden="true">days</span>
            </div>`}
          <//>`
    )}
    ${form.errors.conflict && html`<div class="notice notice--warning" role="alert" data-settings-conflict title=${form.errors.conflict}>
      <p class="notice-title">Someone changed this policy after you opened it</p>
      <p>Nothing was saved. Reload to see the policy as it is now, then make your change again.</p>
      <button type="button" class="btn btn--small" data-reload ref=${reloadRef} onClick=${onReload}><${Icon} name="refresh" />Reload</button>
    </div>`}
    <${FormErrors} messages=${form.errors.form} />
    <div class="button-row">
      <button type="submit" class="btn btn--primary" aria-disabled=${form.busy ? "true" : undefined}>Save settings</button>
      ${changes.length > 0 && html`<button type="button" class="btn" data-undo onClick=${() => {
        setDraft(draftOf(policy));
        form.reset();
      }}>Undo changes</button>`}
    </div>
  </form>`;
}
