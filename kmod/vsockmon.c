// SPDX-License-Identifier: GPL-2.0-only
/*
 * AF_VSOCK monitoring device, out-of-tree edition.
 *
 * Same rtnl kind, link type and frames as the in-tree vsockmon driver, plus
 * ethtool driver info and per-operation counters, and one rule the in-tree
 * driver lacks: vsock taps see the packets of every network namespace, so
 * only the network admin of the initial user namespace may create or open
 * a vsockmon device.
 */
#include <linux/ethtool.h>
#include <linux/if_arp.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/u64_stats_sync.h>
#include <linux/virtio_vsock.h>
#include <net/af_vsock.h>
#include <net/rtnetlink.h>
#include <uapi/linux/vsockmon.h>

#include "compat.h"

#define VSOCKMON_VERSION	"1.0.0-oot"

#define VSOCKMON_MIN_MTU	sizeof(struct af_vsockmon_hdr)
/* Virtio transport max packet size plus monitor header, as in-tree */
#define VSOCKMON_DEFAULT_MTU	(VIRTIO_VSOCK_MAX_PKT_BUF_SIZE + \
				 sizeof(struct af_vsockmon_hdr))
/* The largest frame a tap can hand us: both headers and a full packet */
#define VSOCKMON_MAX_MTU	(VSOCKMON_DEFAULT_MTU + \
				 sizeof(struct virtio_vsock_hdr))

/* ethtool -S counters; the frame counters are indexed by af_vsockmon_op */
enum vsockmon_stat {
	VSOCKMON_STAT_UNKNOWN = AF_VSOCK_OP_UNKNOWN,
	VSOCKMON_STAT_CONNECT = AF_VSOCK_OP_CONNECT,
	VSOCKMON_STAT_DISCONNECT = AF_VSOCK_OP_DISCONNECT,
	VSOCKMON_STAT_CONTROL = AF_VSOCK_OP_CONTROL,
	VSOCKMON_STAT_PAYLOAD = AF_VSOCK_OP_PAYLOAD,
	VSOCKMON_STAT_PAYLOAD_BYTES,
	VSOCKMON_STAT_COUNT,
};

static const char vsockmon_stat_names[VSOCKMON_STAT_COUNT][ETH_GSTRING_LEN] = {
	[VSOCKMON_STAT_UNKNOWN]		= "unknown_frames",
	[VSOCKMON_STAT_CONNECT]		= "connect_frames",
	[VSOCKMON_STAT_DISCONNECT]	= "disconnect_frames",
	[VSOCKMON_STAT_CONTROL]		= "control_frames",
	[VSOCKMON_STAT_PAYLOAD]		= "payload_frames",
	[VSOCKMON_STAT_PAYLOAD_BYTES]	= "payload_bytes",
};

struct vsockmon_pcpu_stats {
	u64_stats_t counter[VSOCKMON_STAT_COUNT];
	struct u64_stats_sync syncp;
};

struct vsockmon {
	struct vsock_tap vt;
	struct vsockmon_pcpu_stats __percpu *stats;
};

static bool vsockmon_capable(void)
{
	/* Taps are global: a namespace-local CAP_NET_ADMIN is not enough. */
	return capable(CAP_NET_ADMIN);
}

static int vsockmon_dev_init(struct net_device *dev)
{
	struct vsockmon *vsockmon = netdev_priv(dev);
	int err;

	/* alloc_netdev turned a zero queue length from setup into the default
	 * length plus IFF_NO_QUEUE; there is no queue, so say so.
	 */
	dev->tx_queue_len = 0;

	vsockmon->stats = netdev_alloc_pcpu_stats(struct vsockmon_pcpu_stats);
	if (!vsockmon->stats)
		return -ENOMEM;

	err = vsockmon_lstats_alloc(dev);
	if (err)
		free_percpu(vsockmon->stats);
	return err;
}

static void vsockmon_dev_uninit(struct net_device *dev)
{
	struct vsockmon *vsockmon = netdev_priv(dev);

	vsockmon_lstats_free(dev);
	free_percpu(vsockmon->stats);
}

static int vsockmon_open(struct net_device *dev)
{
	struct vsockmon *vsockmon = netdev_priv(dev);

	if (!vsockmon_capable())
		return -EPERM;

	vsockmon->vt.dev = dev;
	vsockmon->vt.module = THIS_MODULE;
	return vsock_add_tap(&vsockmon->vt);
}

static int vsockmon_close(struct net_device *dev)
{
	struct vsockmon *vsockmon = netdev_priv(dev);

	return vsock_remove_tap(&vsockmon->vt);
}

static void vsockmon_count_frame(struct net_device *dev, struct sk_buff *skb)
{
	struct vsockmon *vsockmon = netdev_priv(dev);
	struct vsockmon_pcpu_stats *stats = this_cpu_ptr(vsockmon->stats);
	const struct af_vsockmon_hdr *hdr;
	struct af_vsockmon_hdr buf;
	unsigned int op = AF_VSOCK_OP_UNKNOWN;
	unsigned int payload = 0;

	hdr = skb_header_pointer(skb, 0, sizeof(buf), &buf);
	if (hdr) {
		op = le16_to_cpu(hdr->op);
		if (op > AF_VSOCK_OP_PAYLOAD)
			op = AF_VSOCK_OP_UNKNOWN;
		if (op == AF_VSOCK_OP_PAYLOAD &&
		    skb->len >= sizeof(buf) + le16_to_cpu(hdr->len))
			payload = skb->len - sizeof(buf) - le16_to_cpu(hdr->len);
	}

	u64_stats_update_begin(&stats->syncp);
	u64_stats_inc(&stats->counter[op]);
	u64_stats_add(&stats->counter[VSOCKMON_STAT_PAYLOAD_BYTES], payload);
	u64_stats_update_end(&stats->syncp);
}

