/*
 * mcshim nftables counters: one NFT_MSG_GETRULE dump of a chain, each rule's counter by its comment.
 */
#define _GNU_SOURCE
#include "mcshim_internal.h"

#include <errno.h>
#include <string.h>
#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#define NLA_OK_(a, rem) ((rem) >= (int)sizeof(struct nlattr) && (a)->nla_len >= sizeof(struct nlattr) && (int)(a)->nla_len <= (rem))
#define NLA_NEXT_(a, rem) ((rem) -= NLA_ALIGN((a)->nla_len), (struct nlattr *)((char *)(a) + NLA_ALIGN((a)->nla_len)))
#define NLA_DATA_(a) ((void *)((char *)(a) + NLA_HDRLEN))
#define NLA_LEN_(a) ((int)(a)->nla_len - NLA_HDRLEN)
#define NLA_TYPE_(a) ((a)->nla_type & NLA_TYPE_MASK)
/* libnftnl's rule userdata: type-length-value records; type 0 is the rule's comment, NUL-terminated. */
#define NFT_UDATA_RULE_COMMENT 0

static void nla_put_str(char *buf, size_t *off, uint16_t type, const char *value)
{
	struct nlattr *a = (struct nlattr *)(buf + *off);
	size_t len = strlen(value) + 1;

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(NLA_DATA_(a), value, len);
	*off += NLA_ALIGN(a->nla_len);
}

/* Within one NFTA_LIST_ELEM: the counter expression's packets and bytes. */
static int nft_expr_counter(struct nlattr *elem, struct mc_nft_counter *c)
{
	struct nlattr *a, *data = NULL;
	int rem = NLA_LEN_(elem), is_counter = 0;

	for (a = NLA_DATA_(elem); NLA_OK_(a, rem); a = NLA_NEXT_(a, rem)) {
		if (NLA_TYPE_(a) == NFTA_EXPR_NAME)
			is_counter = NLA_LEN_(a) >= 8 && memcmp(NLA_DATA_(a), "counter", 8) == 0;
		else if (NLA_TYPE_(a) == NFTA_EXPR_DATA)
			data = a;
	}
	if (!is_counter || data == NULL)
		return 0;
	rem = NLA_LEN_(data);
	for (a = NLA_DATA_(data); NLA_OK_(a, rem); a = NLA_NEXT_(a, rem)) {
		uint64_t v;

		if (NLA_LEN_(a) != 8)
			continue;
		memcpy(&v, NLA_DATA_(a), 8);
		if (NLA_TYPE_(a) == NFTA_COUNTER_PACKETS)
			c->packets = be64toh(v);
		else if (NLA_TYPE_(a) == NFTA_COUNTER_BYTES)
			c->bytes = be64toh(v);
	}
	return 1;
}

static int nft_rule_comment(struct nlattr *udata, struct mc_nft_counter *c)
{
	const uint8_t *p = NLA_DATA_(udata);
	int rem = NLA_LEN_(udata);

	while (rem >= 2 && p[1] <= rem - 2) {
		if (p[0] == NFT_UDATA_RULE_COMMENT && p[1] > 0) {
			size_t n = strnlen((const char *)p + 2, p[1]);

			if (n >= sizeof(c->comment))
				n = sizeof(c->comment) - 1;
			memcpy(c->comment, p + 2, n);
			c->comment[n] = 0;
			return 1;
		}
		rem -= 2 + p[1];
		p += 2 + p[1];
	}
	return 0;
}

struct nft_ctx {
	struct mc_nft_counter *out;
	int max;
	int count;
};

static void nft_rule_parse(struct nlmsghdr *h, void *ctx)
{
	struct nft_ctx *x = ctx;
	struct nfgenmsg *g = NLMSG_DATA(h);
	int rem = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*g));
	struct mc_nft_counter c;
	int have_counter = 0, have_comment = 0;
	struct nlattr *a;

	memset(&c, 0, sizeof(c));
	for (a = (struct nlattr *)((char *)g + NLMSG_ALIGN(sizeof(*g))); NLA_OK_(a, rem); a = NLA_NEXT_(a, rem)) {
		if (NLA_TYPE_(a) == NFTA_RULE_EXPRESSIONS) {
			struct nlattr *e;
			int erem = NLA_LEN_(a);

			for (e = NLA_DATA_(a); NLA_OK_(e, erem); e = NLA_NEXT_(e, erem))
				if (NLA_TYPE_(e) == NFTA_LIST_ELEM && !have_counter)
					have_counter = nft_expr_counter(e, &c);
		} else if (NLA_TYPE_(a) == NFTA_RULE_USERDATA) {
			have_comment = nft_rule_comment(a, &c);
		}
	}
	if (have_counter && have_comment && x->count < x->max)
		x->out[x->count++] = c;
}

int mc_nft_rule_counters(int fd, int family, const char *table, const char *chain, struct mc_nft_counter *out, int max)
{
	struct {
		struct nlmsghdr n;
		struct nfgenmsg g;
		char attrs[2 * (NLA_HDRLEN + 256)];
	} req;
	struct nft_ctx ctx = { .out = out, .max = max };
	size_t off = 0;
	int err;

	if (strlen(table) > 255 || strlen(chain) > 255)
		return fail(EINVAL, "nftables table or chain name too long");
	memset(&req, 0, sizeof(req));
	req.n.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE;
	req.g.nfgen_family = (uint8_t)family;
	req.g.version = NFNETLINK_V0;
	/* The kernel filters the dump to this table and chain. */
	nla_put_str(req.attrs, &off, NFTA_RULE_TABLE, table);
	nla_put_str(req.attrs, &off, NFTA_RULE_CHAIN, chain);
	req.n.nlmsg_len = (uint32_t)(NLMSG_LENGTH(sizeof(req.g)) + off);
	err = nl_dump(fd, &req.n, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE, "NFT_MSG_GETRULE", nft_rule_parse, &ctx);
	return err ? err : ctx.count;
}
