// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * filter.c - vsockdump's capture filter: a lexer, a recursive-descent
 * parser into a small tree, and a code generator for classic BPF.
 *
 * Why our own language: libpcap knows no vsock fields, so "port 1234"
 * in pcap syntax would be compiled against Ethernet offsets. vsockmon
 * frames carry little-endian fields while cBPF loads are big-endian, so
 * every constant is byte-swapped before it is compared.
 *
 * Code generation uses the usual "jump to true/false label" scheme: a
 * node is compiled with the labels its outcome jumps to. All jumps are
 * forward; a conditional jump whose target is further than 255
 * instructions is rewritten into a short jump over two "ja"s.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon_wire.h>

#include "filter.h"

/* ---------------------------------------------------------------- lexer */

enum tok_kind {
	TOK_END,
	TOK_WORD,	/* keyword */
	TOK_NUM,	/* starts with a digit */
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_AND,	/* && */
	TOK_OR,		/* || */
	TOK_NOT,	/* !  */
	TOK_BAD,	/* any other character (a whole UTF-8 sequence) */
};

struct token {
	enum tok_kind kind;
	const char *start;
	size_t len;
};

/*
 * How deep 'not' and parentheses may nest. The parser and the code
 * generator recurse once per level: without a bound, a long enough filter
 * (one command-line argument holds 128 KiB) overflows the stack.
 */
#define FILTER_MAX_NESTING 64

struct parser {
	const char *text;
	const char *pos;	/* lexer position after the current token */
	struct token tok;	/* current (lookahead) token */
	char *err;
	bool failed;
	unsigned int depth;	/* 'not' and '(' levels open around the current token */
};

/* A UTF-8 continuation byte (10xxxxxx): never the first byte of a character. */
static bool is_utf8_continuation(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/*
 * Length of the unknown character at @s: the whole UTF-8 sequence, so an
 * error quotes "∧" or "≥" rather than a lone lead byte (invalid UTF-8 in
 * the one line Wireshark shows under its capture filter field).
 */
static size_t bad_char_len(const char *s)
{
	size_t len = 1;

	if ((unsigned char)s[0] < 0xC0)
		return 1;	/* ASCII, or a stray continuation byte */
	while (len < 4 && is_utf8_continuation((unsigned char)s[len]))
		len++;
	return len;
}

static void lex_next(struct parser *p)
{
	const char *s = p->pos;

	while (isspace((unsigned char)*s))
		s++;
	p->tok.start = s;
	p->tok.len = 1;
	if (*s == '\0') {
		p->tok.kind = TOK_END;
		p->tok.len = 0;
	} else if (isalpha((unsigned char)*s) || *s == '_') {
		const char *e = s;

		while (isalnum((unsigned char)*e) || *e == '_')
			e++;
		p->tok.kind = TOK_WORD;
		p->tok.len = e - s;
	} else if (isdigit((unsigned char)*s)) {
		const char *e = s;

		/* take the whole alnum run so "12ab" is reported as one token */
		while (isalnum((unsigned char)*e))
			e++;
		p->tok.kind = TOK_NUM;
		p->tok.len = e - s;
	} else if (*s == '(') {
		p->tok.kind = TOK_LPAREN;
	} else if (*s == ')') {
		p->tok.kind = TOK_RPAREN;
	} else if (s[0] == '&' && s[1] == '&') {
		p->tok.kind = TOK_AND;
		p->tok.len = 2;
	} else if (s[0] == '|' && s[1] == '|') {
		p->tok.kind = TOK_OR;
		p->tok.len = 2;
	} else if (*s == '!') {
		p->tok.kind = TOK_NOT;
	} else {
		p->tok.kind = TOK_BAD;
		p->tok.len = bad_char_len(s);
	}
	p->pos = s + p->tok.len;
}

static bool tok_is(const struct parser *p, const char *word)
{
	return p->tok.kind == TOK_WORD && strlen(word) == p->tok.len &&
	       strncmp(p->tok.start, word, p->tok.len) == 0;
}

/* Report the current token as the culprit; only the first error counts. */
static void syntax_error(struct parser *p, const char *expected)
{
	if (p->failed)
		return;
	p->failed = true;
	if (p->tok.kind == TOK_END)
		snprintf(p->err, FILTER_ERR_LEN,
			 "filter: unexpected end of filter, expected %s",
			 expected);
	else
		snprintf(p->err, FILTER_ERR_LEN,
			 "filter: unexpected '%.*s' at column %zu, expected %s",
			 (int)(p->tok.len > 40 ? 40 : p->tok.len),
			 p->tok.start, (size_t)(p->tok.start - p->text) + 1,
			 expected);
}

/* ----------------------------------------------------------------- tree */

enum node_kind { N_AND, N_OR, N_NOT, N_CID, N_PORT, N_OP, N_TYPE };
enum direction { DIR_ANY, DIR_SRC, DIR_DST };

struct node {
	enum node_kind kind;
	enum direction dir;
	uint64_t value;		/* CID, port, virtio op or virtio type */
	struct node *left, *right;	/* right unused by N_NOT */
};

static struct node *node_new(struct parser *p, enum node_kind kind)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n && !p->failed) {
		p->failed = true;
		snprintf(p->err, FILTER_ERR_LEN, "filter: out of memory");
	}
	if (n)
		n->kind = kind;
	return n;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	node_free(n->left);
	node_free(n->right);
	free(n);
}

