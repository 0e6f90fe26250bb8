#!/usr/bin/env bash
# The shipped Prometheus rules: `promtool check rules` clean, `promtool test rules` passes, and
# every alerting rule in rules.yml has a test in rules_test.yml that expects it to fire.
# The shipped dashboard is what scripts/gen-dashboard.py generates.
. "$(dirname "$0")/../lib.sh"
cd "$NS_ROOT/deploy/prometheus"
out=$(promtool check rules rules.yml 2>&1) || ns_fail "promtool check rules: $out"
grep -q "SUCCESS" <<<"$out" && ! grep -qi "warn" <<<"$out" || ns_fail "promtool check rules: $out"
ns_ok "$(grep SUCCESS <<<"$out" | xargs)"
out=$(promtool test rules rules_test.yml 2>&1) || ns_fail "promtool test rules: $out"
ns_ok "promtool test rules: $(tail -1 <<<"$out" | xargs)"
python3 - <<'PY' || ns_fail "an alert has no firing test"
import yaml
rules = yaml.safe_load(open("rules.yml"))
tests = yaml.safe_load(open("rules_test.yml"))
alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
fired = {t["alertname"] for tc in tests["tests"] for t in tc.get("alert_rule_test", []) if t.get("exp_alerts")}
quiet = {t["alertname"] for tc in tests["tests"] for t in tc.get("alert_rule_test", []) if not t.get("exp_alerts")}
missing = sorted(alerts - fired) + sorted(a + " (no negative case)" for a in alerts - quiet)
assert not missing, "untested: %s" % missing
print("ok: %d alerts, each with a firing and a quiet case" % len(alerts))
PY
cd "$NS_ROOT"
diff <(scripts/gen-dashboard.py) deploy/grafana/novascope.json >/dev/null ||
	ns_fail "deploy/grafana/novascope.json differs from scripts/gen-dashboard.py's output"
ns_ok "dashboard matches its generator"
