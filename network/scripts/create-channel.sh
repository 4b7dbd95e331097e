#!/usr/bin/env bash
# Creates channel "consentry" (or $FABRIC_CHANNEL): genesis block from configtx.yaml, the orderer joins
# it through its admin endpoint (osnadmin; no system channel), then each hospital's peer joins as that
# hospital's admin. Safe to re-run: finished steps are skipped.
# Usage: network/scripts/create-channel.sh   (orderer and peers running, identities enrolled)
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

block="/network/channel-artifacts/$CHANNEL.block"
mkdir -p "$NETWORK_DIR/channel-artifacts"

if [ ! -s "$NETWORK_DIR/channel-artifacts/$CHANNEL.block" ]; then
  log "genesis block for channel $CHANNEL"
  tools configtxgen -configPath /network/configtx -profile ConsentryChannel -channelID "$CHANNEL" -outputBlock "$block"
fi

osnadmin_args=(-o "$ORDERER_ADMIN_ADDRESS" --ca-file "$ORDERER_TLS_CA"
  --client-cert "$ORDERER_DIR/tls/server.crt" --client-key "$ORDERER_DIR/tls/server.key")

orderer_has_channel() { tools osnadmin channel list "${osnadmin_args[@]}" 2>/dev/null | grep -q "\"name\": *\"$CHANNEL\""; }

if orderer_has_channel; then
  log "orderer0 already serves $CHANNEL"
else
  log "orderer0 joins $CHANNEL"
  retry 10 3 tools osnadmin channel join --channelID "$CHANNEL" --config-block "$block" "${osnadmin_args[@]}" \
    || die "orderer0 did not join $CHANNEL"
fi

for org in "${PEER_ORGS[@]}"; do
  if peer_as "$org" channel list 2>/dev/null | grep -qx "$CHANNEL"; then
    log "peer0-$org already joined $CHANNEL"
    continue
  fi
  log "peer0-$org joins $CHANNEL"
  # The orderer needs a moment to elect a Raft leader and serve the genesis block.
  retry 10 3 peer_as "$org" channel join -b "$block" || die "peer0-$org did not join $CHANNEL"
done

log "channel $CHANNEL ready (anchor peers come from configtx.yaml)"
