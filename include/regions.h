/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How one tracked mapping [s, e) changes when the range [a, b) is unmapped
 * or re-protected. Pure functions shared by the BPF programs, which apply
 * the plan to their maps, and by the unit tests, which check the plans
 * against a page-by-page model. Needs __u64 from vmlinux.h or linux/types.h.
 */
#ifndef APPSHOT_REGIONS_H
#define APPSHOT_REGIONS_H

#define RG_PAGE_SHIFT 12
#define RG_PAGE_SIZE (1ULL << RG_PAGE_SHIFT)
#define RG_PAGE_ALIGN(x) (((x) + RG_PAGE_SIZE - 1) & ~(RG_PAGE_SIZE - 1))

enum rg_action {
	RG_KEEP, /* no overlap */
	RG_DEL, /* [s, e) lies inside [a, b) */
	RG_TRIM_END, /* keep [s, a) */
	RG_TRIM_START, /* keep [b, e) */
	RG_SPLIT, /* keep [s, a) and [b, e) */
};

static inline enum rg_action rg_carve(__u64 s, __u64 e, __u64 a, __u64 b)
{
	if (s >= e || a >= b || e <= a || s >= b)
		return RG_KEEP;
	if (s >= a && e <= b)
		return RG_DEL;
	if (s < a && e > b)
		return RG_SPLIT;
	if (s < a)
		return RG_TRIM_END;
	return RG_TRIM_START;
}

/*
 * mprotect of [a, b) over [s, e): the mapping becomes up to three pieces.
 * The piece that gets the new protection is [mid_start, mid_end); the pieces
 * before and after, if any, keep the old one. Returns 0 when nothing overlaps.
 */
struct rg_protect_plan {
	__u64 mid_start;
	__u64 mid_end;
	int has_left; /* [s, mid_start) keeps the old protection */
	int has_right; /* [mid_end, e) keeps the old protection */
};

static inline int rg_protect(__u64 s, __u64 e, __u64 a, __u64 b,
			     struct rg_protect_plan *p)
{
	if (rg_carve(s, e, a, b) == RG_KEEP)
		return 0;
	p->mid_start = s > a ? s : a;
	p->mid_end = e < b ? e : b;
	p->has_left = s < p->mid_start;
	p->has_right = e > p->mid_end;
	return 1;
}

/* The file offset, in pages, of address x inside a mapping that starts at s. */
static inline __u64 rg_pgoff_at(__u64 s, __u64 pgoff, __u64 x)
{
	return pgoff + ((x - s) >> RG_PAGE_SHIFT);
}

#endif /* APPSHOT_REGIONS_H */
