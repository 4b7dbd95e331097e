import { STATIC_SCOPES } from './provider.js';
import type { SmartUrls } from './urls.js';

export const SMART_CAPABILITIES = [
  'launch-ehr',
  'launch-standalone',
  'authorize-post',
  'client-public',
  'client-confidential-symmetric',
  'client-confidential-asymmetric',
  'sso-openid-connect',
  'context-banner',
  'context-style',
  'context-ehr-patient',
  'context-ehr-encounter',
  'context-standalone-patient',
  'permission-offline',
  'permission-online',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
];

/** `{base}/.well-known/smart-configuration` (SMART App Launch 2.2 §Conformance). */
export function smartConfiguration(urls: SmartUrls) {
  return {
    issuer: urls.fhirBase,
    jwks_uri: urls.jwks,
    authorization_endpoint: urls.authorize,
    token_endpoint: urls.token,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'RS256', 'ES256'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    registration_endpoint: urls.register,
    scopes_supported: [
      ...STATIC_SCOPES,
      'patient/*.cruds',
      'user/*.cruds',
      'system/*.cruds',
      'patient/*.read',
      'patient/*.write',
      'user/*.read',
      'user/*.write',
      'system/*.read',
      'system/*.write',
      'system/launch',
    ],
    response_types_supported: ['code'],
    introspection_endpoint: urls.introspect,
    revocation_endpoint: urls.revoke,
    capabilities: SMART_CAPABILITIES,
    code_challenge_methods_supported: ['S256'],
    associated_endpoints: [{ url: urls.launch, capabilities: ['launch-ehr'] }],
  };
}

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** CapabilityStatement.rest.security: the SMART-on-FHIR service coding and the oauth-uris extension. */
export function capabilitySecurity(urls: SmartUrls) {
  return {
    extension: [
      {
        url: OAUTH_URIS,
        extension: [
          { url: 'token', valueUri: urls.token },
          { url: 'authorize', valueUri: urls.authorize },
          { url: 'register', valueUri: urls.register },
          { url: 'introspect', valueUri: urls.introspect },
          { url: 'revoke', valueUri: urls.revoke },
        ],
      },
    ],
    cors: true,
    service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR', display: 'SMART-on-FHIR' }], text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)' }],
    description: `SMART App Launch 2.2: discovery at ${urls.smartConfiguration}. Every response is decided by the token's scopes and the ledger.`,
  };
}

/** smart_style_url: colors and sizes an app may use to look at home in the EHR. */
export const SMART_STYLE = {
  color_background: '#f4f6f8',
  color_error: '#a61b1b',
  color_highlight: '#2b5d8a',
  color_modal_backdrop: 'rgba(29,39,51,0.5)',
  color_success: '#2e7d32',
  color_text: '#1d2733',
  dim_border_radius: '6px',
  dim_font_size: '16px',
  dim_spacing_size: '16px',
  font_family_body: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  font_family_heading: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
};