struct keyword_value {
	const char *word;
	uint64_t value;
};

static const struct keyword_value cid_names[] = {
	{ "hypervisor", VSOCK_CID_HYPERVISOR },
	{ "local", VSOCK_CID_LOCAL },
	{ "host", VSOCK_CID_HOST },
	{ NULL, 0 }
};

static const struct keyword_value op_names[] = {
	{ "request", VIRTIO_VSOCK_OP_REQUEST },
	{ "response", VIRTIO_VSOCK_OP_RESPONSE },
	{ "rst", VIRTIO_VSOCK_OP_RST },
	{ "shutdown", VIRTIO_VSOCK_OP_SHUTDOWN },
	{ "rw", VIRTIO_VSOCK_OP_RW },
	{ "credit_update", VIRTIO_VSOCK_OP_CREDIT_UPDATE },
	{ "credit_request", VIRTIO_VSOCK_OP_CREDIT_REQUEST },
	{ NULL, 0 }
};

static const struct keyword_value type_names[] = {
	{ "stream", VIRTIO_VSOCK_TYPE_STREAM },
	{ "seqpacket", VIRTIO_VSOCK_TYPE_SEQPACKET },
	{ NULL, 0 }
};

static bool match_keyword(struct parser *p, const struct keyword_value *table,
			  uint64_t *value)
{
	for (; table->word; table++) {
		if (tok_is(p, table->word)) {
			*value = table->value;
			lex_next(p);
			return true;
		}
	}
	return false;
}

/* Only digits of @base, at least one: strtoull alone would take signs, spaces, a second 0x. */
static bool all_digits(const char *s, int base)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (base == 16 ? !isxdigit((unsigned char)*s) : !isdigit((unsigned char)*s))
			return false;
	return true;
}

/*
 * Decimal or 0x-hex, at most @max; consumes the token on success. A leading
 * zero is still decimal: "port 01024" means 1024, not octal 532.
 */
static bool parse_number(struct parser *p, uint64_t max, uint64_t *value)
{
	char buf[32];
	const char *digits = buf;
	int base = 10;
	char *end;
	unsigned long long v;

	if (p->tok.kind != TOK_NUM || p->tok.len >= sizeof(buf))
		return false;
	memcpy(buf, p->tok.start, p->tok.len);
	buf[p->tok.len] = '\0';
	if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
		base = 16;
		digits = buf + 2;
	}
	if (!all_digits(digits, base))
		return false;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno || *end != '\0' || v > max)
		return false;
	*value = v;
	lex_next(p);
	return true;
}

static struct node *parse_expr(struct parser *p);

static struct node *parse_primitive(struct parser *p)
{
	enum direction dir = DIR_ANY;
	struct node *n;

	if (tok_is(p, "src") || tok_is(p, "dst")) {
		dir = tok_is(p, "src") ? DIR_SRC : DIR_DST;
		lex_next(p);
		if (!tok_is(p, "cid") && !tok_is(p, "port")) {
			syntax_error(p, "'cid' or 'port' after src/dst");
			return NULL;
		}
	}

