// Server-rendered pages: plain HTML forms that work without JavaScript, with labels for every control.

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
main{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.5rem 0 .2rem;font-weight:600}
input[type=text],input[type=password],input[type=date],select{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
fieldset{border:1px solid #d5dbe1;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
fieldset label{font-weight:normal;display:flex;gap:.5rem;align-items:flex-start}
button{font-size:1rem;padding:.6rem 1.2rem;margin:1rem .5rem 0 0;border-radius:6px;border:1px solid #2b5d8a;background:#2b5d8a;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#2b5d8a}.error{color:#a61b1b;font-weight:600}.muted{color:#5b6875;font-size:.9rem}
code{background:#eef1f4;padding:0 .2rem;border-radius:3px}table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:.3rem}`;

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><main>
${body}
</main></body>
</html>`;
}

export function errorBlock(message: string | undefined): string {
  return message ? `<p class="error" role="alert">${esc(message)}</p>` : '';
}

/** The login form: fields `username` and `password` (the stable contract for automated testers). */
export function loginForm(opts: { action: string; heading: string; intro?: string; error?: string; username?: string; hidden?: Record<string, string> }): string {
  const hidden = Object.entries(opts.hidden ?? {})
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('');
  return page(
    opts.heading,
    `<h1>${esc(opts.heading)}</h1>
${opts.intro ? `<p>${opts.intro}</p>` : ''}
${errorBlock(opts.error)}
<form method="post" action="${esc(opts.action)}">
${hidden}
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required value="${esc(opts.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function errorPage(title: string, message: string, details: Record<string, string> = {}): string {
  const rows = Object.entries(details)
    .map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`)
    .join('');
  return page(title, `<h1>${esc(title)}</h1><p role="alert">${esc(message)}</p>${rows ? `<table>${rows}</table>` : ''}`);
}
