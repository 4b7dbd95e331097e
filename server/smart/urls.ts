/** Where the authorization server of a hospital node answers, given its public FHIR base. */
export interface SmartUrls {
  /** the FHIR base, e.g. http://localhost:8080/fhir: the `aud` and `iss` of everything */
  fhirBase: string;
  /** the OAuth endpoints' prefix, `${fhirBase}/auth` */
  authBase: string;
  authorize: string;
  token: string;
  register: string;
  introspect: string;
  revoke: string;
  jwks: string;
  launch: string;
  style: string;
  smartConfiguration: string;
  openidConfiguration: string;
  /** the built-in oncology EHR page */
  ehr: string;
}

/** Express mount points (paths), matching SmartUrls. */
export const AUTH_PATH = '/fhir/auth';
export const EHR_PATH = '/ehr';

/** oidc-provider routes, relative to AUTH_PATH. */
export const ROUTES = {
  authorization: '/authorize',
  token: '/token',
  registration: '/register',
  introspection: '/introspect',
  revocation: '/revoke',
  jwks: '/jwks',
  end_session: '/logout',
} as const;

export function smartUrls(fhirBase: string): SmartUrls {
  const base = fhirBase.replace(/\/+$/, '');
  const authBase = `${base}/auth`;
  const origin = new URL(base).origin;
  return {
    fhirBase: base,
    authBase,
    authorize: authBase + ROUTES.authorization,
    token: authBase + ROUTES.token,
    register: authBase + ROUTES.registration,
    introspect: authBase + ROUTES.introspection,
    revoke: authBase + ROUTES.revocation,
    jwks: authBase + ROUTES.jwks,
    launch: `${authBase}/launch`,
    style: `${authBase}/smart-style.json`,
    smartConfiguration: `${base}/.well-known/smart-configuration`,
    openidConfiguration: `${base}/.well-known/openid-configuration`,
    ehr: origin + EHR_PATH,
  };
}
