import type { Queryable } from '../db/database.js';

/** The three portals: each is a public SMART client (PKCE) of its own hospital. */
export const PORTALS = {
  patient: { name: 'Consentry patient portal', scope: 'openid fhirUser launch/patient patient/*.cruds' },
  caregiver: { name: 'Consentry caregiver portal', scope: 'openid fhirUser user/*.cruds' },
  admin: { name: 'Consentry admin portal', scope: 'openid fhirUser user/*.cruds' },
} as const;
export type PortalKind = keyof typeof PORTALS;

export interface PortalClient {
  kind: PortalKind;
  clientId: string;
  redirectUri: string;
}

/** `${origin}/portal/<kind>/`: the portal's page is also its redirect URI. */
export function portalUrl(origin: string, kind: PortalKind): string {
  return `${origin}/portal/${kind}/`;
}

/**
 * Registers the portals through the hospital's own registration endpoint (RFC 7591, with the initial access
 * token when registration is closed), once: a restart finds the client registered for the same redirect URI.
 */
export async function registerPortalClients(deps: { db: Queryable; origin: string; registerUrl: string; initialAccessToken: string }): Promise<Record<PortalKind, PortalClient>> {
  const out = {} as Record<PortalKind, PortalClient>;
  for (const kind of Object.keys(PORTALS) as PortalKind[]) {
    const redirectUri = portalUrl(deps.origin, kind);
    const { rows } = await deps.db.query<{ id: string }>(
      `SELECT id FROM oauth_artifacts WHERE model = 'Client' AND payload->'redirect_uris' @> $1::jsonb AND payload->>'client_name' = $2 ORDER BY id LIMIT 1`,
      [JSON.stringify([redirectUri]), PORTALS[kind].name],
    );
    let clientId = rows[0]?.id;
    if (!clientId) {
      const res = await fetch(deps.registerUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${deps.initialAccessToken}` },
        body: JSON.stringify({
          client_name: PORTALS[kind].name,
          redirect_uris: [redirectUri],
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
        }),
      });
      if (res.status !== 201) throw new Error(`registering the ${kind} portal failed: ${res.status} ${await res.text()}`);
      clientId = ((await res.json()) as { client_id: string }).client_id;
    }
    out[kind] = { kind, clientId, redirectUri };
  }
  return out;
}
