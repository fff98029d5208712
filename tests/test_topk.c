/* Space-saving top-K of blocked hosts (core/topk.c) against exact counts. */

#include "unit.h"

#include "beian.h"
#include "topk.h"


typedef struct {
    char      host[32];
    uint64_t  n;
} truth_t;


static beian_top_t *
new_table(uint32_t n, uint64_t seed)
{
    void  *mem = malloc(beian_top_size(n));

    assert_non_null(mem);
    return beian_top_init(mem, n, seed);
}


static const beian_top_entry_t *
find(const beian_top_t *t, const char *host)
{
    uint32_t                  i;
    const beian_top_entry_t  *e;

    for (i = 0; i < t->used; i++) {
        e = beian_top_entry(t, i);
        if (e->host_len == strlen(host)
            && memcmp(e->host, host, e->host_len) == 0)
        {
            return e;
        }
    }

    return NULL;
}


/* The invariants that hold whatever the stream was. */
static void
check(const beian_top_t *t, const truth_t *truth, size_t ntruth)
{
    size_t                    i;
    uint32_t                  k, *idx;
    uint64_t                  sum;
    const beian_top_entry_t  *e, *prev;

    idx = malloc(sizeof(uint32_t) * (t->n + 1));
    assert_non_null(idx);
    assert_int_equal(beian_top_sorted(t, idx), t->used);

    sum = 0;
    prev = NULL;

    for (k = 0; k < t->used; k++) {
        e = beian_top_entry(t, idx[k]);
        sum += e->count;
        assert_true(e->error < e->count);
        if (prev) {
            assert_true(prev->count >= e->count);   /* most frequent first */
        }
        prev = e;
    }

    /* counts add up to the observations: nothing lost, nothing invented */
    assert_int_equal(sum, t->total);

    for (i = 0; i < ntruth; i++) {
        e = find(t, truth[i].host);

        if (e) {
            assert_true(e->count >= truth[i].n);
            assert_true(e->count - e->error <= truth[i].n);
        } else {
            /* absent: it cannot have been frequent */
            assert_true(truth[i].n * t->n <= t->total);
        }
    }

    free(idx);
}


static void
test_exact_below_capacity(void **state)
{
    int           i, j;
    beian_top_t  *t;
    truth_t       truth[10];

    (void) state;

    t = new_table(16, 42);

    for (i = 0; i < 10; i++) {
        snprintf(truth[i].host, sizeof(truth[i].host), "h%d.evil.net", i);
        truth[i].n = (uint64_t) (i * i + 1);
        for (j = 0; j < i * i + 1; j++) {
            beian_top_add(t, truth[i].host, strlen(truth[i].host),
                          "192.0.2.1", 9, 1000 + j);
        }
    }

    assert_int_equal(t->used, 10);

    for (i = 0; i < 10; i++) {
        const beian_top_entry_t  *e = find(t, truth[i].host);

        assert_non_null(e);
        assert_int_equal(e->count, truth[i].n);
        assert_int_equal(e->error, 0);
        assert_int_equal(e->first_seen, 1000);
        assert_int_equal(e->last_seen, 1000 + i * i);
    }

    check(t, truth, 10);
    free(t);
}


/* 10,000 distinct hosts once each, two heavy hitters among them. */
static void
test_heavy_hitters(void **state)
{
    int           i;
    char          host[32];
    beian_top_t  *t;
    truth_t       truth[2] = { { "big.evil.net", 0 }, { "bigger.evil.net", 0 } };

    (void) state;

    t = new_table(64, 7);

    for (i = 0; i < 10000; i++) {
        snprintf(host, sizeof(host), "x%d.scan.example", i);
        beian_top_add(t, host, strlen(host), "198.51.100.7", 12, i);

        if (i % 20 == 0) {
            beian_top_add(t, "big.evil.net", 12, "203.0.113.9", 11, i);
            truth[0].n++;
        }
        if (i % 7 == 0) {
            beian_top_add(t, "bigger.evil.net", 15, "2001:db8::1", 11, i);
            truth[1].n++;
        }
    }

    assert_int_equal(t->used, 64);
    assert_non_null(find(t, "big.evil.net"));
    assert_non_null(find(t, "bigger.evil.net"));
    assert_int_equal(find(t, "bigger.evil.net")->addr_len, 11);
    assert_memory_equal(find(t, "bigger.evil.net")->addr, "2001:db8::1", 11);

    check(t, truth, 2);
    free(t);
}


/* Random streams with a skew, against exact counts. */
static void
test_random_streams(void **state)
{
    int           round, i, k, ndistinct;
    uint64_t      x;
    beian_top_t  *t;
    truth_t      *truth;

    (void) state;

    truth = calloc(500, sizeof(truth_t));
    assert_non_null(truth);

    for (round = 0; round < 40; round++) {
        ndistinct = 5 + round * 12;
        t = new_table(1 + (uint32_t) round % 17, (uint64_t) round);
        memset(truth, 0, 500 * sizeof(truth_t));

        for (i = 0; i < ndistinct; i++) {
            snprintf(truth[i].host, sizeof(truth[i].host), "d%d.r%d", i,
                     round);
        }

        x = 88172645463325252ULL + (uint64_t) round;
        for (i = 0; i < 3000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* skewed: low indices far more often */
            k = (int) ((x % (uint64_t) ndistinct) * (x % 1000) / 1000);
            truth[k].n++;
            beian_top_add(t, truth[k].host, strlen(truth[k].host), "a", 1,
                          i);
        }

        check(t, truth, (size_t) ndistinct);
        free(t);
    }

    free(truth);
}


/* Hosts longer than the bound are cut, not refused; addresses too. */
static void
test_bounds(void **state)
{
    char          host[400], addr[100];
    beian_top_t  *t;

    (void) state;

    memset(host, 'a', sizeof(host));
    memset(addr, '1', sizeof(addr));

    t = new_table(2, 1);
    beian_top_add(t, host, sizeof(host), addr, sizeof(addr), 5);
    beian_top_add(t, host, BEIAN_TOP_HOST_MAX + 1, addr, 3, 6);

    assert_int_equal(t->used, 1);
    assert_int_equal(beian_top_entry(t, 0)->host_len, BEIAN_TOP_HOST_MAX);
    assert_int_equal(beian_top_entry(t, 0)->count, 2);
    assert_int_equal(beian_top_entry(t, 0)->addr_len, 3);
    free(t);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_below_capacity),
        cmocka_unit_test(test_heavy_hitters),
        cmocka_unit_test(test_random_streams),
        cmocka_unit_test(test_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
