/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter.h - the vsockdump capture filter language, compiled to classic BPF.
 *
 *   expr      := term { ("or" | "||") term }
 *   term      := factor { ("and" | "&&") factor }
 *   factor    := ("not" | "!") factor | "(" expr ")" | primitive
 *   primitive := [src|dst] cid (NUMBER | host | local | hypervisor)
 *              | [src|dst] port NUMBER
 *              | op (request | response | rst | shutdown | rw
 *                    | credit_update | credit_request)
 *              | type (stream | seqpacket)
 *
 * cid/port read the 32-byte vsockmon header (always present); op/type read
 * the virtio header and are false for a frame that has none.
 */
#ifndef VSOCKDUMP_FILTER_H
#define VSOCKDUMP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <pcap/bpf.h>

/* Room for one error line; it names the offending token. */
#define FILTER_ERR_LEN 256

/*
 * The longest program accepted: what Linux attaches to a socket
 * (BPF_MAXINSNS of <linux/bpf_common.h>). libpcap would take a longer one
 * and filter in user space, but only after warning on stderr, which
 * Wireshark reports as an extcap error, and on the bytes left after the
 * snaplen cut (op/type terms fail with a snaplen under 76).
 */
#define FILTER_MAX_INSNS 4096

/*
 * Compile @text into @prog (bf_insns malloc()ed; free with
 * filter_free()). The accepting return value is @snaplen, so the kernel
 * truncates matching frames. An empty or blank @text accepts everything.
 * Returns 0, or -1 with a one-line message in @err.
 */
int filter_compile(const char *text, unsigned int snaplen,
		   struct bpf_program *prog, char err[FILTER_ERR_LEN]);

void filter_free(struct bpf_program *prog);

/* @text is no filter at all: empty or only white space. */
bool filter_is_blank(const char *text);

#endif /* VSOCKDUMP_FILTER_H */
