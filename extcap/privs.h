/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * privs.h - capabilities. vsockdump needs CAP_NET_ADMIN (create, set up and
 * delete the link) and CAP_NET_RAW (open the packet socket) during setup,
 * then only CAP_NET_ADMIN to delete the link at the end, then nothing.
 * They come from root or from file capabilities (setcap) on the binary.
 */
#ifndef VSOCKDUMP_PRIVS_H
#define VSOCKDUMP_PRIVS_H

#include <stddef.h>

/* Check CAP_NET_ADMIN + CAP_NET_RAW are permitted and make them effective.
 * Returns 0 or EXIT_NO_PRIVILEGE with a one-line fix in @err. */
int privs_acquire_capture(char *err, size_t err_len);
/* After setup: keep only CAP_NET_ADMIN (to delete the link later). */
int privs_keep_net_admin(void);
/* Drop every capability. */
int privs_drop_all(void);

#endif /* VSOCKDUMP_PRIVS_H */
