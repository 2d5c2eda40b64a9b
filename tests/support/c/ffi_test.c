/*
 * Drives the C ABI of himsa-conn against a running himsa-sandbox.
 *
 * Usage: ffi_test SCENARIO BASE_URL
 * Each scenario expects the sandbox to have been started with the arguments that
 * tests/ffi_c.rs gives it. Exit code 0 means every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include <himsa_conn.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *TENANT = "3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14";
static const char *BASE;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n  last message: %s\n",         \
                    __FILE__, __LINE__, #cond, himsa_last_error_message());          \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#define CHECK_STATUS(call, expected)                                                 \
    do {                                                                             \
        HimsaStatus got_ = (call);                                                   \
        if (got_ != (HimsaStatus)(expected)) {                                       \
            fprintf(stderr, "%s:%d: %s returned %u, expected %u\n  message: %s\n",   \
                    __FILE__, __LINE__, #call, (unsigned)got_, (unsigned)(expected), \
                    himsa_last_error_message());                                     \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static int contains(const char *text, const char *part) {
    return text != NULL && strstr(text, part) != NULL;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static int log_lines;

static void count_log(HimsaLogLevel level, const char *message, void *user_data) {
    CHECK(level >= HIMSA_LOG_LEVEL_ERROR && level <= HIMSA_LOG_LEVEL_DEBUG);
    CHECK(message != NULL);
    CHECK(!contains(message, "sandbox-token"));
    (*(int *)user_data)++;
}

/* Options for quick tests: short polls, no retries unless asked. */
static HimsaOptions *quick_options(uint32_t retries) {
    HimsaOptions *options = NULL;
    CHECK_STATUS(himsa_options_new(&options), HIMSA_STATUS_OK);
    CHECK(options != NULL);
    CHECK_STATUS(himsa_options_set_poll_interval(options, 50, 200), HIMSA_STATUS_OK);
    CHECK_STATUS(himsa_options_set_timeouts(options, 2000, 5000, 15000), HIMSA_STATUS_OK);
    CHECK_STATUS(himsa_options_set_retries(options, retries, 3000), HIMSA_STATUS_OK);
    CHECK_STATUS(himsa_options_set_proxy(options, ""), HIMSA_STATUS_OK);
    return options;
}

static HimsaConn *connect_with(const char *token, const HimsaOptions *options) {
    HimsaConn *conn = NULL;
    CHECK_STATUS(himsa_conn_new(BASE, TENANT, token, options, &conn), HIMSA_STATUS_OK);
    CHECK(conn != NULL);
    CHECK(strcmp(himsa_last_error_message(), "") == 0);
    return conn;
}

static HimsaConn *connect_quick(const char *token, uint32_t retries) {
    HimsaOptions *options = quick_options(retries);
    HimsaConn *conn = connect_with(token, options);
    himsa_options_free(options);
    return conn;
}

static const HimsaLevelAccess *find_level(const HimsaDataAccess *access, HimsaLevel level) {
    for (uint32_t i = 0; i < access->levels_len; i++) {
        if (access->levels[i].level == level) {
            return &access->levels[i];
        }
    }
    return NULL;
}

static const HimsaFieldAccess *find_field(const HimsaDataAccess *access, const char *name) {
    for (uint32_t i = 0; i < access->patient_fields_len; i++) {
        if (strcmp(access->patient_fields[i].field, name) == 0) {
            return &access->patient_fields[i];
        }
    }
    return NULL;
}

static const char *const LIMITED_FIELDS[] = {"FirstName", "EmailAddress"};

static HimsaAccessRequest limited_need(void) {
    HimsaAccessRequest need;
    memset(&need, 0, sizeof need);
    need.level = HIMSA_LEVEL_LIMITED;
    need.patient_fields = LIMITED_FIELDS;
    need.patient_fields_len = 2;
    return need;
}

/* ---- scenario: args (any sandbox) ---------------------------------------------------- */

static void expect_message(const char *part) {
    const char *message = himsa_last_error_message();
    if (!contains(message, part)) {
        fprintf(stderr, "message %s does not name %s\n", message, part);
        exit(1);
    }
}