	if (tok_is(p, "cid")) {
		n = node_new(p, N_CID);
		if (!n)
			return NULL;
		n->dir = dir;
		lex_next(p);
		if (!match_keyword(p, cid_names, &n->value) &&
		    !parse_number(p, UINT64_MAX, &n->value))
			syntax_error(p, "a CID (0..18446744073709551615, host, local or hypervisor)");
	} else if (tok_is(p, "port")) {
		n = node_new(p, N_PORT);
		if (!n)
			return NULL;
		n->dir = dir;
		lex_next(p);
		if (!parse_number(p, UINT32_MAX, &n->value))
			syntax_error(p, "a port number (0..4294967295)");
	} else if (tok_is(p, "op")) {
		n = node_new(p, N_OP);
		if (!n)
			return NULL;
		lex_next(p);
		if (!match_keyword(p, op_names, &n->value))
			syntax_error(p, "request, response, rst, shutdown, rw, credit_update or credit_request");
	} else if (tok_is(p, "type")) {
		n = node_new(p, N_TYPE);
		if (!n)
			return NULL;
		lex_next(p);
		if (!match_keyword(p, type_names, &n->value))
			syntax_error(p, "stream or seqpacket");
	} else {
		syntax_error(p, "cid, port, op, type, not or '('");
		return NULL;
	}
	return n;
}

static struct node *parse_factor(struct parser *p);

/* 'not' FACTOR or ( EXPR ): the two ways a filter nests. */
static struct node *parse_nested(struct parser *p)
{
	struct node *n;

	if (tok_is(p, "not") || p->tok.kind == TOK_NOT) {
		lex_next(p);
		n = node_new(p, N_NOT);
		if (n)
			n->left = parse_factor(p);
		return n;
	}
	if (p->tok.kind == TOK_LPAREN) {
		lex_next(p);
		n = parse_expr(p);
		if (p->tok.kind != TOK_RPAREN)
			syntax_error(p, "')'");
		else
			lex_next(p);
		return n;
	}
	return NULL;
}

static struct node *parse_factor(struct parser *p)
{
	struct node *n;

	if (!tok_is(p, "not") && p->tok.kind != TOK_NOT && p->tok.kind != TOK_LPAREN)
		return parse_primitive(p);
	if (p->depth == FILTER_MAX_NESTING) {
		if (!p->failed)
			snprintf(p->err, FILTER_ERR_LEN,
				 "filter: '%.*s' at column %zu nests 'not' and parentheses deeper than %d levels; "
				 "remove redundant ones ('not not X' is X, '((X))' is X)",
				 (int)p->tok.len, p->tok.start, (size_t)(p->tok.start - p->text) + 1,
				 FILTER_MAX_NESTING);
		p->failed = true;
		return NULL;
	}
	p->depth++;
	n = parse_nested(p);
	p->depth--;
	return n;
}

/* Left-associative chain of one binary operator. */
static struct node *parse_chain(struct parser *p, enum node_kind kind,
				struct node *(*operand)(struct parser *))
{
	const char *word = kind == N_AND ? "and" : "or";
	enum tok_kind symbol = kind == N_AND ? TOK_AND : TOK_OR;
	struct node *left = operand(p);

	while (!p->failed && (tok_is(p, word) || p->tok.kind == symbol)) {
		struct node *n = node_new(p, kind);

		lex_next(p);
		if (!n)
			break;
		n->left = left;
		n->right = operand(p);
		left = n;
	}
	return left;
}

static struct node *parse_term(struct parser *p)
{
	return parse_chain(p, N_AND, parse_factor);
}

static struct node *parse_expr(struct parser *p)
{
	return parse_chain(p, N_OR, parse_term);
}

/* ------------------------------------------------------------- codegen */

#define LABEL_NEXT (-1)	/* fall through to the next instruction */

struct sym_insn {
	uint16_t code;
	uint32_t k;
	int jt, jf;		/* labels, for conditional jumps */
	bool far;		/* expanded into jcond + 2 x ja */
};

struct codegen {
	struct sym_insn *insns;
	size_t n_insns, cap_insns;
	size_t *label_at;	/* label -> index into insns */
	size_t n_labels, cap_labels;
	bool nomem;
};

static bool is_cond_jump(uint16_t code)
{
	return BPF_CLASS(code) == BPF_JMP && BPF_OP(code) != BPF_JA;
}

