// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * link.c - create, tag, bring up, find and delete vsockmon links.
 *
 * Why libnl-route-3 and not libmnl: dumpcap on Linux already depends on
 * libnl-3/libnl-route-3 (for monitor mode), so Wireshark installs bring
 * it along and distributions ship it everywhere Wireshark runs; its link
 * objects also give us cache dumps, alias and flag changes without
 * hand-building netlink attributes.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include <vsockmon_wire.h>

#include "args.h"
#include "link.h"
#include "log.h"

/* ------------------------------------------------------------ ownership */

unsigned long long link_process_start_time(int pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	/* comm may hold spaces and ')': fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* after ") " come fields 3 (state) .. 22 (starttime) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
		   "%*d %*d %*d %*d %*d %*d %llu", &start) != 1)
		return 0;
	return start;
}

int link_format_owner_alias(char *buf, size_t len, int pid,
			    unsigned long long start)
{
	return snprintf(buf, len, LINK_OWNER_ALIAS_PREFIX "pid=%d start=%llu",
			pid, start);
}

bool link_parse_owner_alias(const char *alias, int *pid,
			    unsigned long long *start)
{
	size_t prefix = strlen(LINK_OWNER_ALIAS_PREFIX);
	int used = 0;

	if (!alias || strncmp(alias, LINK_OWNER_ALIAS_PREFIX, prefix) != 0)
		return false;
	if (sscanf(alias + prefix, "pid=%d start=%llu%n", pid, start, &used) != 2)
		return false;
	return alias[prefix + used] == '\0' && *pid > 0;
}

/*
 * A process we cannot see in /proc (hidepid=, another user's) may well be
 * alive: only kill(pid, 0) failing with ESRCH says it is gone. The start
 * time, where /proc shows it, tells a reused pid from the owner.
 */
static bool owner_is_gone(const char *alias)
{
	unsigned long long start, now;
	int pid;

	if (!link_parse_owner_alias(alias, &pid, &start))
		return false;	/* not ours: never touch it */
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	now = link_process_start_time(pid);
	return now != 0 && now != start;
}

/* ---------------------------------------------------------------- basics */

int link_open(struct nl_sock **sk, char *err, size_t err_len)
{
	int rc;

	*sk = nl_socket_alloc();
	if (!*sk) {
		snprintf(err, err_len, "out of memory allocating a netlink socket");
		return EXIT_LINK;
	}
	rc = nl_connect(*sk, NETLINK_ROUTE);
	if (rc < 0) {
		snprintf(err, err_len, "cannot open an rtnetlink socket: %s",
			 nl_geterror(rc));
		nl_socket_free(*sk);
		*sk = NULL;
		return EXIT_LINK;
	}
	return 0;
}

void link_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);
}

static bool is_vsockmon(struct rtnl_link *link)
{
	const char *kind = rtnl_link_get_type(link);

	if (kind)
		return strcmp(kind, VSOCKMON_LINK_KIND) == 0;
	return rtnl_link_get_arptype(link) == VSOCKMON_ARPHRD;
}

static int dump_links(struct nl_sock *sk, struct nl_cache **cache)
{
	return rtnl_link_alloc_cache(sk, AF_UNSPEC, cache);
}

int link_list_vsockmon(struct nl_sock *sk, char ***names, size_t *n_names)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	char **list;
	size_t n = 0;

	*names = NULL;
	*n_names = 0;
	if (dump_links(sk, &cache) < 0)
		return EXIT_LINK;
	list = calloc(nl_cache_nitems(cache) + 1, sizeof(*list));
	if (!list) {
		nl_cache_free(cache);
		return EXIT_LINK;
	}
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;

		if (is_vsockmon(link))
			list[n++] = strdup(rtnl_link_get_name(link));
	}
	nl_cache_free(cache);
	*names = list;
	*n_names = n;
	return 0;
}

void link_free_names(char **names, size_t n_names)
{
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
}

static int delete_ifindex(struct nl_sock *sk, int ifindex)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int rc;

	if (!link)
		return -NLE_NOMEM;
	rtnl_link_set_ifindex(link, ifindex);
	rc = rtnl_link_delete(sk, link);
	rtnl_link_put(link);
	return rc;
}

int link_cleanup_stale(struct nl_sock *sk)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	int removed = 0;

	if (dump_links(sk, &cache) < 0)
		return 0;
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		const char *alias = rtnl_link_get_ifalias(link);
		int rc;

		if (!is_vsockmon(link) || !owner_is_gone(alias))
			continue;
		rc = delete_ifindex(sk, rtnl_link_get_ifindex(link));
		if (rc < 0) {
			log_warn("cannot delete stale link %s (%s): %s",
				 rtnl_link_get_name(link), alias, nl_geterror(rc));
			continue;
		}
		log_info("deleted stale link %s left by a vsockdump that died (%s)",
			 rtnl_link_get_name(link), alias);
		removed++;
	}
	nl_cache_free(cache);
	return removed;
}

