// The Waitlist tab of a policy's details pane: the users waiting for a
// license, first in line first (their place, who, what they did, since
// when), a page at a time; a Global admin can take one off, after saying so.
import { html, useState, useEffect, useRef } from "../lib/preact.js";
import { gql } from "../lib/api.js";
import { WAITLIST, REMOVE_FROM_WAITLIST } from "../lib/queries.js";
import { useQuery, useAction } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { href } from "../lib/router.js";
import { count, formatDateTime, label, triggerNames } from "../lib/format.js";
import { Loading, ErrorNotice, Empty, Notice, FormErrors, Confirm, Icon, announce } from "../components/ui.js";

const PAGE = 20;

export function Waitlist({ policy, refresh }) {
  const { tenant, canEdit } = useSession();
  // cursors[i] is the cursor before page i (null for the first).
  const [cursors, setCursors] = useState([null]);
  const [removing, setRemoving] = useState(null); // the user id asked about
  const headingRef = useRef(null);
  const q = useQuery(WAITLIST, { t: tenant.id, p: policy.id, first: PAGE, after: cursors[cursors.length - 1] });
  const conn = q.data && q.data.tenant.policy && q.data.tenant.policy.waitlist;
  const n = cursors.length - 1;
  // A page emptied by removals gives way to the one before.
  useEffect(() => {
    if (conn && conn.nodes.length === 0 && n > 0) setCursors(cursors.slice(0, -1));
  }, [conn]);
  const remove = useAction(async (entry) => {
    await gql(REMOVE_FROM_WAITLIST, { p: policy.id, u: entry.userId });
    announce(`${nameOf(entry)} is off the waitlist.`);
    setRemoving(null);
    await Promise.all([q.reload(), refresh()]);
    // The row is gone: focus goes back to the list's heading.
    if (headingRef.current) headingRef.current.focus();
  });
  return html`
    <section class="flow-view" aria-labelledby="waitlist-h" data-waitlist>
      <div class="toolbar">
        <h3 id="waitlist-h" class="sub-title" tabindex="-1" ref=${headingRef}>Waiting for a license
          ${conn && html`<span class="count" data-waitlist-total=${conn.totalCount}>${count(conn.totalCount)}</span>`}</h3>
        <button type="button" class="btn btn--icon" aria-label="Refresh the waitlist" title="Refresh" onClick=${q.reload}><${Icon} name="refresh" /></button>
      </div>
      ${policy.waitlistEnabled
        ? html`<p class="hint">First come, first served: each license that becomes free for this policy goes to the first user waiting
            whose action it covers. A user waits at most 30 days.</p>`
        : html`<${Notice} title="The waitlist is off">
            <p>Claims that find no license are turned away.${canEdit && html` Turn the waitlist on under <a href=${href("policies", policy.id)}>Settings</a>.`}</p>
          <//>`}
      ${q.error && html`<${ErrorNotice} error=${q.error} retry=${q.reload} />`}
      ${!conn && !q.error && html`<${Loading} />`}
      ${conn && conn.totalCount === 0 && html`<${Empty} title="No one is waiting">
        <p>When the waitlist is on and a claim finds no license free, its user waits here for the next one.</p><//>`}
      ${conn && conn.nodes.length > 0 && html`
        <table class="table table--compact table--cards" data-waitlist-entries>
          <thead><tr><th scope="col" class="num">Place</th><th scope="col">User</th><th scope="col">What they did</th><th scope="col">Waiting since</th>
            ${canEdit && html`<th scope="col"><span class="sr-only">Actions</span></th>`}</tr></thead>
          <tbody>
            ${conn.nodes.map((e) => html`
              <tr key=${e.userId} data-waiting=${e.userId} data-position=${e.position} class=${removing === e.userId ? "is-editing" : ""}>
                <td class="num" data-label="Place"><span class="place">${count(e.position)}</span></td>
                <th scope="row" data-label="User"><span><span class="cell-main">${nameOf(e)}</span>
                  ${e.user && e.user.userPrincipalName && html`<span class="cell-sub">${e.user.userPrincipalName}</span>`}</span></th>
                <td data-label="What they did">${label(triggerNames, e.trigger)}</td>
                <td data-label="Waiting since"><time datetime=${e.queuedAt}>${formatDateTime(e.queuedAt)}</time></td>
                ${canEdit && html`<td class="actions-cell">
                  <button type="button" class="btn btn--small" data-remove=${e.userId} disabled=${removing === e.userId}
                    onClick=${() => setRemoving(e.userId)}>Remove<span class="sr-only"> ${nameOf(e)} from the waitlist</span></button>
                </td>`}
              </tr>
              ${removing === e.userId && html`<tr class="edit-row" key=${e.userId + "-confirm"}><td colspan="5">
                <${Confirm} label="Confirm removal from the waitlist" confirmLabel="Remove from the waitlist" busy=${remove.busy}
                  onCancel=${() => {
                    setRemoving(null);
                    // Back to the button that asked.
                    requestAnimationFrame(() => {
                      const b = document.querySelector(`[data-remove="${CSS.escape(e.userId)}"]`);
                      if (b) b.focus();
                    });
                  }} onConfirm=${() => remove.run(e)}>
                  Take <strong>${nameOf(e)}</strong> off the waitlist? They lose their place (${count(e.position)}); a later claim that finds no
                  license puts them at the end.
                <//>
                ${remove.error && html`<${FormErrors} messages=${[remove.error.message]} />`}
              </td></tr>`}
            `)}
          </tbody>
        </table>
        <div class="pager">
          <span class="hint">${count(n * PAGE + 1)}–${count(n * PAGE + conn.nodes.length)} of ${count(conn.totalCount)}</span>
          <button type="button" class="btn btn--small" disabled=${n === 0 || q.loading} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <button type="button" class="btn btn--small" disabled=${!conn.pageInfo.hasNextPage || q.loading}
            onClick=${() => setCursors([...cursors, conn.pageInfo.endCursor])}>Next</button>
        </div>`}
    </section>
  `;
}

const nameOf = (e) => (e.user && e.user.displayName) || e.userId;
