// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests: the plans of include/regions.h. A set of mappings is kept the
 * way the BPF programs keep it (carve, then insert; protect in pieces) and,
 * after every one of thousands of random mmap, munmap and mprotect calls,
 * compared page by page with a plain model: same pages mapped, same
 * protection, same file offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include <cmocka.h>

#include "regions.h"

#define PAGES 96 /* a small address space: collisions are the point */
#define MAXR 256

struct rg {
	__u64 s, e, pgoff;
	int prot, file, used;
};

struct page {
	int mapped, prot, file;
	__u64 pgoff;
};

static struct rg rgs[MAXR];
static struct page model[PAGES];

static __u64 A(int page)
{
	return 0x10000000ULL + (__u64)page * RG_PAGE_SIZE;
}

static void insert(__u64 s, __u64 e, __u64 pgoff, int prot, int file)
{
	for (int i = 0; i < MAXR; i++)
		if (!rgs[i].used) {
			rgs[i] = (struct rg){ s, e, pgoff, prot, file, 1 };
			return;
		}
	fail_msg("too many regions");
}

/* As carve_cb does: delete, trim, move or split each overlapping region. */
static void carve(__u64 a, __u64 b)
{
	struct rg split = { 0 };
	int has_split = 0;

	for (int i = 0; i < MAXR; i++) {
		struct rg *r = &rgs[i];

		if (!r->used)
			continue;
		switch (rg_carve(r->s, r->e, a, b)) {
		case RG_KEEP:
			break;
		case RG_DEL:
			r->used = 0;
			break;
		case RG_TRIM_END:
			r->e = a;
			break;
		case RG_TRIM_START:
			r->pgoff = rg_pgoff_at(r->s, r->pgoff, b);
			r->s = b;
			break;
		case RG_SPLIT:
			assert_false(has_split); /* only one mapping can hold [a, b) inside */
			split = *r;
			split.pgoff = rg_pgoff_at(r->s, r->pgoff, b);
			split.s = b;
			has_split = 1;
			r->e = a;
			break;
		}
	}
	if (has_split)
		insert(split.s, split.e, split.pgoff, split.prot, split.file);
}

static void protect(__u64 a, __u64 b, int prot)
{
	struct rg pend[2];
	int npend = 0;

	for (int i = 0; i < MAXR; i++) {
		struct rg *r = &rgs[i], old;
		struct rg_protect_plan p;

		if (!r->used || !rg_protect(r->s, r->e, a, b, &p))
			continue;
		old = *r;
		if (p.has_left) {
			r->e = p.mid_start;
			assert_true(npend < 2);
			pend[npend++] = (struct rg){ p.mid_start, p.mid_end,
						    rg_pgoff_at(old.s, old.pgoff, p.mid_start), prot,
						    old.file, 1 };
		} else {
			r->prot = prot;
			r->e = p.mid_end;
		}
		if (p.has_right) {
			assert_true(npend < 2);
			pend[npend++] = (struct rg){ p.mid_end, old.e,
						    rg_pgoff_at(old.s, old.pgoff, p.mid_end), old.prot,
						    old.file, 1 };
		}
	}
	for (int i = 0; i < npend; i++)
		insert(pend[i].s, pend[i].e, pend[i].pgoff, pend[i].prot, pend[i].file);
}

static void compare(void)
{
	struct page seen[PAGES];

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < MAXR; i++) {
		if (!rgs[i].used)
			continue;
		assert_true(rgs[i].s < rgs[i].e);
		for (__u64 x = rgs[i].s; x < rgs[i].e; x += RG_PAGE_SIZE) {
			int pg = (x - A(0)) / RG_PAGE_SIZE;

			assert_true(pg >= 0 && pg < PAGES);
			assert_false(seen[pg].mapped); /* no two regions on one page */
			seen[pg] = (struct page){ 1, rgs[i].prot, rgs[i].file,
						  rg_pgoff_at(rgs[i].s, rgs[i].pgoff, x) };
		}
	}
	for (int pg = 0; pg < PAGES; pg++) {
		assert_int_equal(seen[pg].mapped, model[pg].mapped);
		if (!model[pg].mapped)
			continue;
		assert_int_equal(seen[pg].prot, model[pg].prot);
		assert_int_equal(seen[pg].file, model[pg].file);
		if (model[pg].file)
			assert_int_equal(seen[pg].pgoff, model[pg].pgoff);
	}
}

static void test_random_operations(void **state)
{
	(void)state;
	srand(12345);
	memset(rgs, 0, sizeof(rgs));
	memset(model, 0, sizeof(model));
	for (int step = 0; step < 20000; step++) {
		int op = rand() % 3, s = rand() % PAGES, n = 1 + rand() % 12, prot = rand() % 8;
		int e = s + n > PAGES ? PAGES : s + n, file = rand() % 4, off = rand() % 64;

		switch (op) {
		case 0: /* mmap MAP_FIXED: what was there goes, the new mapping comes */
			carve(A(s), A(e));
			insert(A(s), A(e), file ? off : 0, prot, file);
			for (int p = s; p < e; p++)
				model[p] = (struct page){ 1, prot, file, file ? off + (p - s) : 0 };
			break;
		case 1: /* munmap */
			carve(A(s), A(e));
			for (int p = s; p < e; p++)
				model[p].mapped = 0;
			break;
		case 2: /* mprotect */
			protect(A(s), A(e), prot);
			for (int p = s; p < e; p++)
				if (model[p].mapped)
					model[p].prot = prot;
			break;
		}
		compare();
	}
}

static void test_plans(void **state)
{
	struct rg_protect_plan p;

	(void)state;
	/* carve: every way [a, b) can meet [s, e) */
	assert_int_equal(rg_carve(10, 20, 0, 10), RG_KEEP);
	assert_int_equal(rg_carve(10, 20, 20, 30), RG_KEEP);
	assert_int_equal(rg_carve(10, 20, 10, 20), RG_DEL);
	assert_int_equal(rg_carve(10, 20, 0, 30), RG_DEL);
	assert_int_equal(rg_carve(10, 20, 15, 30), RG_TRIM_END);
	assert_int_equal(rg_carve(10, 20, 0, 15), RG_TRIM_START);
	assert_int_equal(rg_carve(10, 20, 12, 18), RG_SPLIT);
	assert_int_equal(rg_carve(10, 20, 15, 15), RG_KEEP); /* empty range */
	assert_int_equal(rg_carve(0, 0, 0, 10), RG_KEEP); /* empty slot */
	/* protect */
	assert_int_equal(rg_protect(10, 20, 0, 10, &p), 0);
	assert_int_equal(rg_protect(10, 20, 12, 18, &p), 1);
	assert_true(p.mid_start == 12 && p.mid_end == 18 && p.has_left && p.has_right);
	assert_int_equal(rg_protect(10, 20, 0, 30, &p), 1);
	assert_true(p.mid_start == 10 && p.mid_end == 20 && !p.has_left && !p.has_right);
	assert_int_equal(rg_protect(10, 20, 15, 30, &p), 1);
	assert_true(p.mid_start == 15 && p.mid_end == 20 && p.has_left && !p.has_right);
	/* pgoff follows the address inside a file mapping */
	assert_int_equal(rg_pgoff_at(A(4), 7, A(9)), 12);
	assert_int_equal(RG_PAGE_ALIGN(1), RG_PAGE_SIZE);
	assert_int_equal(RG_PAGE_ALIGN(RG_PAGE_SIZE), RG_PAGE_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plans),
		cmocka_unit_test(test_random_operations),
	};

	return cmocka_run_group_tests_name("regions", tests, NULL, NULL);
}