/* ------------------------------------------------------------- creation */

static bool name_taken(struct nl_cache *cache, const char *name)
{
	struct rtnl_link *link = rtnl_link_get_by_name(cache, name);

	if (!link)
		return false;
	rtnl_link_put(link);
	return true;
}

static int pick_free_name(struct nl_sock *sk, char *name, size_t len)
{
	struct nl_cache *cache;
	int rc = dump_links(sk, &cache);

	if (rc < 0)
		return rc;
	for (unsigned int n = 0; n < 10000; n++) {
		snprintf(name, len, "vsockmon%u", n);
		if (!name_taken(cache, name))
			break;
	}
	nl_cache_free(cache);
	return 0;
}

static int add_link(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int rc;

	if (!link)
		return -NLE_NOMEM;
	rtnl_link_set_name(link, name);
	rc = rtnl_link_set_type(link, VSOCKMON_LINK_KIND);
	/* the kernel tries request_module("rtnl-link-vsockmon") for us */
	if (rc == 0)
		rc = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	return rc;
}

/* Set alias and/or IFF_UP on @name; fills in ifindex. */
static int configure_link(struct nl_sock *sk, const char *name,
			  const char *alias, bool up, int *ifindex)
{
	struct rtnl_link *orig = NULL, *change;
	int rc = rtnl_link_get_kernel(sk, 0, name, &orig);

	if (rc < 0)
		return rc;
	*ifindex = rtnl_link_get_ifindex(orig);
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(orig);
		return -NLE_NOMEM;
	}
	if (alias)
		rtnl_link_set_ifalias(change, alias);
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	rc = rtnl_link_change(sk, orig, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(orig);
	return rc;
}

static int privilege_error(char *err, size_t err_len, const char *what)
{
	snprintf(err, err_len,
		 "%s: permission denied; run as root or give vsockdump CAP_NET_ADMIN and CAP_NET_RAW "
		 "(sudo setcap cap_net_admin,cap_net_raw+ep PATH-TO-vsockdump)", what);
	return EXIT_NO_PRIVILEGE;
}

static int create_error(int rc, const char *name, char *err, size_t err_len)
{
	char why[384];

	switch (-rc) {
	case NLE_OPNOTSUPP:
		link_explain_missing_kind(why, sizeof(why));
		snprintf(err, err_len, "cannot create %s: the kernel has no '%s' link type: %s",
			 name, VSOCKMON_LINK_KIND, why);
		return EXIT_NO_MODULE;
	case NLE_PERM:
	case NLE_NOACCESS:
		snprintf(why, sizeof(why), "cannot create %s", name);
		return privilege_error(err, err_len, why);
	case NLE_EXIST:
		snprintf(err, err_len,
			 "cannot create %s: an interface with that name exists; choose another "
			 "--iface, leave it empty for the first free vsockmonN, or use --existing %s",
			 name, name);
		return EXIT_LINK;
	default:
		snprintf(err, err_len, "cannot create %s: %s", name, nl_geterror(rc));
		return EXIT_LINK;
	}
}

int link_create(struct nl_sock *sk, const char *name, struct vsock_link *out,
		char *err, size_t err_len)
{
	char alias[96];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	/* a concurrent vsockdump may grab the same free name: try the next */
	for (int attempt = 0; attempt < 16; attempt++) {
		if (name)
			snprintf(out->name, sizeof(out->name), "%s", name);
		else if ((rc = pick_free_name(sk, out->name, sizeof(out->name))) < 0)
			break;
		rc = add_link(sk, out->name);
		if (rc != -NLE_EXIST || name)
			break;
	}
	if (rc < 0)
		return create_error(rc, out->name, err, err_len);
	out->created = true;

	link_format_owner_alias(alias, sizeof(alias), (int)getpid(),
				link_process_start_time((int)getpid()));
	rc = configure_link(sk, out->name, alias, true, &out->ifindex);
	if (rc < 0) {
		snprintf(err, err_len, "created %s but cannot set it up: %s",
			 out->name, nl_geterror(rc));
		if (out->ifindex)
			delete_ifindex(sk, out->ifindex);
		return EXIT_LINK;
	}
	log_info("created %s (ifindex %d, alias \"%s\")", out->name,
		 out->ifindex, alias);
	return 0;
}

