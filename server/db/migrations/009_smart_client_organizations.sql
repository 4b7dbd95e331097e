-- Backend services registered by the hospital itself (with its initial access token) act for it: ledger
-- permissions granted to the hospital's organization reach their system/ tokens. Openly registered clients
-- have no row and reach only what is granted to them by client id.
CREATE TABLE smart_client_organizations (
  client_id      text PRIMARY KEY,
  msp_id         text NOT NULL,
  registered_at  timestamptz NOT NULL DEFAULT now()
);
