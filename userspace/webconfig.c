// SPDX-License-Identifier: GPL-2.0
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/crypto.h>
#include <yaml.h>
#include "config_sections.h"
#include "webconfig.h"

static const char *const auth_names[] = {"NoClientCert", "RequestClientCert",
					 "RequireAnyClientCert", "VerifyClientCertIfGiven",
					 "RequireAndVerifyClientCert"};

static char *read_file(const char *dir, const char *name, const char *key, char *err, size_t n)
{
	char path[4096];
	FILE *f;
	long len;
	char *buf;

	if (name[0] == '/' || !dir)
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, n, "%s: cannot read %s: %s", key, path, strerror(errno));
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = len >= 0 && len < (1 << 20) ? calloc(1, (size_t)len + 1) : NULL;
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		snprintf(err, n, "%s: cannot read %s", key, path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* "TLS12" -> GnuTLS "VERS-TLS1.2"; NULL when unknown. */
static const char *tls_version(const char *v)
{
	static const char *const map[][2] = {{"TLS10", "VERS-TLS1.0"},
					     {"TLS11", "VERS-TLS1.1"},
					     {"TLS12", "VERS-TLS1.2"},
					     {"TLS13", "VERS-TLS1.3"}};

	for (int i = 0; i < 4; i++)
		if (!strcmp(v, map[i][0]))
			return map[i][1];
	return NULL;
}

static int set_priorities(struct ns_webconfig *wc, const char *min, const char *max, char *err,
			  size_t n)
{
	static const char *const order[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
	int lo = 2, hi = 3; /* exporter-toolkit default: TLS 1.2 and up */

	for (int i = 0; i < 4; i++) {
		if (min && !strcmp(min, order[i]))
			lo = i;
		if (max && !strcmp(max, order[i]))
			hi = i;
	}
	if ((min && !tls_version(min)) || (max && !tls_version(max))) {
		snprintf(err, n,
			 "tls_server_config: min_version/max_version \"%s\": want TLS10..TLS13",
			 min && !tls_version(min) ? min : max);
		return -1;
	}
	if (lo > hi) {
		snprintf(err, n, "tls_server_config: min_version %s above max_version %s", min,
			 max);
		return -1;
	}
	snprintf(wc->priorities, sizeof(wc->priorities), "NORMAL:-VERS-ALL");
	for (int i = lo; i <= hi; i++) {
		size_t l = strlen(wc->priorities);

		snprintf(wc->priorities + l, sizeof(wc->priorities) - l, ":+%s",
			 tls_version(order[i]));
	}
	return 0;
}

static int parse_tls(yaml_document_t *doc, yaml_node_t *node, const char *dir,
		     struct ns_webconfig *wc, char *err, size_t n)
{
	const char *cert = NULL, *key = NULL, *ca = NULL, *auth = NULL, *min = NULL, *max = NULL;

	if (node->type != YAML_MAPPING_NODE) {
		snprintf(err, n, "tls_server_config: want a mapping");
		return -1;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		const char *k = ns_yaml_scalar(yaml_document_get_node(doc, p->key));
		const char *v = ns_yaml_scalar(yaml_document_get_node(doc, p->value));

		if (!k || !v) {
			snprintf(err, n, "tls_server_config: key \"%s\" wants a single value",
				 k ? k : "?");
			return -1;
		}
		if (!strcmp(k, "cert_file"))
			cert = v;
		else if (!strcmp(k, "key_file"))
			key = v;
		else if (!strcmp(k, "client_ca_file"))
			ca = v;
		else if (!strcmp(k, "client_auth_type"))
			auth = v;
		else if (!strcmp(k, "min_version"))
			min = v;
		else if (!strcmp(k, "max_version"))
			max = v;
		else {
			snprintf(err, n, "tls_server_config: unknown key \"%s\"", k);
			return -1;
		}
	}
	if (!cert || !key) {
		snprintf(err, n, "tls_server_config: cert_file and key_file are both required");
		return -1;
	}
	wc->client_auth = NS_CLIENT_NONE;
	if (auth) {
		int i;

		for (i = 0; i < 5 && strcmp(auth, auth_names[i]); i++)
			;
		if (i == 5) {
			snprintf(err, n,
				 "tls_server_config: client_auth_type \"%s\" is not one of "
				 "NoClientCert, RequestClientCert, RequireAnyClientCert, "
				 "VerifyClientCertIfGiven, RequireAndVerifyClientCert",
				 auth);
			return -1;
		}
		wc->client_auth = (enum ns_client_auth)i;
	}
	/* libmicrohttpd asks for client certificates only when it has a trust list. */
	if (wc->client_auth != NS_CLIENT_NONE && !ca) {
		snprintf(err, n, "tls_server_config: client_auth_type %s needs client_ca_file",
			 auth);
		return -1;
	}
	if (set_priorities(wc, min, max, err, n))
		return -1;
	wc->cert_pem = read_file(dir, cert, "tls_server_config.cert_file", err, n);
	wc->key_pem =
		wc->cert_pem ? read_file(dir, key, "tls_server_config.key_file", err, n) : NULL;
	if (!wc->key_pem)
		return -1;
	if (ca && !(wc->ca_pem = read_file(dir, ca, "tls_server_config.client_ca_file", err, n)))
		return -1;
	wc->tls = true;
	return 0;
}

static int parse_users(yaml_document_t *doc, yaml_node_t *node, struct ns_webconfig *wc, char *err,
		       size_t n)
{
	if (node->type != YAML_MAPPING_NODE) {
		snprintf(err, n, "basic_auth_users: want a mapping of user: bcrypt-hash");
		return -1;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		const char *u = ns_yaml_scalar(yaml_document_get_node(doc, p->key));
		const char *h = ns_yaml_scalar(yaml_document_get_node(doc, p->value));

		if (!u || !*u || !h) {
			snprintf(err, n, "basic_auth_users: each entry is user: bcrypt-hash");
			return -1;
		}
		/* bcrypt: $2a$, $2b$ or $2y$, two-digit cost, 53 characters of salt and hash. */
		if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) ||
		    h[3] != '$') {
			snprintf(err, n,
				 "basic_auth_users: the hash of user \"%s\" is not a bcrypt hash",
				 u);
			return -1;
		}
		if (wc->nusers == NS_MAX_USERS) {
			snprintf(err, n, "basic_auth_users: more than %d users", NS_MAX_USERS);
			return -1;
		}
		wc->user[wc->nusers] = strdup(u);
		wc->hash[wc->nusers++] = strdup(h);
	}
	return 0;
}