static void scenario_args(void) {
    HimsaConn *sentinel_conn = (HimsaConn *)&log_lines;
    HimsaConn *conn = sentinel_conn;

    CHECK(strcmp(himsa_version(), "0.1.0") == 0);
    CHECK(strncmp(himsa_status_text(HIMSA_STATUS_OK), "OK:", 3) == 0);
    CHECK(strncmp(himsa_status_text(401), "UNAUTHORIZED:", 13) == 0);
    CHECK(strncmp(himsa_status_text(12345), "UNKNOWN_STATUS:", 15) == 0);

    /* NULL arguments are named, and the out-parameter stays untouched. */
    CHECK_STATUS(himsa_conn_new(NULL, TENANT, "t", NULL, &conn), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("base_url");
    CHECK(himsa_last_status() == HIMSA_STATUS_INVALID_ARGUMENT);
    CHECK(himsa_last_http_status() == 0);
    CHECK_STATUS(himsa_conn_new(BASE, NULL, "t", NULL, &conn), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("tenant_id");
    CHECK_STATUS(himsa_conn_new(BASE, TENANT, NULL, NULL, &conn), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("access_token");
    CHECK_STATUS(himsa_conn_new(BASE, TENANT, "t", NULL, NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("conn_out");
    CHECK(conn == sentinel_conn);

    /* Invalid UTF-8 is refused with its own status. */
    CHECK_STATUS(himsa_conn_new(BASE, TENANT, "bad \xff\xfe token", NULL, &conn),
                 HIMSA_STATUS_INVALID_UTF8);
    expect_message("access_token");
    CHECK(conn == sentinel_conn);

    /* Malformed values. */
    CHECK_STATUS(himsa_conn_new("ftp://example", TENANT, "t", NULL, &conn),
                 HIMSA_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(himsa_conn_new(BASE, "not-a-guid", "t", NULL, &conn),
                 HIMSA_STATUS_INVALID_ARGUMENT);
    CHECK(conn == sentinel_conn);

    /* Options are checked too. */
    HimsaOptions *options = NULL;
    CHECK_STATUS(himsa_options_new(NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(himsa_options_new(&options), HIMSA_STATUS_OK);
    CHECK_STATUS(himsa_options_set_user_agent(NULL, "x"), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("options");
    CHECK_STATUS(himsa_options_set_user_agent(options, NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("user_agent");
    CHECK_STATUS(himsa_options_set_user_agent(options, "\xc3\x28"), HIMSA_STATUS_INVALID_UTF8);
    CHECK_STATUS(himsa_options_set_timeouts(options, 0, 1, 1), HIMSA_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(himsa_options_set_retries(options, 11, 1000), HIMSA_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(himsa_options_set_max_answer_bytes(options, 10), HIMSA_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(himsa_options_set_poll_interval(options, 500, 100),
                 HIMSA_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(himsa_options_add_ca_pem(options, "no pem here"),
                 HIMSA_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(himsa_options_set_proxy(options, NULL), HIMSA_STATUS_OK);
    CHECK(strcmp(himsa_last_error_message(), "") == 0);
    himsa_options_free(options);

    conn = connect_quick("sandbox-token", 0);

    /* Calls on a NULL handle, and NULL out-parameters. */
    HimsaDataAccess *sentinel_access = (HimsaDataAccess *)&log_lines;
    HimsaDataAccess *access = sentinel_access;
    CHECK_STATUS(himsa_conn_current_access(NULL, &access), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("conn");
    CHECK_STATUS(himsa_conn_current_access(conn, NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("access_out");
    CHECK_STATUS(himsa_conn_current_access_json(conn, NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("json_out");
    CHECK_STATUS(himsa_conn_app_connection(conn, NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("connection_out");
    CHECK_STATUS(himsa_conn_set_access_token(conn, NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("access_token");
    CHECK_STATUS(himsa_conn_set_access_token(conn, "\xff"), HIMSA_STATUS_INVALID_UTF8);
    CHECK_STATUS(himsa_conn_cancel(NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    uint8_t deprecated = 7;
    char *sunset = (char *)&log_lines;
    CHECK_STATUS(himsa_conn_deprecation(conn, NULL, &sunset), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("deprecated_out");
    CHECK_STATUS(himsa_conn_deprecation(conn, &deprecated, NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("sunset_date_out");
    CHECK(deprecated == 7 && sunset == (char *)&log_lines);

    HimsaAccessRequest need = limited_need();
    HimsaDecision *sentinel_decision = (HimsaDecision *)&log_lines;
    HimsaDecision *decision = sentinel_decision;
    CHECK_STATUS(himsa_conn_ensure_access(conn, NULL, 1, &decision),
                 HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("need");
    CHECK_STATUS(himsa_conn_ensure_access(conn, &need, 3, &decision),
                 HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("policy");
    CHECK_STATUS(himsa_conn_ensure_access(conn, &need, 1, NULL), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("decision_out");
    CHECK_STATUS(himsa_conn_wait_for_approval(conn, &need, 0, &decision),
                 HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("timeout_ms");

    HimsaAccessRequest bad = need;
    bad.level = 0;
    CHECK_STATUS(himsa_conn_ensure_access(conn, &bad, 1, &decision),
                 HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("level");
    bad = need;
    bad.patient_fields = NULL;
    CHECK_STATUS(himsa_conn_ensure_access(conn, &bad, 1, &decision),
                 HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("patient_fields");
    const char *bad_fields[] = {"FirstName", "Bad\xe2\x82"};
    bad = need;
    bad.patient_fields = bad_fields;
    CHECK_STATUS(himsa_conn_ensure_access(conn, &bad, 1, &decision), HIMSA_STATUS_INVALID_UTF8);
    expect_message("patient_fields[1]");
    const char *null_field[] = {NULL};
    bad = need;
    bad.patient_fields = null_field;
    bad.patient_fields_len = 1;
    HimsaAppConnection *sentinel_connection = (HimsaAppConnection *)&log_lines;
    HimsaAppConnection *connection = sentinel_connection;
    CHECK_STATUS(himsa_conn_request(conn, &bad, &connection), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("patient_fields[0]");
    bad = need;
    bad.data_types_len = 2;
    CHECK_STATUS(himsa_conn_request(conn, &bad, &connection), HIMSA_STATUS_INVALID_ARGUMENT);
    expect_message("data_types");
    CHECK(decision == sentinel_decision && connection == sentinel_connection);
    CHECK(access == sentinel_access);

    /* A success clears the message. */
    CHECK_STATUS(himsa_conn_cancel(conn), HIMSA_STATUS_OK);
    CHECK(strcmp(himsa_last_error_message(), "") == 0);
    CHECK(himsa_last_status() == HIMSA_STATUS_OK);

    /* Every free function accepts NULL. */
    himsa_conn_free(NULL);
    himsa_options_free(NULL);
    himsa_string_free(NULL);
    himsa_data_access_free(NULL);
    himsa_app_connection_free(NULL);
    himsa_decision_free(NULL);
    himsa_conn_free(conn);
}

/* ---- scenario: flow (--auto-approve-after 300 --auto-grant Limited,FirstName) -------- */

static void scenario_flow(void) {
    HimsaOptions *options = quick_options(1);
    int lines = 0;
    CHECK_STATUS(himsa_options_set_log_callback(options, count_log, &lines, 4), HIMSA_STATUS_OK);
    CHECK_STATUS(himsa_options_set_user_agent(options, "ffi-test/1.0"), HIMSA_STATUS_OK);
    HimsaConn *conn = connect_with("sandbox-token", options);
    himsa_options_free(options);

    /* 1. Never connected: a status of its own, out-parameter untouched. */
    HimsaDataAccess *access = NULL;
    CHECK_STATUS(himsa_conn_current_access(conn, &access), HIMSA_STATUS_NEVER_CONNECTED);
    CHECK(access == NULL);
    CHECK(himsa_last_http_status() == 404);
    CHECK(strlen(himsa_last_error_message()) > 0);
    char *json = NULL;
    CHECK_STATUS(himsa_conn_current_access_json(conn, &json), HIMSA_STATUS_NEVER_CONNECTED);
    CHECK(json == NULL);
    HimsaAppConnection *connection = NULL;
    CHECK_STATUS(himsa_conn_app_connection(conn, &connection), HIMSA_STATUS_NOT_FOUND);
    CHECK(connection == NULL);
    CHECK(himsa_last_http_status() == 404);

    /* 2. The planner, checking only: never connected, nothing sent. */
    HimsaAccessRequest need = limited_need();
    HimsaDecision *decision = NULL;
    CHECK_STATUS(himsa_conn_ensure_access(conn, &need, HIMSA_REQUEST_POLICY_CHECK_ONLY,
                                          &decision),
                 HIMSA_STATUS_OK);
    CHECK(decision->outcome == HIMSA_OUTCOME_NEVER_CONNECTED);
    CHECK(decision->requested == 0);
    CHECK(decision->current_data_access == NULL);
    CHECK(contains(decision->json, "NeverConnected"));
    himsa_decision_free(decision);

    /* 3. The planner asks: pending, with the portal URL. */
    decision = NULL;
    CHECK_STATUS(himsa_conn_ensure_access(conn, &need, HIMSA_REQUEST_POLICY_IF_NEEDED,
                                          &decision),
                 HIMSA_STATUS_OK);
    CHECK(decision->outcome == HIMSA_OUTCOME_PENDING_APPROVAL);
    CHECK(decision->requested == 1);
    CHECK(decision->user_can_approve == 1);
    CHECK(strncmp(decision->portal_url, BASE, strlen(BASE)) == 0);
    CHECK(contains(decision->portal_url, "/portal/"));
    CHECK(decision->connection != NULL);
    CHECK(strlen(decision->connection->app_connection_id) > 0);
    CHECK(contains(decision->json, "PendingApproval"));
    himsa_decision_free(decision);

    /* 4. The app connection. */
    CHECK_STATUS(himsa_conn_app_connection(conn, &connection), HIMSA_STATUS_OK);
    CHECK(himsa_last_http_status() == 200);
    CHECK(connection->current_user_can_approve == 1);
    CHECK(contains(connection->app_portal_url, "/portal/"));
    CHECK(connection->created.valid == 1 && connection->created.unix_ms > 1600000000000LL);
    CHECK(contains(connection->json, "appConnectionId"));
    himsa_app_connection_free(connection);
    CHECK_STATUS(himsa_conn_app_connection_json(conn, &json), HIMSA_STATUS_OK);
    CHECK(contains(json, "appPortalUrl"));
    himsa_string_free(json);

    /* 5. Wait: the sandbox grants Limited and FirstName and denies EmailAddress. */
    decision = NULL;
    CHECK_STATUS(himsa_conn_wait_for_approval(conn, &need, 10000, &decision), HIMSA_STATUS_OK);
    CHECK(decision->outcome == HIMSA_OUTCOME_DENIED);
    CHECK(decision->current_data_access != NULL);
    const HimsaLevelAccess *limited = find_level(decision->current_data_access,
                                                 HIMSA_LEVEL_LIMITED);
    CHECK(limited != NULL && limited->access == HIMSA_ACCESS_GRANTED);
    himsa_decision_free(decision);

    /* 6. The table as read. */
    access = NULL;
    CHECK_STATUS(himsa_conn_current_access(conn, &access), HIMSA_STATUS_OK);
    CHECK(himsa_last_http_status() == 200);
    limited = find_level(access, HIMSA_LEVEL_LIMITED);
    CHECK(limited != NULL);
    CHECK(limited->access == HIMSA_ACCESS_GRANTED);
    CHECK(strcmp(limited->level_text, "Limited") == 0);
    CHECK(strcmp(limited->access_text, "Granted") == 0);
    const HimsaFieldAccess *first = find_field(access, "FirstName");
    const HimsaFieldAccess *email = find_field(access, "EmailAddress");
    CHECK(first != NULL && first->access == HIMSA_ACCESS_GRANTED);
    CHECK(email != NULL && email->access == HIMSA_ACCESS_DENIED);
    CHECK(strcmp(email->access_text, "Denied") == 0);
    CHECK(access->created.valid == 1 && access->created.text != NULL);
    CHECK(access->warnings_len == 0);
    CHECK(contains(access->json, "FirstName"));
    himsa_data_access_free(access);
    CHECK_STATUS(himsa_conn_current_access_json(conn, &json), HIMSA_STATUS_OK);
    CHECK(contains(json, "userAccountAccessLevels"));
    himsa_string_free(json);

    /* 7. What is granted stays granted; the planner does not ask again. */
    HimsaAccessRequest granted = need;
    granted.patient_fields_len = 1;
    decision = NULL;
    CHECK_STATUS(himsa_conn_ensure_access(conn, &granted, HIMSA_REQUEST_POLICY_IF_NEEDED,
                                          &decision),
                 HIMSA_STATUS_OK);
    CHECK(decision->outcome == HIMSA_OUTCOME_GRANTED);
    CHECK(decision->requested == 0);
    himsa_decision_free(decision);
    CHECK_STATUS(himsa_conn_ensure_access_json(conn, &granted, 0, &json), HIMSA_STATUS_OK);
    CHECK(contains(json, "\"outcome\":\"Granted\""));
    himsa_string_free(json);

    /* 8. A raw request, exactly as given, and its JSON. */
    HimsaAccessRequest basic;
    memset(&basic, 0, sizeof basic);
    basic.level = HIMSA_LEVEL_BASIC;
    int64_t types[] = {3, 7};
    basic.data_types = types;
    basic.data_types_len = 2;
    CHECK_STATUS(himsa_conn_request_json(conn, &basic, &json), HIMSA_STATUS_OK);
    CHECK(contains(json, "appConnectionId"));
    himsa_string_free(json);
    connection = NULL;
    CHECK_STATUS(himsa_conn_request(conn, &basic, &connection), HIMSA_STATUS_OK);
    CHECK(connection->current_data_access != NULL);
    CHECK(connection->current_data_access->data_types_len == 2);
    CHECK(connection->current_data_access->data_types[0].access ==
          HIMSA_ACCESS_PENDING_APPROVAL);
    himsa_app_connection_free(connection);
    CHECK_STATUS(himsa_conn_wait_for_approval_json(conn, &basic, 10000, &json), HIMSA_STATUS_OK);
    CHECK(contains(json, "\"outcome\":\"Denied\""));
    himsa_string_free(json);

    /* 9. Not deprecated. */
    uint8_t deprecated = 9;
    char *sunset = (char *)&lines;
    CHECK_STATUS(himsa_conn_deprecation(conn, &deprecated, &sunset), HIMSA_STATUS_OK);
    CHECK(deprecated == 0 && sunset == NULL);

    himsa_conn_free(conn);
    CHECK(lines > 0);
}

/* ---- scenario: token (default sandbox) ---------------------------------------------- */

static void scenario_token(void) {
    HimsaConn *conn = connect_quick("expired-token", 0);
    HimsaDataAccess *access = NULL;
    CHECK_STATUS(himsa_conn_current_access(conn, &access), HIMSA_STATUS_UNAUTHORIZED);
    CHECK(himsa_last_http_status() == 401);
    CHECK(strlen(himsa_last_error_message()) > 0);
    CHECK(!contains(himsa_last_error_message(), "expired-token"));
    CHECK(access == NULL);

    CHECK_STATUS(himsa_conn_set_access_token(conn, "sandbox-token"), HIMSA_STATUS_OK);
    CHECK_STATUS(himsa_conn_current_access(conn, &access), HIMSA_STATUS_NEVER_CONNECTED);

    CHECK_STATUS(himsa_conn_set_access_token(conn, "unknown-token"), HIMSA_STATUS_OK);
    CHECK_STATUS(himsa_conn_current_access(conn, &access), HIMSA_STATUS_UNAUTHORIZED);
    himsa_conn_free(conn);
}

/* ---- scenario: viewer (default sandbox): cannot approve, timeout, cancel ------------- */

struct waiter {
    HimsaConn *conn;
    HimsaStatus status;
    double elapsed_ms;
    char message[256];
};

static void *wait_in_thread(void *arg) {
    struct waiter *w = arg;
    HimsaAccessRequest need = limited_need();
    HimsaDecision *decision = NULL;
    double start = now_ms();
    w->status = himsa_conn_wait_for_approval(w->conn, &need, 30000, &decision);
    w->elapsed_ms = now_ms() - start;
    snprintf(w->message, sizeof w->message, "%s", himsa_last_error_message());
    himsa_decision_free(decision);
    return NULL;
}

static void scenario_viewer(void) {
    HimsaConn *conn = connect_quick("viewer-token", 0);
    HimsaAccessRequest need = limited_need();
    HimsaDecision *decision = NULL;
    CHECK_STATUS(himsa_conn_ensure_access(conn, &need, HIMSA_REQUEST_POLICY_IF_NEEDED,
                                          &decision),
                 HIMSA_STATUS_OK);
    CHECK(decision->outcome == HIMSA_OUTCOME_PENDING_APPROVAL);
    CHECK(decision->user_can_approve == 0);
    himsa_decision_free(decision);

    /* Still pending at the deadline: a timeout. */
    decision = NULL;
    double start = now_ms();
    CHECK_STATUS(himsa_conn_wait_for_approval(conn, &need, 300, &decision),
                 HIMSA_STATUS_TIMEOUT);
    CHECK(decision == NULL);
    CHECK(now_ms() - start < 5000);

    /* Cancel from another thread ends the wait at once. */
    struct waiter w;
    memset(&w, 0, sizeof w);
    w.conn = conn;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, wait_in_thread, &w) == 0);
    sleep_ms(300);
    CHECK_STATUS(himsa_conn_cancel(conn), HIMSA_STATUS_OK);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(w.status == HIMSA_STATUS_CANCELLED);
    CHECK(w.elapsed_ms < 10000);
    CHECK(strlen(w.message) > 0);

    /* Calls started after the cancel are not affected. */
    CHECK_STATUS(himsa_conn_ensure_access(conn, &need, 0, &decision), HIMSA_STATUS_OK);
    CHECK(decision->outcome == HIMSA_OUTCOME_PENDING_APPROVAL);
    himsa_decision_free(decision);
    himsa_conn_free(conn);
}

/* ---- scenario: faults (sandbox armed with the faults of tests/ffi_c.rs, in order) ---- */

static void expect_current(HimsaConn *conn, HimsaStatus status, uint32_t http) {
    HimsaDataAccess *access = NULL;
    HimsaStatus got = himsa_conn_current_access(conn, &access);
    if (got != status || himsa_last_http_status() != http) {
        fprintf(stderr, "expected status %u (http %u), got %u (http %u): %s\n",
                (unsigned)status, http, (unsigned)got, himsa_last_http_status(),
                himsa_last_error_message());
        exit(1);
    }
    CHECK(access == NULL);
    CHECK(strlen(himsa_last_error_message()) > 0);
    printf("status %u http %u: %s\n", (unsigned)got, http, himsa_last_error_message());
}

static void scenario_faults(void) {
    HimsaOptions *options = quick_options(0);
    CHECK_STATUS(himsa_options_set_max_answer_bytes(options, 4096), HIMSA_STATUS_OK);
    HimsaConn *conn = connect_with("sandbox-token", options);
    himsa_options_free(options);

    /* Connect first (the faults are armed on reading only), so that faults which damage
     * the real answer damage a 200. */
    HimsaAccessRequest need = limited_need();
    HimsaAppConnection *connection = NULL;
    CHECK_STATUS(himsa_conn_request(conn, &need, &connection), HIMSA_STATUS_OK);
    himsa_app_connection_free(connection);

    expect_current(conn, HIMSA_STATUS_FORBIDDEN, 403);
    expect_current(conn, HIMSA_STATUS_RATE_LIMITED, 429);
    expect_current(conn, HIMSA_STATUS_SERVER_ERROR, 500);
    expect_current(conn, HIMSA_STATUS_SERVER_ERROR, 502);
    expect_current(conn, HIMSA_STATUS_SERVER_ERROR, 503);
    expect_current(conn, HIMSA_STATUS_HTTP_CLIENT_ERROR, 418);
    expect_current(conn, HIMSA_STATUS_CONFLICT, 409);
    expect_current(conn, HIMSA_STATUS_SERVER_ERROR, 502); /* html gateway page */
    expect_current(conn, HIMSA_STATUS_UNREADABLE_ANSWER, 200); /* html with 200 */
    expect_current(conn, HIMSA_STATUS_UNREADABLE_ANSWER, 200); /* truncated */
    expect_current(conn, HIMSA_STATUS_UNREADABLE_ANSWER, 200); /* empty */

    /* Valid JSON of the wrong shape is read leniently: what fails is named in warnings. */
    HimsaDataAccess *odd = NULL;
    CHECK_STATUS(himsa_conn_current_access(conn, &odd), HIMSA_STATUS_OK);
    CHECK(odd->warnings_len > 0 && odd->warnings[0] != NULL);
    printf("wrong shape: %u warnings, first: %s\n", odd->warnings_len, odd->warnings[0]);
    himsa_data_access_free(odd);

    expect_current(conn, HIMSA_STATUS_ANSWER_TOO_LARGE, 200);
    expect_current(conn, HIMSA_STATUS_ANSWER_TOO_LARGE, 200); /* chunked */
    himsa_conn_free(conn);

    /* The last fault is a 429 with Retry-After: 1; with retries the call gets through. */
    conn = connect_quick("sandbox-token", 2);
    HimsaDataAccess *access = NULL;
    double start = now_ms();
    CHECK_STATUS(himsa_conn_current_access(conn, &access), HIMSA_STATUS_OK);
    CHECK(access->levels_len == 1);
    himsa_data_access_free(access);
    double elapsed = now_ms() - start;
    printf("retry after 429 took %.0f ms\n", elapsed);
    CHECK(elapsed >= 900 && elapsed < 3500);
    himsa_conn_free(conn);
}

/* ---- scenario: threads (--auto-approve-after 100) ------------------------------------ */

struct worker {
    HimsaConn *conn;
    int id;
    int failures;
};

static void *work(void *arg) {
    struct worker *w = arg;
    HimsaAccessRequest need;
    memset(&need, 0, sizeof need);
    need.level = HIMSA_LEVEL_BASIC;
    for (int i = 0; i < 15; i++) {
        if (w->id == 0) {
            HimsaDecision *decision = NULL;
            HimsaStatus status = himsa_conn_ensure_access(w->conn, &need, 1, &decision);
            if (status != HIMSA_STATUS_OK || strcmp(himsa_last_error_message(), "") != 0 ||
                decision == NULL) {
                w->failures++;
            } else if (decision->outcome != HIMSA_OUTCOME_GRANTED &&
                       decision->outcome != HIMSA_OUTCOME_PENDING_APPROVAL) {
                w->failures++;
            }
            himsa_decision_free(decision);
        } else {
            /* This thread's failures must not show in the other thread's detail. */
            HimsaStatus status = himsa_conn_current_access(w->conn, NULL);
            if (status != HIMSA_STATUS_INVALID_ARGUMENT ||
                !contains(himsa_last_error_message(), "access_out")) {
                w->failures++;
            }
            HimsaAppConnection *connection = NULL;
            status = himsa_conn_app_connection(w->conn, &connection);
            if (status == HIMSA_STATUS_OK) {
                if (himsa_last_http_status() != 200 || connection == NULL) {
                    w->failures++;
                }
            } else if (status != HIMSA_STATUS_NOT_FOUND || himsa_last_http_status() != 404) {
                w->failures++;
            }
            himsa_app_connection_free(connection);
        }
        sleep_ms(10);
    }
    return NULL;
}

static void scenario_threads(void) {
    HimsaConn *conn = connect_quick("sandbox-token", 1);
    struct worker workers[2];
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        workers[i].conn = conn;
        workers[i].id = i;
        workers[i].failures = 0;
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(workers[i].failures == 0);
    }
    HimsaAccessRequest need;
    memset(&need, 0, sizeof need);
    need.level = HIMSA_LEVEL_BASIC;
    HimsaDecision *decision = NULL;
    CHECK_STATUS(himsa_conn_wait_for_approval(conn, &need, 10000, &decision), HIMSA_STATUS_OK);
    CHECK(decision->outcome == HIMSA_OUTCOME_GRANTED);
    himsa_decision_free(decision);
    himsa_conn_free(conn);
}

/* ---- scenario: nonascii (default sandbox) --------------------------------------------- */

static void scenario_nonascii(void) {
    static const char *NAME = "J\xc3\xbcrgen \xc3\x86r\xc3\xb8"; /* "Jürgen Ærø" */
    HimsaOptions *options = quick_options(0);
    HimsaStatus ua = himsa_options_set_user_agent(options, NAME);
    printf("non-ASCII user agent: status %u %s\n", (unsigned)ua, himsa_last_error_message());
    CHECK(ua == HIMSA_STATUS_OK || ua == HIMSA_STATUS_INVALID_ARGUMENT);
    HimsaConn *conn = connect_with("sandbox-token", options);
    himsa_options_free(options);

    const char *fields[] = {NAME};
    HimsaAccessRequest request;
    memset(&request, 0, sizeof request);
    request.level = HIMSA_LEVEL_LIMITED;
    request.patient_fields = fields;
    request.patient_fields_len = 1;
    HimsaAppConnection *connection = NULL;
    CHECK_STATUS(himsa_conn_request(conn, &request, &connection), HIMSA_STATUS_OK);
    himsa_app_connection_free(connection);

    HimsaDataAccess *access = NULL;
    CHECK_STATUS(himsa_conn_current_access(conn, &access), HIMSA_STATUS_OK);
    const HimsaFieldAccess *field = find_field(access, NAME);
    CHECK(field != NULL);
    CHECK(field->access == HIMSA_ACCESS_PENDING_APPROVAL);
    CHECK(contains(access->json, NAME));
    himsa_data_access_free(access);
    himsa_conn_free(conn);
}

/* ---- scenario: deprecated (--deprecated 2030-06-30T00:00:00Z) --------------------------- */

static void scenario_deprecated(void) {
    HimsaConn *conn = connect_quick("sandbox-token", 0);
    uint8_t deprecated = 9;
    char *sunset = NULL;
    CHECK_STATUS(himsa_conn_deprecation(conn, &deprecated, &sunset), HIMSA_STATUS_OK);
    CHECK(deprecated == 0 && sunset == NULL);
    HimsaDataAccess *access = NULL;
    CHECK_STATUS(himsa_conn_current_access(conn, &access), HIMSA_STATUS_NEVER_CONNECTED);
    CHECK_STATUS(himsa_conn_deprecation(conn, &deprecated, &sunset), HIMSA_STATUS_OK);
    CHECK(deprecated == 1);
    CHECK(sunset != NULL && strcmp(sunset, "2030-06-30T00:00:00Z") == 0);
    himsa_string_free(sunset);
    himsa_conn_free(conn);
}

/* ---- scenario: pascal (--pascal-case --auto-approve-after 100) ----------------------- */

static void scenario_pascal(void) {
    HimsaConn *conn = connect_quick("sandbox-token", 0);
    HimsaAccessRequest need = limited_need();
    HimsaDecision *decision = NULL;
    CHECK_STATUS(himsa_conn_ensure_access(conn, &need, 1, &decision), HIMSA_STATUS_OK);
    CHECK(decision->outcome == HIMSA_OUTCOME_PENDING_APPROVAL);
    himsa_decision_free(decision);
    decision = NULL;
    CHECK_STATUS(himsa_conn_wait_for_approval(conn, &need, 10000, &decision), HIMSA_STATUS_OK);
    CHECK(decision->outcome == HIMSA_OUTCOME_GRANTED);
    const HimsaDataAccess *access = decision->current_data_access;
    CHECK(access != NULL);
    CHECK(find_level(access, HIMSA_LEVEL_LIMITED)->access == HIMSA_ACCESS_GRANTED);
    CHECK(find_field(access, "EmailAddress")->access == HIMSA_ACCESS_GRANTED);
    himsa_decision_free(decision);
    himsa_conn_free(conn);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SCENARIO BASE_URL\n", argv[0]);
        return 2;
    }
    BASE = argv[2];
    const char *scenario = argv[1];
    if (strcmp(scenario, "args") == 0) {
        scenario_args();
    } else if (strcmp(scenario, "flow") == 0) {
        scenario_flow();
    } else if (strcmp(scenario, "token") == 0) {
        scenario_token();
    } else if (strcmp(scenario, "viewer") == 0) {
        scenario_viewer();
    } else if (strcmp(scenario, "faults") == 0) {
        scenario_faults();
    } else if (strcmp(scenario, "threads") == 0) {
        scenario_threads();
    } else if (strcmp(scenario, "nonascii") == 0) {
        scenario_nonascii();
    } else if (strcmp(scenario, "deprecated") == 0) {
        scenario_deprecated();
    } else if (strcmp(scenario, "pascal") == 0) {
        scenario_pascal();
    } else {
        fprintf(stderr, "unknown scenario %s\n", scenario);
        return 2;
    }
    printf("scenario %s: ok\n", scenario);
    return 0;
}