int link_use_existing(struct nl_sock *sk, const char *name,
		      struct vsock_link *out, char *err, size_t err_len)
{
	struct rtnl_link *link = NULL;
	bool vsockmon, up;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	rc = rtnl_link_get_kernel(sk, 0, name, &link);
	if (rc < 0) {
		snprintf(err, err_len,
			 "no interface named %s; pick one from 'ip link show type vsockmon' "
			 "or let vsockdump create one (no --existing)", name);
		return EXIT_LINK;
	}
	vsockmon = is_vsockmon(link);
	up = rtnl_link_get_flags(link) & IFF_UP;
	out->ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	if (!vsockmon) {
		snprintf(err, err_len,
			 "%s is not a vsockmon interface; pick one from 'ip link show type vsockmon'",
			 name);
		return EXIT_LINK;
	}
	if (up)
		return 0;
	rc = configure_link(sk, name, NULL, true, &out->ifindex);
	if (rc == -NLE_PERM || rc == -NLE_NOACCESS)
		return privilege_error(err, err_len, "cannot bring the interface up");
	if (rc < 0) {
		snprintf(err, err_len, "cannot bring %s up: %s; try 'ip link set %s up'",
			 name, nl_geterror(rc), name);
		return EXIT_LINK;
	}
	return 0;
}

int link_mark_kept(struct nl_sock *sk, const struct vsock_link *link,
		   char *err, size_t err_len)
{
	char alias[64];
	int ifindex, rc;

	snprintf(alias, sizeof(alias), LINK_KEPT_ALIAS_PREFIX "(created by pid %d)",
		 (int)getpid());
	rc = configure_link(sk, link->name, alias, false, &ifindex);
	if (rc < 0) {
		snprintf(err, err_len,
			 "cannot re-tag %s as kept (%s): a later run may delete it; "
			 "remove it yourself with 'ip link del %s' when done",
			 link->name, nl_geterror(rc), link->name);
		return EXIT_LINK;
	}
	return 0;
}

int link_delete(struct nl_sock *sk, const struct vsock_link *link,
		char *err, size_t err_len)
{
	int rc = delete_ifindex(sk, link->ifindex);

	if (rc < 0 && rc != -NLE_NODEV && rc != -NLE_OBJ_NOTFOUND) {
		snprintf(err, err_len,
			 "cannot delete %s: %s; the next vsockdump run removes it, "
			 "or run 'ip link del %s'", link->name, nl_geterror(rc),
			 link->name);
		return EXIT_LINK;
	}
	log_info("deleted %s", link->name);
	return 0;
}

/* ------------------------------------------------------ missing module */

static char found_module[512];

static int find_vsockmon_ko(const char *path, const struct stat *sb,
			    int type, struct FTW *ftw)
{
	const char *base = path + ftw->base;

	if (type == FTW_F && strncmp(base, "vsockmon.ko", 11) == 0) {
		snprintf(found_module, sizeof(found_module), "%s", path);
		return 1;	/* stop walking */
	}
	return 0;
}

static bool read_flag_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int c;

	if (!f)
		return false;
	c = fgetc(f);
	fclose(f);
	return c == '1';
}

void link_explain_missing_kind(char *buf, size_t len)
{
	struct utsname uts;
	char dir[320];
	struct stat st;

	uname(&uts);
	if (access("/proc/modules", F_OK) != 0) {
		snprintf(buf, len,
			 "this kernel (%s) cannot load modules and has no built-in vsockmon; "
			 "use a kernel built with CONFIG_VSOCKMON=y or =m", uts.release);
		return;
	}
	if (read_flag_file("/proc/sys/kernel/modules_disabled")) {
		snprintf(buf, len,
			 "module loading is disabled (kernel.modules_disabled=1); "
			 "load vsockmon at boot (modules-load.d) and reboot");
		return;
	}
	snprintf(dir, sizeof(dir), "/lib/modules/%s", uts.release);
	if (stat(dir, &st) != 0) {
		snprintf(buf, len,
			 "module vsockmon is not installed: %s does not exist; install the "
			 "modules for kernel %s, or build and install vsockmon with the DKMS "
			 "package in kmod/ (dkms install), then retry", dir, uts.release);
		return;
	}
	found_module[0] = '\0';
	nftw(dir, find_vsockmon_ko, 16, FTW_PHYS);
	if (!found_module[0]) {
		snprintf(buf, len,
			 "module vsockmon is not installed for kernel %s; install the DKMS "
			 "package in kmod/ (dkms install) or your distribution's modules "
			 "package, then retry", uts.release);
		return;
	}
	snprintf(buf, len,
		 "module %s is installed but the kernel did not load it; run "
		 "'sudo modprobe vsockmon' to see why (signature, version, depmod), "
		 "check dmesg, then retry", found_module);
}