static void *grow(void *array, size_t *cap, size_t elem, bool *nomem)
{
	size_t new_cap = *cap ? *cap * 2 : 64;
	void *p = realloc(array, new_cap * elem);

	if (!p) {
		*nomem = true;
		return array;
	}
	*cap = new_cap;
	return p;
}

static void emit(struct codegen *cg, uint16_t code, uint32_t k, int jt, int jf)
{
	if (cg->n_insns == cg->cap_insns)
		cg->insns = grow(cg->insns, &cg->cap_insns, sizeof(*cg->insns),
				 &cg->nomem);
	if (cg->n_insns == cg->cap_insns)
		return;
	cg->insns[cg->n_insns++] = (struct sym_insn){
		.code = code, .k = k, .jt = jt, .jf = jf,
	};
}

static int new_label(struct codegen *cg)
{
	if (cg->n_labels == cg->cap_labels)
		cg->label_at = grow(cg->label_at, &cg->cap_labels,
				    sizeof(*cg->label_at), &cg->nomem);
	if (cg->n_labels == cg->cap_labels)
		return 0;
	cg->label_at[cg->n_labels] = SIZE_MAX;
	return (int)cg->n_labels++;
}

static void place_label(struct codegen *cg, int label)
{
	if (!cg->nomem)
		cg->label_at[label] = cg->n_insns;
}

static uint32_t le_word_as_loaded(uint32_t v)
{
	return __builtin_bswap32(v);
}

static uint32_t le_half_as_loaded(uint16_t v)
{
	return __builtin_bswap16(v);
}

/* A frame shorter than @bytes makes the primitive false, not the program. */
static void emit_length_guard(struct codegen *cg, uint32_t bytes, int f)
{
	emit(cg, BPF_LD | BPF_W | BPF_LEN, 0, 0, 0);
	emit(cg, BPF_JMP | BPF_JGE | BPF_K, bytes, LABEL_NEXT, f);
}

static void emit_cid_at(struct codegen *cg, uint32_t off, uint64_t cid,
			int t, int f)
{
	emit_length_guard(cg, VSOCKMON_HDR_LEN, f);
	/* a __le64 is its low 32-bit word first, then the high one */
	emit(cg, BPF_LD | BPF_W | BPF_ABS, off, 0, 0);
	emit(cg, BPF_JMP | BPF_JEQ | BPF_K,
	     le_word_as_loaded((uint32_t)cid), LABEL_NEXT, f);
	emit(cg, BPF_LD | BPF_W | BPF_ABS, off + 4, 0, 0);
	emit(cg, BPF_JMP | BPF_JEQ | BPF_K,
	     le_word_as_loaded((uint32_t)(cid >> 32)), t, f);
}

static void emit_port_at(struct codegen *cg, uint32_t off, uint32_t port,
			 int t, int f)
{
	emit_length_guard(cg, VSOCKMON_HDR_LEN, f);
	emit(cg, BPF_LD | BPF_W | BPF_ABS, off, 0, 0);
	emit(cg, BPF_JMP | BPF_JEQ | BPF_K, le_word_as_loaded(port), t, f);
}

/*
 * True only when a whole virtio header is present: transport == VIRTIO,
 * af_vsockmon_hdr.len >= 44 and the frame holds 32 + 44 bytes.
 */
static void emit_virtio_guard(struct codegen *cg, int f)
{
	int len_ok = new_label(cg);

	emit_length_guard(cg, VSOCKMON_HDR_LEN + VIRTIO_VSOCK_HDR_LEN, f);
	emit(cg, BPF_LD | BPF_H | BPF_ABS, VSOCKMON_OFF_TRANSPORT, 0, 0);
	emit(cg, BPF_JMP | BPF_JEQ | BPF_K,
	     le_half_as_loaded(AF_VSOCK_TRANSPORT_VIRTIO), LABEL_NEXT, f);
	/* hdr.len is __le16: a non-zero high byte already means >= 256 */
	emit(cg, BPF_LD | BPF_B | BPF_ABS, VSOCKMON_OFF_LEN + 1, 0, 0);
	emit(cg, BPF_JMP | BPF_JEQ | BPF_K, 0, LABEL_NEXT, len_ok);
	emit(cg, BPF_LD | BPF_B | BPF_ABS, VSOCKMON_OFF_LEN, 0, 0);
	emit(cg, BPF_JMP | BPF_JGE | BPF_K, VIRTIO_VSOCK_HDR_LEN, LABEL_NEXT, f);
	place_label(cg, len_ok);
}

