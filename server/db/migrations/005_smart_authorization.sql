-- The SMART App Launch / OAuth 2 authorization server of this hospital (server/smart/).

-- oidc-provider's stored artifacts (Client, Grant, Session, Interaction, AuthorizationCode, RefreshToken,
-- ReplayDetection, InitialAccessToken, ...), one row each. Access tokens are JWTs and are not stored.
CREATE TABLE oauth_artifacts (
  model        text NOT NULL,
  id           text NOT NULL,
  payload      jsonb NOT NULL,
  grant_id     text,
  uid          text,
  expires_at   timestamptz,
  consumed_at  timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX oauth_artifacts_grant ON oauth_artifacts (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oauth_artifacts_uid ON oauth_artifacts (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX oauth_artifacts_expiry ON oauth_artifacts (expires_at) WHERE expires_at IS NOT NULL;

-- What one authorization decided beyond its scopes: the launch context, and for a patient's approval the
-- ledger permission (grantee kind client) its tokens rest on: they are active only while it is.
CREATE TABLE smart_grants (
  grant_id            text PRIMARY KEY,
  client_id           text NOT NULL,
  username            text NOT NULL,
  patient             text,              -- FHIR Patient id in context
  encounter           text,
  need_patient_banner boolean NOT NULL DEFAULT true,
  permission_patient  text,              -- ledger pseudonym
  permission_id       text,
  created_at          timestamptz NOT NULL DEFAULT now()
);

-- EHR launch contexts: only a hash of the opaque handle is kept; each handle is spent by one authorization.
CREATE TABLE smart_launches (
  handle_sha256  text PRIMARY KEY,
  client_id      text NOT NULL,
  patient        text NOT NULL,
  practitioner   text NOT NULL,         -- Practitioner/<id> of this hospital
  encounter      text,
  issued_by      text NOT NULL,         -- the EHR client (or the built-in EHR page) that registered it
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz
);

-- Access tokens (JWTs) revoked before they expire, by jti.
CREATE TABLE smart_revoked_tokens (
  jti         text PRIMARY KEY,
  expires_at  timestamptz NOT NULL
);
