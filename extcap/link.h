/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * link.h - the vsockmon network interface's lifecycle over rtnetlink
 * (libnl-route-3, which dumpcap already links on Linux).
 *
 * A link vsockdump creates carries the alias
 *     "vsockdump owner pid=<pid> start=<starttime>"
 * (starttime: field 22 of /proc/<pid>/stat, so a recycled pid is not
 * mistaken for the owner). The next run deletes such links whose owner
 * is gone. Links without that alias are never modified or deleted, except
 * the one the user names with --existing, which is only brought up.
 */
#ifndef VSOCKDUMP_LINK_H
#define VSOCKDUMP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>

#define LINK_OWNER_ALIAS_PREFIX	"vsockdump owner "
#define LINK_KEPT_ALIAS_PREFIX	"vsockdump kept "

struct nl_sock;

struct vsock_link {
	char name[IF_NAMESIZE];
	int ifindex;
	bool created;	/* by us: delete it at the end unless kept */
};

/* All functions returning int return 0 or an enum vsockdump_exit code,
 * with a one-line message in @err saying what to do. */
int link_open(struct nl_sock **sk, char *err, size_t err_len);
void link_close(struct nl_sock *sk);

/* Read-only: names of every vsockmon link (malloc()ed array of strings). */
int link_list_vsockmon(struct nl_sock *sk, char ***names, size_t *n_names);
void link_free_names(char **names, size_t n_names);

/* Delete links we created in runs whose process is gone; returns count. */
int link_cleanup_stale(struct nl_sock *sk);

/* Create (name NULL: first free vsockmonN), tag with our alias, set up. */
int link_create(struct nl_sock *sk, const char *name, struct vsock_link *out,
		char *err, size_t err_len);
/* Find an existing vsockmon link and bring it up if needed. */
int link_use_existing(struct nl_sock *sk, const char *name,
		      struct vsock_link *out, char *err, size_t err_len);
/* Re-tag a created link so no later run treats it as stale. */
int link_mark_kept(struct nl_sock *sk, const struct vsock_link *link,
		   char *err, size_t err_len);
int link_delete(struct nl_sock *sk, const struct vsock_link *link,
		char *err, size_t err_len);

/* Why the vsockmon link kind is missing and how to fix it, one line. */
void link_explain_missing_kind(char *buf, size_t len);

/* Owner alias helpers, exposed for tests. */
int link_format_owner_alias(char *buf, size_t len, int pid,
			    unsigned long long start);
bool link_parse_owner_alias(const char *alias, int *pid,
			    unsigned long long *start);
/* Start time of @pid, or 0 if it does not exist. */
unsigned long long link_process_start_time(int pid);

#endif /* VSOCKDUMP_LINK_H */
