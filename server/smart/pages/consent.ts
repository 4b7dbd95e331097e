import { describeScope, type ParsedScope } from '../scopes.js';
import { errorBlock, esc, page } from './html.js';

export interface ConsentView {
  action: string;
  clientName: string;
  clientId: string;
  userName: string;
  /** the requested scopes this server understands: one checkbox each, checked */
  scopes: ParsedScope[];
  /** requested scopes that were dropped (unknown or malformed, or not for this kind of user) */
  ignored: string[];
  /** data categories (patient grants only): checkboxes `category` */
  categories?: { code: string; display: string; checked: boolean }[];
  /** default for the optional `period_end` date input (patient grants only) */
  periodEnd?: string;
  /** the patient an EHR launch is about */
  launchPatient?: string;
  /** patients to choose from when a practitioner asks for launch/patient without an EHR launch */
  patientChoices?: { id: string; name: string }[];
  error?: string;
}

/**
 * The consent screen. Stable contract: checkboxes `scope` (one per requested scope, checked) and
 * `category` (patient grants), optional date `period_end`, submit buttons `decision` = approve | deny.
 */
export function consentPage(v: ConsentView): string {
  const scopeBoxes = v.scopes
    .map((s, i) => `<label for="scope-${i}"><input type="checkbox" id="scope-${i}" name="scope" value="${esc(s.scope)}" checked> <span><code>${esc(s.scope)}</code> — ${esc(describeScope(s))}</span></label>`)
    .join('\n');
  const categories = v.categories
    ? `<fieldset><legend>Which of your records may <strong>${esc(v.clientName)}</strong> use?</legend>
${v.categories.map((c, i) => `<label for="category-${i}"><input type="checkbox" id="category-${i}" name="category" value="${esc(c.code)}"${c.checked ? ' checked' : ''}> ${esc(c.display)}</label>`).join('\n')}
</fieldset>
<label for="period_end">Allow access until (optional)</label>
<input type="date" id="period_end" name="period_end" value="${esc(v.periodEnd ?? '')}">
<p class="muted">Approving writes a permission for this app on the ledger. You can revoke it at any time; the app then loses access at once.</p>`
    : '';
  const picker = v.patientChoices
    ? `<label for="patient">Patient</label>
<select id="patient" name="patient" required><option value="">Choose a patient…</option>
${v.patientChoices.map((p) => `<option value="${esc(p.id)}">${esc(p.name)}</option>`).join('\n')}
</select>`
    : '';
  const ignored = v.ignored.length ? `<p class="muted">Not granted (not understood by this server): ${v.ignored.map((s) => `<code>${esc(s)}</code>`).join(' ')}</p>` : '';
  return page(
    `Authorize ${v.clientName}`,
    `<h1>Authorize <span>${esc(v.clientName)}</span></h1>
<p>Signed in as <strong>${esc(v.userName)}</strong>. The app <strong>${esc(v.clientName)}</strong> (<code>${esc(v.clientId)}</code>) asks to:</p>
${v.launchPatient ? `<p>Patient in context: <strong>${esc(v.launchPatient)}</strong></p>` : ''}
${errorBlock(v.error)}
<form method="post" action="${esc(v.action)}">
<fieldset><legend>Permissions requested</legend>
${scopeBoxes || '<p class="muted">No permissions requested.</p>'}
</fieldset>
${ignored}
${picker}
${categories}
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny" class="secondary" formnovalidate>Deny</button>
</form>`,
  );
}
