#!/usr/bin/env bash
# test_migration_threads with the other send hook: tcp:tcp_sendmsg_locked (per chunk, 6.16+)
# instead of sock:sock_send_length (per call, the default). The connection must still be
# classified by the thread that sends first.
. "$(dirname "$0")/../lib.sh"
export NOVASCOPE_TCP_SEND_HOOK=tcp_sendmsg_locked
hook=$("$NS_BIN" --list-probes 2>&1 | awk '$1 == "tcp"')
grep -q "send: tcp_sendmsg_locked" <<<"$hook" || ns_fail "the forced send hook is not used: $hook"
ns_ok "tcp probe: $hook"
. "$(dirname "$0")/test_migration_threads.sh"