int ns_webconfig_parse(const char *buf, size_t len, const char *dir, struct ns_webconfig *wc,
		       char *err, size_t n)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int ret = -1;

	memset(wc, 0, sizeof(*wc));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, n, "line %zu: YAML error: %s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "unknown");
		yaml_parser_delete(&parser);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		ret = 0; /* empty: plain HTTP, no auth */
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		snprintf(err, n, "the top level must be a mapping");
		goto out;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const char *k = ns_yaml_scalar(yaml_document_get_node(&doc, p->key));
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);

		if (k && !strcmp(k, "tls_server_config")) {
			if (parse_tls(&doc, v, dir, wc, err, n))
				goto out;
		} else if (k && !strcmp(k, "basic_auth_users")) {
			if (parse_users(&doc, v, wc, err, n))
				goto out;
		} else {
			snprintf(err, n, "unknown key \"%s\"", k ? k : "?");
			goto out;
		}
	}
	ret = 0;
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret)
		ns_webconfig_free(wc);
	return ret;
}

int ns_webconfig_load(const char *path, struct ns_webconfig *wc, char *err, size_t n)
{
	char dir[4096], msg[512];
	char *buf, *slash;
	int ret;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	buf = read_file(NULL, path, "--web.config.file", err, n);
	if (!buf)
		return -1;
	ret = ns_webconfig_parse(buf, strlen(buf), dir, wc, msg, sizeof(msg));
	if (ret)
		snprintf(err, n, "--web.config.file %s: %s", path, msg);
	free(buf);
	return ret;
}

void ns_webconfig_free(struct ns_webconfig *wc)
{
	free(wc->cert_pem);
	free(wc->key_pem);
	free(wc->ca_pem);
	for (int i = 0; i < wc->nusers; i++) {
		free(wc->user[i]);
		free(wc->hash[i]);
	}
	memset(wc, 0, sizeof(*wc));
}

/* bcrypt is deliberately slow (~50 ms at cost 10): remember digests of good credentials. */
#define AUTH_CACHE 32
static unsigned char auth_cache[AUTH_CACHE][32];
static unsigned int auth_next;
static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;

static void digest(const char *user, const char *hash, const char *pass, unsigned char out[32])
{
	size_t lu = strlen(user), lh = strlen(hash), lp = strlen(pass);
	char *buf = malloc(lu + lh + lp + 3);

	memset(out, 0, 32);
	if (!buf)
		return;
	memcpy(buf, user, lu + 1);
	memcpy(buf + lu + 1, hash, lh + 1);
	memcpy(buf + lu + lh + 2, pass, lp + 1);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, lu + lh + lp + 3, out);
	free(buf);
}

bool ns_webconfig_check_user(const struct ns_webconfig *wc, const char *user, const char *pass)
{
	struct crypt_data *cd;
	unsigned char d[32];
	const char *res;
	bool ok = false;
	int i;

	for (i = 0; i < wc->nusers && strcmp(wc->user[i], user); i++)
		;
	if (i == wc->nusers)
		return false;
	digest(user, wc->hash[i], pass, d);
	pthread_mutex_lock(&auth_lock);
	for (int k = 0; k < AUTH_CACHE && !ok; k++)
		ok = !memcmp(auth_cache[k], d, 32);
	pthread_mutex_unlock(&auth_lock);
	if (ok)
		return true;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	res = crypt_r(pass, wc->hash[i], cd);
	ok = res && res[0] == '$' && strlen(res) == strlen(wc->hash[i]) &&
	     !memcmp(res, wc->hash[i], strlen(res));
	free(cd);
	if (ok) {
		pthread_mutex_lock(&auth_lock);
		memcpy(auth_cache[auth_next++ % AUTH_CACHE], d, 32);
		pthread_mutex_unlock(&auth_lock);
	}
	return ok;
}
