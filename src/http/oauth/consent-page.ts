/**
 * The consent page of /oauth/authorize: one small server-rendered HTML form, no script. Everything shown is escaped;
 * the page may not be framed (clickjacking), loads nothing, and its only inline style is allowed by a per-response
 * nonce (Content-Security-Policy). Usable on a phone (viewport, large targets) and with a keyboard and screen reader
 * (labels, one heading, the error announced with role=alert).
 */
import { randomBytes } from 'node:crypto';
import type { Response } from 'express';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1d22}
main{max-width:32rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0003}
h1{font-size:1.35rem;margin:0 0 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
dt{font-weight:600}dd{margin:0;word-break:break-all}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input[type=password]{width:100%;box-sizing:border-box;font:inherit;padding:.6rem;border:1px solid #6b7280;border-radius:4px}
.actions{display:flex;gap:.75rem;margin-top:1.25rem;flex-wrap:wrap}
button{font:inherit;padding:.6rem 1.2rem;border-radius:4px;border:1px solid #1e40af;cursor:pointer;min-height:44px}
.approve{background:#1e40af;color:#fff}.deny{background:#fff;color:#1e40af}
.error{background:#fef2f2;border:1px solid #b91c1c;color:#7f1d1d;padding:.6rem;border-radius:4px}
p.hint{color:#4b5563;font-size:.9rem}
`;

function page(res: Response, status: number, title: string, body: string, formAction?: string): void {
  const nonce = randomBytes(16).toString('base64');
  res.status(status);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  // Chrome applies form-action to the redirect that follows the form's POST too: the client's origin is allowed.
  res.setHeader('Content-Security-Policy', `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'${formAction ? ` ${formAction}` : ''}; frame-ancestors 'none'; base-uri 'none'`);
  res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style nonce="${nonce}">${STYLE}</style></head>
<body><main>${body}</main></body></html>`);
}

export interface ConsentView {
  consentId: string;
  csrf: string;
  clientName: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  error?: string | undefined;
}

export function consentPage(res: Response, v: ConsentView, status = 200): void {
  const origin = new URL(v.redirectUri).origin;
  page(res, status, 'Approve provisioning access', `
<h1>Allow “${esc(v.clientName)}” to provision this workspace?</h1>
<dl><dt>Client</dt><dd>${esc(v.clientName)} (${esc(v.clientId)})</dd>
<dt>Access</dt><dd>${esc(v.scopes.join(', '))}</dd>
<dt>Returns to</dt><dd>${esc(v.redirectUri)}</dd></dl>
${v.error ? `<p class="error" role="alert">${esc(v.error)}</p>` : ''}
<form method="post" action="authorize">
<input type="hidden" name="consent" value="${esc(v.consentId)}">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<label for="credential">Workspace admin token</label>
<input type="password" id="credential" name="credential" autocomplete="current-password" required aria-describedby="credential-hint">
<p class="hint" id="credential-hint">An admin-scope token (ADMIN_TOKEN or one from <code>token create --scope admin</code>). It is checked, never stored.</p>
<div class="actions"><button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button class="deny" type="submit" name="decision" value="deny" formnovalidate>Deny</button></div>
</form>`, origin);
}

/** A request the browser is told about rather than redirected (RFC 6749 §4.1.2.1). */
export function problemPage(res: Response, status: number, error: string, description: string): void {
  page(res, status, 'Authorization request refused', `
<h1>This authorization request cannot be served</h1>
<p class="error" role="alert"><strong>${esc(error)}</strong>: ${esc(description)}</p>
<p class="hint">Start again from the identity provider's admin console; if it keeps failing, check the client id and redirect URI registered here (<code>client show</code>).</p>`);
}
