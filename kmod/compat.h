/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences the vsockmon driver meets from 5.10 to mainline.
 *
 * Every branch is chosen by a feature macro, never by distribution or
 * version number: stable series backport features, and checkpatch rightly
 * frowns on LINUX_VERSION_CODE. The oldest target is 5.10.
 *
 * Kept out on purpose, because the plain form works on every version:
 * - <linux/ethtool.h> is included directly: newer netdevice.h no longer
 *   pulls it in, older ones tolerate the extra include.
 * - dev_lstats_add()/dev_lstats_read() exist since 5.6.
 * - u64_stats_fetch_begin()/_retry() exist on all of them; the _irq
 *   variants were removed in 6.3.
 * - rtnl_link_ops.validate() has taken an extack since 4.13; newlink()
 *   changed in 6.15, so vsockmon does not implement newlink().
 */
#ifndef _VSOCKMON_COMPAT_H
#define _VSOCKMON_COMPAT_H

#include <linux/netdevice.h>

/*
 * 6.12 replaced the NETIF_F_LLTX feature bit by dev->lltx (commit
 * "netdev_features: convert NETIF_F_LLTX to dev->lltx"); the macro went
 * away in the same commit, so its presence tells which one to use.
 */
static inline void vsockmon_set_lltx(struct net_device *dev)
{
#ifdef NETIF_F_LLTX
	dev->features |= NETIF_F_LLTX;
#else
	dev->lltx = true;
#endif
}

/*
 * Since 6.7 (commit "net: Move {l,t,d}stats allocation to core") the core
 * allocates and frees dev->lstats when dev->pcpu_stat_type asks for it.
 * Kbuild defines VSOCKMON_CORE_LSTATS when the target's netdevice.h has
 * that field; older trees get the counters allocated here, as nlmon did.
 */
#ifdef VSOCKMON_CORE_LSTATS
static inline void vsockmon_lstats_setup(struct net_device *dev)
{
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_LSTATS;
}

static inline int vsockmon_lstats_alloc(struct net_device *dev)
{
	return 0;
}

static inline void vsockmon_lstats_free(struct net_device *dev)
{
}
#else
static inline void vsockmon_lstats_setup(struct net_device *dev)
{
}

static inline int vsockmon_lstats_alloc(struct net_device *dev)
{
	dev->lstats = netdev_alloc_pcpu_stats(struct pcpu_lstats);
	return dev->lstats ? 0 : -ENOMEM;
}

static inline void vsockmon_lstats_free(struct net_device *dev)
{
	free_percpu(dev->lstats);
}
#endif

#endif /* _VSOCKMON_COMPAT_H */
