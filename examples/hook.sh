#!/bin/sh
# An m6t client hook (--hook, m6t(8)): logs every change of tunnel address to the system log,
# as "m6t-hook: changed fd00:..:1 -> fd00:..:2 on m6t0 via 203.0.113.2:4500 (uplink_changed)".
#
# Nothing else is needed for MIPv6 or IKE: UMIP's mip6d and strongSwan (MOBIKE) see the new
# address on the interface through rtnetlink and move to it by themselves; a hook is for what
# does not watch addresses (a firewall rule, a dynamic DNS update, a notification).
# It runs as the daemon's user (m6t under the packaged units), with no capability.
[ "$M6T_STATE" = down ] && detail="${M6T_OLD_ADDRESS:-none} gone" ||
  detail="${M6T_OLD_ADDRESS:-none} -> $M6T_ADDRESS"
exec logger -t m6t-hook "$M6T_STATE $detail on $M6T_INTERFACE via $M6T_GATEWAY ($M6T_REASON)"
