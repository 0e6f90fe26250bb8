/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --web.config.file in the Prometheus exporter-toolkit format:
 *   tls_server_config: {cert_file, key_file, client_ca_file, client_auth_type, min_version,
 *                       max_version}
 *   basic_auth_users: {user: bcrypt-hash, ...}
 * Relative file names are relative to the config file's directory, as in exporter-toolkit.
 */
#ifndef NOVASCOPE_WEBCONFIG_H
#define NOVASCOPE_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum ns_client_auth {
	NS_CLIENT_NONE, /* NoClientCert */
	NS_CLIENT_REQUEST, /* RequestClientCert */
	NS_CLIENT_REQUIRE_ANY, /* RequireAnyClientCert */
	NS_CLIENT_VERIFY_IF_GIVEN, /* VerifyClientCertIfGiven */
	NS_CLIENT_REQUIRE_AND_VERIFY, /* RequireAndVerifyClientCert */
};

#define NS_MAX_USERS 64

struct ns_webconfig {
	bool tls;
	char *cert_pem, *key_pem, *ca_pem; /* file contents */
	enum ns_client_auth client_auth;
	char priorities[128]; /* GnuTLS priority string from min/max_version */
	int nusers;
	char *user[NS_MAX_USERS];
	char *hash[NS_MAX_USERS];
};

/* Load and validate; on error write a message naming the key and value to err (n bytes). */
int ns_webconfig_load(const char *path, struct ns_webconfig *wc, char *err, size_t n);
/* The same from memory; files are resolved against dir. */
int ns_webconfig_parse(const char *buf, size_t len, const char *dir, struct ns_webconfig *wc,
		       char *err, size_t n);
void ns_webconfig_free(struct ns_webconfig *wc);
/* Check a user's password against its bcrypt hash (results cached). */
bool ns_webconfig_check_user(const struct ns_webconfig *wc, const char *user, const char *pass);

#endif