static netdev_tx_t vsockmon_xmit(struct sk_buff *skb, struct net_device *dev)
{
	dev_lstats_add(dev, skb->len);
	vsockmon_count_frame(dev, skb);

	dev_kfree_skb(skb);

	return NETDEV_TX_OK;
}

static void
vsockmon_get_stats64(struct net_device *dev, struct rtnl_link_stats64 *stats)
{
	dev_lstats_read(dev, &stats->rx_packets, &stats->rx_bytes);
}

static const struct net_device_ops vsockmon_ops = {
	.ndo_init = vsockmon_dev_init,
	.ndo_uninit = vsockmon_dev_uninit,
	.ndo_open = vsockmon_open,
	.ndo_stop = vsockmon_close,
	.ndo_start_xmit = vsockmon_xmit,
	.ndo_get_stats64 = vsockmon_get_stats64,
};

static u32 vsockmon_get_link(struct net_device *dev)
{
	return 1;
}

static void vsockmon_get_drvinfo(struct net_device *dev,
				 struct ethtool_drvinfo *info)
{
	strscpy(info->driver, KBUILD_MODNAME, sizeof(info->driver));
	strscpy(info->version, VSOCKMON_VERSION, sizeof(info->version));
}

static int vsockmon_get_sset_count(struct net_device *dev, int sset)
{
	return sset == ETH_SS_STATS ? VSOCKMON_STAT_COUNT : -EOPNOTSUPP;
}

static void vsockmon_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	if (sset == ETH_SS_STATS)
		memcpy(data, vsockmon_stat_names, sizeof(vsockmon_stat_names));
}

static void vsockmon_get_ethtool_stats(struct net_device *dev,
				       struct ethtool_stats *estats, u64 *data)
{
	struct vsockmon *vsockmon = netdev_priv(dev);
	u64 snapshot[VSOCKMON_STAT_COUNT];
	unsigned int start;
	int cpu, i;

	memset(data, 0, sizeof(snapshot));
	for_each_possible_cpu(cpu) {
		const struct vsockmon_pcpu_stats *stats;

		stats = per_cpu_ptr(vsockmon->stats, cpu);
		do {
			start = u64_stats_fetch_begin(&stats->syncp);
			for (i = 0; i < VSOCKMON_STAT_COUNT; i++)
				snapshot[i] = u64_stats_read(&stats->counter[i]);
		} while (u64_stats_fetch_retry(&stats->syncp, start));

		for (i = 0; i < VSOCKMON_STAT_COUNT; i++)
			data[i] += snapshot[i];
	}
}

static const struct ethtool_ops vsockmon_ethtool_ops = {
	.get_drvinfo = vsockmon_get_drvinfo,
	.get_link = vsockmon_get_link,
	.get_sset_count = vsockmon_get_sset_count,
	.get_strings = vsockmon_get_strings,
	.get_ethtool_stats = vsockmon_get_ethtool_stats,
};

static void vsockmon_setup(struct net_device *dev)
{
	dev->type = ARPHRD_VSOCKMON;
	dev->priv_flags |= IFF_NO_QUEUE;

	dev->netdev_ops = &vsockmon_ops;
	dev->ethtool_ops = &vsockmon_ethtool_ops;
	dev->needs_free_netdev = true;

	dev->features = NETIF_F_SG | NETIF_F_FRAGLIST | NETIF_F_HIGHDMA;
	vsockmon_set_lltx(dev);

	dev->flags = IFF_NOARP;

	dev->mtu = VSOCKMON_DEFAULT_MTU;
	dev->min_mtu = VSOCKMON_MIN_MTU;
	dev->max_mtu = VSOCKMON_MAX_MTU;
	vsockmon_lstats_setup(dev);
}

static int vsockmon_validate(struct nlattr *tb[], struct nlattr *data[],
			     struct netlink_ext_ack *extack)
{
	if (!vsockmon_capable()) {
		NL_SET_ERR_MSG(extack,
			       "vsockmon sees all vsock traffic: needs CAP_NET_ADMIN in the initial user namespace");
		return -EPERM;
	}
	return 0;
}

static struct rtnl_link_ops vsockmon_link_ops __read_mostly = {
	.kind		= "vsockmon",
	.priv_size	= sizeof(struct vsockmon),
	.setup		= vsockmon_setup,
	.validate	= vsockmon_validate,
};

static __init int vsockmon_register(void)
{
	return rtnl_link_register(&vsockmon_link_ops);
}

static __exit void vsockmon_unregister(void)
{
	rtnl_link_unregister(&vsockmon_link_ops);
}

module_init(vsockmon_register);
module_exit(vsockmon_unregister);

MODULE_LICENSE("GPL v2");
MODULE_VERSION(VSOCKMON_VERSION);
MODULE_DESCRIPTION("Vsock monitoring device, init-namespace admins only");
MODULE_ALIAS_RTNL_LINK("vsockmon");