static void emit_virtio_half(struct codegen *cg, uint32_t field_off,
			     uint16_t value, int t, int f)
{
	emit_virtio_guard(cg, f);
	emit(cg, BPF_LD | BPF_H | BPF_ABS, VSOCKMON_FRAME_VIRTIO_OFF(field_off),
	     0, 0);
	emit(cg, BPF_JMP | BPF_JEQ | BPF_K, le_half_as_loaded(value), t, f);
}

static void gen_node(struct codegen *cg, const struct node *n, int t, int f);

/* "cid N" / "port N" without direction: source or destination. */
static void gen_either(struct codegen *cg, const struct node *n,
		       uint32_t src_off, uint32_t dst_off, int t, int f,
		       void (*one)(struct codegen *, uint32_t, uint64_t, int, int))
{
	int try_dst;

	switch (n->dir) {
	case DIR_SRC:
		one(cg, src_off, n->value, t, f);
		break;
	case DIR_DST:
		one(cg, dst_off, n->value, t, f);
		break;
	case DIR_ANY:
		try_dst = new_label(cg);
		one(cg, src_off, n->value, t, try_dst);
		place_label(cg, try_dst);
		one(cg, dst_off, n->value, t, f);
		break;
	}
}

static void emit_port_u64(struct codegen *cg, uint32_t off, uint64_t port,
			  int t, int f)
{
	emit_port_at(cg, off, (uint32_t)port, t, f);
}

static void gen_node(struct codegen *cg, const struct node *n, int t, int f)
{
	int mid;

	switch (n->kind) {
	case N_AND:
		mid = new_label(cg);
		gen_node(cg, n->left, mid, f);
		place_label(cg, mid);
		gen_node(cg, n->right, t, f);
		break;
	case N_OR:
		mid = new_label(cg);
		gen_node(cg, n->left, t, mid);
		place_label(cg, mid);
		gen_node(cg, n->right, t, f);
		break;
	case N_NOT:
		gen_node(cg, n->left, f, t);
		break;
	case N_CID:
		gen_either(cg, n, VSOCKMON_OFF_SRC_CID, VSOCKMON_OFF_DST_CID,
			   t, f, emit_cid_at);
		break;
	case N_PORT:
		gen_either(cg, n, VSOCKMON_OFF_SRC_PORT, VSOCKMON_OFF_DST_PORT,
			   t, f, emit_port_u64);
		break;
	case N_OP:
		emit_virtio_half(cg, VIRTIO_VSOCK_OFF_OP, (uint16_t)n->value, t, f);
		break;
	case N_TYPE:
		emit_virtio_half(cg, VIRTIO_VSOCK_OFF_TYPE, (uint16_t)n->value, t, f);
		break;
	}
}

/* ---------------------------------------------------------------- layout */

static size_t insn_size(const struct sym_insn *in)
{
	return in->far ? 3 : 1;
}

/* Index in the sym array that a label (or LABEL_NEXT from @i) refers to. */
static size_t target_index(const struct codegen *cg, size_t i, int label)
{
	return label == LABEL_NEXT ? i + 1 : cg->label_at[label];
}

/* pos[i] = final position of sym insn i; pos[n] = end. */
static void compute_positions(const struct codegen *cg, size_t *pos)
{
	size_t i, at = 0;

	for (i = 0; i < cg->n_insns; i++) {
		pos[i] = at;
		at += insn_size(&cg->insns[i]);
	}
	pos[cg->n_insns] = at;
}

/* Mark too-long conditional jumps as far until nothing changes. */
static void relax_far_jumps(struct codegen *cg, size_t *pos)
{
	bool changed = true;

	while (changed) {
		changed = false;
		compute_positions(cg, pos);
		for (size_t i = 0; i < cg->n_insns; i++) {
			struct sym_insn *in = &cg->insns[i];
			size_t base = pos[i] + 1;

			if (!is_cond_jump(in->code) || in->far)
				continue;
			if (pos[target_index(cg, i, in->jt)] - base > 255 ||
			    pos[target_index(cg, i, in->jf)] - base > 255) {
				in->far = true;
				changed = true;
			}
		}
	}
}

