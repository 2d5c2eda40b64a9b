/*
 * Per-call cost of reading the current data access through the C ABI, from C.
 *
 * Usage: bench BASE_URL [CALLS]
 * BASE_URL is a himsa-sandbox on the loopback interface (only loopback URLs are accepted).
 * The program asks for Basic access once, warms up, then times CALLS calls (default
 * 10000) of each form, himsa_conn_current_access and himsa_conn_current_access_json, in
 * interleaved rounds. It prints `key<TAB>value` lines: medians and 99th percentiles in
 * nanoseconds and the peak resident memory in KiB. Every loop is bounded in count and time.
 */
#define _POSIX_C_SOURCE 200809L

#include <himsa_conn.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *TENANT = "3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14";
static const char *TOKEN = "sandbox-token";

enum { ROUND = 250, WARM_UP = 500 };
static const double TIME_LIMIT_S = 60.0;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(const char *what, HimsaStatus status) {
    fprintf(stderr, "bench: %s failed with %u: %s\n", what, (unsigned)status,
            himsa_last_error_message());
    exit(1);
}

static int is_loopback(const char *url) {
    return strncmp(url, "http://127.", 11) == 0 || strncmp(url, "http://[::1]", 12) == 0 ||
           strncmp(url, "http://localhost", 16) == 0;
}

static void call_struct(const HimsaConn *conn) {
    HimsaDataAccess *access = NULL;
    HimsaStatus status = himsa_conn_current_access(conn, &access);
    if (status != HIMSA_STATUS_OK) fail("himsa_conn_current_access", status);
    if (access->levels_len == 0) fail("himsa_conn_current_access (no level)", status);
    himsa_data_access_free(access);
}

static void call_json(const HimsaConn *conn) {
    char *json = NULL;
    HimsaStatus status = himsa_conn_current_access_json(conn, &json);
    if (status != HIMSA_STATUS_OK) fail("himsa_conn_current_access_json", status);
    if (json[0] != '{') fail("himsa_conn_current_access_json (not an object)", status);
    himsa_string_free(json);
}

static int by_value(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, int64_t *samples, size_t n) {
    qsort(samples, n, sizeof *samples, by_value);
    size_t median = (n + 1) / 2 - 1;
    size_t p99 = (size_t)((double)n * 0.99 + 0.999999);
    if (p99 < 1) p99 = 1;
    printf("c.%s.median_ns\t%lld\n", name, (long long)samples[median]);
    printf("c.%s.p99_ns\t%lld\n", name, (long long)samples[p99 - 1]);
    printf("c.%s.samples\t%zu\n", name, n);
}

int main(int argc, char **argv) {
    if (argc < 2 || !is_loopback(argv[1])) {
        fprintf(stderr, "usage: bench http://127.0.0.1:PORT [CALLS]\n");
        return 2;
    }
    size_t calls = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 10000;
    if (calls < ROUND) calls = ROUND;
    calls -= calls % ROUND;

    HimsaOptions *options = NULL;
    HimsaStatus status = himsa_options_new(&options);
    if (status != HIMSA_STATUS_OK) fail("himsa_options_new", status);
    status = himsa_options_set_proxy(options, ""); /* loopback only: never a proxy */
    if (status != HIMSA_STATUS_OK) fail("himsa_options_set_proxy", status);

    HimsaConn *conn = NULL;
    status = himsa_conn_new(argv[1], TENANT, TOKEN, options, &conn);
    himsa_options_free(options);
    if (status != HIMSA_STATUS_OK) fail("himsa_conn_new", status);

    HimsaAccessRequest basic = {2, NULL, 0, NULL, 0};
    char *answer = NULL;
    status = himsa_conn_request_json(conn, &basic, &answer);
    if (status != HIMSA_STATUS_OK) fail("himsa_conn_request_json", status);
    himsa_string_free(answer);

    for (int i = 0; i < WARM_UP; i++) {
        call_struct(conn);
        call_json(conn);
    }

    int64_t *structs = malloc(calls * sizeof *structs);
    int64_t *jsons = malloc(calls * sizeof *jsons);
    if (structs == NULL || jsons == NULL) return 1;
    size_t done = 0;
    int64_t started = now_ns();
    while (done < calls && (double)(now_ns() - started) / 1e9 < TIME_LIMIT_S) {
        for (size_t i = 0; i < ROUND; i++) {
            int64_t t0 = now_ns();
            call_struct(conn);
            structs[done + i] = now_ns() - t0;
        }
        for (size_t i = 0; i < ROUND; i++) {
            int64_t t0 = now_ns();
            call_json(conn);
            jsons[done + i] = now_ns() - t0;
        }
        done += ROUND;
    }
    himsa_conn_free(conn);

    report("struct", structs, done);
    report("json", jsons, done);
    free(structs);
    free(jsons);

    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("c.peak_rss_kb\t%ld\n", usage.ru_maxrss);
    return 0;
}
