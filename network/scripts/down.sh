#!/usr/bin/env bash
# Stops the network and deletes its ledgers (named volumes).
# With --purge it also deletes the generated identities, CA databases and channel block.
# Usage: network/scripts/down.sh [--purge]
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

purge=false
case "${1:-}" in
  "") ;;
  --purge) purge=true ;;
  *) die "usage: $0 [--purge]" ;;
esac

compose --profile tools --profile chaincode down --volumes --remove-orphans
if $purge; then
  log "removing $ORGS_DIR and $NETWORK_DIR/channel-artifacts"
  rm -rf "$ORGS_DIR" "$NETWORK_DIR/channel-artifacts"
fi