static struct bpf_insn make_insn(uint16_t code, uint8_t jt, uint8_t jf,
				 uint32_t k)
{
	struct bpf_insn insn = { .code = code, .jt = jt, .jf = jf, .k = k };

	return insn;
}

static void emit_final(const struct codegen *cg, const size_t *pos,
		       struct bpf_insn *out)
{
	for (size_t i = 0; i < cg->n_insns; i++) {
		const struct sym_insn *in = &cg->insns[i];
		struct bpf_insn *o = out + pos[i];

		if (!is_cond_jump(in->code)) {
			*o = make_insn(in->code, 0, 0, in->k);
			continue;
		}
		size_t t = pos[target_index(cg, i, in->jt)];
		size_t f = pos[target_index(cg, i, in->jf)];

		if (!in->far) {
			*o = make_insn(in->code, (uint8_t)(t - pos[i] - 1),
				       (uint8_t)(f - pos[i] - 1), in->k);
			continue;
		}
		/* jcond -> o[1] (ja t) when true, o[2] (ja f) when false */
		o[0] = make_insn(in->code, 0, 1, in->k);
		o[1] = make_insn(BPF_JMP | BPF_JA, 0, 0, (uint32_t)(t - pos[i] - 2));
		o[2] = make_insn(BPF_JMP | BPF_JA, 0, 0, (uint32_t)(f - pos[i] - 3));
	}
}

static int assemble(struct codegen *cg, struct bpf_program *prog)
{
	size_t *pos = calloc(cg->n_insns + 1, sizeof(*pos));

	if (!pos)
		return -1;
	relax_far_jumps(cg, pos);
	prog->bf_len = (unsigned int)pos[cg->n_insns];
	prog->bf_insns = calloc(prog->bf_len, sizeof(*prog->bf_insns));
	if (!prog->bf_insns) {
		free(pos);
		return -1;
	}
	emit_final(cg, pos, prog->bf_insns);
	free(pos);
	return 0;
}

/* ------------------------------------------------------------------ API */

bool filter_is_blank(const char *text)
{
	while (*text && isspace((unsigned char)*text))
		text++;
	return *text == '\0';
}

static struct node *parse_all(const char *text, char *err)
{
	struct parser p = { .text = text, .pos = text, .err = err };
	struct node *root;

	lex_next(&p);
	root = parse_expr(&p);
	if (!p.failed && p.tok.kind != TOK_END)
		syntax_error(&p, "'and', 'or' or end of filter");
	if (p.failed) {
		node_free(root);
		return NULL;
	}
	return root;
}

static void too_long(struct bpf_program *prog, char *err)
{
	snprintf(err, FILTER_ERR_LEN,
		 "filter: compiles to %u BPF instructions, the kernel takes at most %d; "
		 "use fewer terms (a 'cid N' costs about 16) and narrow the capture "
		 "with a display filter instead",
		 prog->bf_len, FILTER_MAX_INSNS);
	filter_free(prog);
}

int filter_compile(const char *text, unsigned int snaplen,
		   struct bpf_program *prog, char err[FILTER_ERR_LEN])
{
	struct codegen cg = { 0 };
	struct node *root = NULL;
	int accept, reject, ret = -1;

	prog->bf_len = 0;
	prog->bf_insns = NULL;
	err[0] = '\0';
	if (text && !filter_is_blank(text)) {
		root = parse_all(text, err);
		if (!root)
			return -1;
	}

	accept = new_label(&cg);
	reject = new_label(&cg);
	if (root)
		gen_node(&cg, root, accept, reject);
	place_label(&cg, accept);
	emit(&cg, BPF_RET | BPF_K, snaplen, 0, 0);
	place_label(&cg, reject);
	emit(&cg, BPF_RET | BPF_K, 0, 0, 0);

	if (cg.nomem || assemble(&cg, prog) < 0)
		snprintf(err, FILTER_ERR_LEN, "filter: out of memory");
	else if (prog->bf_len > FILTER_MAX_INSNS)
		too_long(prog, err);
	else
		ret = 0;
	node_free(root);
	free(cg.insns);
	free(cg.label_at);
	return ret;
}

void filter_free(struct bpf_program *prog)
{
	free(prog->bf_insns);
	prog->bf_insns = NULL;
	prog->bf_len = 0;
}
