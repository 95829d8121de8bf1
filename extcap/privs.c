// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * privs.c - see privs.h. Capabilities we drop are removed from the
 * permitted set, so nothing later in the process (libpcap, libnl, a bug)
 * can raise them again; the ambient set is cleared so a child inherits none.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "args.h"
#include "log.h"
#include "privs.h"

static bool has_permitted(cap_t caps, cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;

	cap_get_flag(caps, cap, CAP_PERMITTED, &v);
	return v == CAP_SET;
}

/* Make exactly @keep permitted and effective. */
static int set_caps(const cap_value_t *keep, int n_keep)
{
	cap_t caps = cap_init();	/* all flags clear */
	int rc = -1;

	if (!caps)
		return -1;
	if (n_keep == 0 ||
	    (cap_set_flag(caps, CAP_PERMITTED, n_keep, keep, CAP_SET) == 0 &&
	     cap_set_flag(caps, CAP_EFFECTIVE, n_keep, keep, CAP_SET) == 0))
		rc = cap_set_proc(caps);
	cap_free(caps);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return rc;
}

/* Raise @caps into the effective set, leaving the others as they are. */
static int make_effective(const cap_value_t *caps, int n)
{
	cap_t now = cap_get_proc();
	int rc = -1;

	if (!now)
		return -1;
	if (cap_set_flag(now, CAP_EFFECTIVE, n, caps, CAP_SET) == 0)
		rc = cap_set_proc(now);
	cap_free(now);
	return rc;
}

int privs_acquire_capture(char *err, size_t err_len)
{
	static const cap_value_t needed[] = { CAP_NET_ADMIN, CAP_NET_RAW };
	char exe[PATH_MAX];
	cap_t caps = cap_get_proc();
	bool admin, raw;
	ssize_t n;

	if (!caps)
		return EXIT_NO_PRIVILEGE;
	admin = has_permitted(caps, CAP_NET_ADMIN);
	raw = has_permitted(caps, CAP_NET_RAW);
	cap_free(caps);
	/* the rest (e.g. root's CAP_DAC_OVERRIDE for the fifo) goes after setup */
	if (admin && raw && make_effective(needed, 2) == 0)
		return 0;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(err, err_len,
		 "missing %s%s%s: run as root, or once: sudo setcap cap_net_admin,cap_net_raw+ep %s "
		 "(cmake -DVSOCKDUMP_SETCAP=ON does this at install)",
		 admin ? "" : "CAP_NET_ADMIN", !admin && !raw ? " and " : "",
		 raw ? "" : "CAP_NET_RAW", n > 0 ? exe : "vsockdump");
	return EXIT_NO_PRIVILEGE;
}

int privs_keep_net_admin(void)
{
	static const cap_value_t keep[] = { CAP_NET_ADMIN };
	int rc = set_caps(keep, 1);

	if (rc)
		log_warn("could not drop CAP_NET_RAW; continuing with it");
	else
		log_debug("capabilities now: cap_net_admin only");
	return rc;
}

int privs_drop_all(void)
{
	int rc = set_caps(NULL, 0);

	if (rc)
		log_debug("could not drop capabilities");
	return rc;
}
