#!/usr/bin/env bash
# --web.config.file: TLS, mTLS (RequireAndVerifyClientCert), basic auth with bcrypt, bad files.
. "$(dirname "$0")/../lib.sh"
d=$NS_TMP/pki
mkdir -p "$d"
cd "$d"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.crt 2>/dev/null
for n in server client; do
	openssl req -newkey rsa:2048 -nodes -subj /CN=$n -keyout $n.key -out $n.csr 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
	openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out $n.crt 2>/dev/null
done
# A client certificate from another CA must not pass verification.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rogue -keyout rogue.key -out rogue.crt 2>/dev/null
hash=$(python3 -W ignore -c "import crypt; print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2**6)))")
cat >web.yml <<EOW
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_ca_file: ca.crt
  client_auth_type: RequireAndVerifyClientCert
  min_version: TLS12
basic_auth_users:
  prom: '$hash'
EOW
ns_start_daemon_tls() { # like ns_start_daemon, but readiness over TLS with credentials
	NS_PORT=$(ns_free_port)
	NS_URL=https://127.0.0.1:$NS_PORT
	"$NS_BIN" --web.listen-address=127.0.0.1:$NS_PORT --probes=syscall "$@" >"$NS_TMP/d.log" 2>&1 &
	NS_PID=$!
	ns_on_exit "ns_stop_daemon $NS_PID"
	for _ in $(seq 1 50); do
		curl -s -o /dev/null --cacert ca.crt "$NS_URL/health" && return 0
		sleep 0.1
	done
	cat "$NS_TMP/d.log"
	ns_fail "TLS daemon not up"
}
ns_start_daemon_tls --web.config.file="$d/web.yml"
echo "CapEff: $(grep CapEff /proc/$NS_PID/status)"
code() { curl -s -o /dev/null -w '%{http_code}' --cacert ca.crt "$@" || true; }
full=(--cert client.crt --key client.key -u prom:s3cret)
[ "$(code "${full[@]}" "$NS_URL/metrics")" = 200 ] || ns_fail "mTLS + basic auth scrape not 200"
curl -sS --cacert ca.crt "${full[@]}" "$NS_URL/metrics" >m.txt; grep -q '^novascope_build_info' m.txt ||
	{ head -c 300 m.txt; cat $NS_TMP/d.log; ns_fail "no metrics over TLS"; }
ns_ok "scrape over TLS with client cert and password"
c=$(code -u prom:s3cret "$NS_URL/metrics")
[ "$c" = 403 ] || [ "$c" = 000 ] || ns_fail "no client cert: got $c, want rejection"
c=$(code --cert rogue.crt --key rogue.key -u prom:s3cret "$NS_URL/metrics")
[ "$c" = 403 ] || [ "$c" = 000 ] || ns_fail "client cert from another CA: got $c, want rejection"
ns_ok "mTLS rejects a missing or foreign client certificate"
[ "$(code --cert client.crt --key client.key -u prom:wrong "$NS_URL/metrics")" = 401 ] ||
	ns_fail "wrong password not 401"
[ "$(code --cert client.crt --key client.key "$NS_URL/metrics")" = 401 ] || ns_fail "no password not 401"
[ "$(code --cert client.crt --key client.key -u nobody:s3cret "$NS_URL/metrics")" = 401 ] ||
	ns_fail "unknown user not 401"
curl -s -o /dev/null --http1.1 "http://127.0.0.1:$NS_PORT/metrics" && ns_fail "plain HTTP answered on a TLS port"
c=$(code "${full[@]}" --tls-max 1.1 "$NS_URL/metrics")
[ "$c" = 000 ] || ns_fail "TLS 1.1 accepted despite min_version TLS12 ($c)"
ns_ok "401 for wrong/missing credentials, TLS 1.1 refused"

# A real Prometheus scrapes with TLS and basic auth configured.
ns_start_prometheus 127.0.0.1:$NS_PORT "    scheme: https
    tls_config:
      ca_file: $d/ca.crt
      cert_file: $d/client.crt
      key_file: $d/client.key
    basic_auth:
      username: prom
      password: s3cret"
for i in $(seq 1 40); do
	r=$(ns_prom_query 'up{job="novascope"}')
	echo "$r" | grep -q '"1"\]' && { ns_ok "Prometheus scrapes over mTLS + basic auth (${i}s)"; break; }
	[ $i -lt 40 ] || ns_fail "Prometheus target not up: $r"
	sleep 1
done
ns_stop_daemon $NS_PID

# Bad web configs stop start-up with exit 2 and a message naming the problem.
bad() { # yaml want
	printf '%s\n' "$1" >bad.yml
	out=$("$NS_BIN" --web.listen-address=127.0.0.1:$(ns_free_port) --web.config.file="$d/bad.yml" 2>&1) && rc=0 || rc=$?
	[ $rc = 2 ] || ns_fail "bad web config exit $rc: $1"
	echo "$out" | grep -qF -- "$2" || ns_fail "message '$out' lacks '$2'"
	echo "ok: rejected: $out"
}
bad 'tls_server_config: {cert_file: nope.crt, key_file: server.key}' nope.crt
bad 'tls_server_config: {cert_file: server.crt}' key_file
bad 'tls_server_config: {cert_file: server.crt, key_file: server.key, client_auth_type: Sometimes}' Sometimes
bad 'tls_server_config: {cert_file: server.crt, key_file: server.key, min_version: SSL3}' SSL3
bad 'basic_auth_users: {alice: plaintext}' alice
bad 'tls_config: {}' tls_config
