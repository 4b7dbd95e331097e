#!/usr/bin/env bash
# Deploys the consentry chaincode as a service: installs the CCaaS package from `npm run package:chaincode`
# on both peers, starts the chaincode container with the package ID, approves the definition for both
# hospitals and commits it. Re-running with the same CC_VERSION does nothing; a new CC_VERSION becomes
# the next sequence of the definition. (Chaincode code changes alone need only a rebuilt container:
# the CCaaS package holds just the address, see network/README.md.)
# Usage: [CC_VERSION=1.1] [CC_POLICY="..."] network/scripts/deploy-chaincode.sh
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The label carries the version, so CC_VERSION=1.1 yields a new package ID and the next sequence.
label="${CC_NAME}_${CC_VERSION}"
log "packaging the chaincode as $label (npm run package:chaincode)"
(cd "$REPO_DIR" && npm run --silent package:chaincode -- --label "$label" >/dev/null)
package_file=/dist/consentry-ccaas.tar.gz
PACKAGE_ID="$(tr -d '\n' < "$REPO_DIR/dist/consentry-ccaas.package-id")"
[ -n "$PACKAGE_ID" ] || die "no package ID in dist/consentry-ccaas.package-id"
log "package $PACKAGE_ID"

for org in "${PEER_ORGS[@]}"; do
  if peer_as "$org" lifecycle chaincode queryinstalled 2>/dev/null | grep -q "Package ID: $PACKAGE_ID,"; then
    log "already installed on peer0-$org"
  else
    log "installing on peer0-$org"
    peer_as "$org" lifecycle chaincode install "$package_file"
  fi
done

log "starting consentry-ccaas with CHAINCODE_ID=$PACKAGE_ID"
CONSENTRY_CHAINCODE_ID="$PACKAGE_ID" compose up -d --build consentry-ccaas

orderer_args=(-o "$ORDERER_ADDRESS" --ordererTLSHostnameOverride orderer0 --tls --cafile "$ORDERER_TLS_CA")
definition=(--channelID "$CHANNEL" --name "$CC_NAME" --version "$CC_VERSION" --signature-policy "$CC_POLICY")

committed_json="$(peer_as hospitala lifecycle chaincode querycommitted --channelID "$CHANNEL" --name "$CC_NAME" -O json 2>/dev/null || true)"
committed_seq="$(printf '%s' "$committed_json" | grep -o '"sequence": *[0-9]*' | grep -o '[0-9]*$' || true)"
committed_seq="${committed_seq:-0}"
if [ "$committed_seq" -gt 0 ]; then
  approved_json="$(peer_as hospitala lifecycle chaincode queryapproved --channelID "$CHANNEL" --name "$CC_NAME" \
    --sequence "$committed_seq" -O json 2>/dev/null || true)"
  if printf '%s' "$approved_json" | grep -q "\"package_id\": *\"$PACKAGE_ID\"" \
    && printf '%s' "$committed_json" | grep -q "\"version\": *\"$CC_VERSION\""; then
    log "$CC_NAME sequence $committed_seq already runs $PACKAGE_ID; nothing to do (a CC_POLICY change needs a new CC_VERSION)"
    exit 0
  fi
fi
sequence=$((committed_seq + 1))

for org in "${PEER_ORGS[@]}"; do
  log "approving $CC_NAME sequence $sequence for $(org_msp "$org")"
  peer_as "$org" lifecycle chaincode approveformyorg "${orderer_args[@]}" "${definition[@]}" \
    --package-id "$PACKAGE_ID" --sequence "$sequence"
done

peer_as hospitala lifecycle chaincode checkcommitreadiness "${definition[@]}" --sequence "$sequence" --output json

log "committing $CC_NAME sequence $sequence"
peer_args=()
for org in "${PEER_ORGS[@]}"; do
  peer_args+=(--peerAddresses "peer0-$org:7051" --tlsRootCertFiles "$(org_dir "$org")/peers/peer0/tls/ca.crt")
done
peer_as hospitala lifecycle chaincode commit "${orderer_args[@]}" "${definition[@]}" --sequence "$sequence" "${peer_args[@]}"

peer_as hospitala lifecycle chaincode querycommitted --channelID "$CHANNEL" --name "$CC_NAME"
log "chaincode $CC_NAME is live on channel $CHANNEL"
