import type { HospitalNode } from '../../server/node.js';
import { authorize, exchangeCode, publicApp, register } from '../smart/helpers.js';

/**
 * A real SMART access token for a user, issued by that user's hospital's authorization server: a registered
 * public app, the authorization-code flow with PKCE (login and consent pages), then the token endpoint.
 */
export async function smartToken(node: HospitalNode, username: string, password: string, scope: string): Promise<string> {
  const app = await register(node, publicApp(`seed scenario app for ${username}`));
  const { redirect, verifier } = await authorize(node, { clientId: app.client_id, scope, username, password });
  const token = await exchangeCode(node, app.client_id, redirect, verifier);
  if (token.status !== 200) throw new Error(`token endpoint answered ${token.status}: ${JSON.stringify(token.body)}`);
  return token.body.access_token as string;
}
