/*
 * Quickstart: read the app's access, ask for what it needs, wait for a user's approval.
 *
 * Build: cc -std=c11 -I include examples/c/quickstart.c -L target/debug -lhimsa_conn
 * Run:   ./quickstart BASE_URL TENANT_ID ACCESS_TOKEN   (see examples/run.sh)
 */
#include <himsa_conn.h>

#include <stdio.h>

static int fail(const char *what, HimsaStatus status) {
    fprintf(stderr, "%s failed: %s (HTTP %u): %s\n", what, himsa_status_text(status),
            himsa_last_http_status(), himsa_last_error_message());
    return 1;
}

static const char *state(const char *text) { return text[0] ? text : "?"; }

static void print_table(const HimsaDataAccess *access) {
    printf("%-6s %-14s %s\n", "kind", "name", "state");
    for (uint32_t i = 0; i < access->levels_len; i++) {
        printf("%-6s %-14s %s\n", "level", access->levels[i].level_text,
               state(access->levels[i].access_text));
    }
    for (uint32_t i = 0; i < access->patient_fields_len; i++) {
        printf("%-6s %-14s %s\n", "field", access->patient_fields[i].field,
               state(access->patient_fields[i].access_text));
    }
    for (uint32_t i = 0; i < access->data_types_len; i++) {
        printf("%-6s %-14lld %s\n", "type", (long long)access->data_types[i].data_type,
               state(access->data_types[i].access_text));
    }
}

int main(int argc, char **argv) {
    const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:1";
    const char *tenant = argc > 2 ? argv[2] : "00000000-0000-0000-0000-000000000000";
    const char *token = argc > 3 ? argv[3] : "sandbox-token";
    if (argc != 4) {
        printf("usage: %s BASE_URL TENANT_ID ACCESS_TOKEN\n(using %s %s %s)\n", argv[0], base,
               tenant, token);
    }

    HimsaConn *conn = NULL;
    HimsaStatus status = himsa_conn_new(base, tenant, token, NULL, &conn);
    if (status != HIMSA_STATUS_OK) {
        return fail("himsa_conn_new", status);
    }

    HimsaDataAccess *access = NULL;
    status = himsa_conn_current_access(conn, &access);
    if (status == HIMSA_STATUS_NEVER_CONNECTED) {
        printf("never connected: this app has no access in the tenant yet\n");
    } else if (status == HIMSA_STATUS_OK) {
        printf("connected; current access:\n");
        print_table(access);
        himsa_data_access_free(access);
    } else {
        himsa_conn_free(conn);
        return fail("himsa_conn_current_access", status);
    }

    /* What the app needs: the Limited level and two patient fields. */
    const char *fields[] = {"FirstName", "EmailAddress"};
    HimsaAccessRequest need = {HIMSA_LEVEL_LIMITED, fields, 2, NULL, 0};
    HimsaDecision *decision = NULL;
    status = himsa_conn_ensure_access(conn, &need, HIMSA_REQUEST_POLICY_IF_NEEDED, &decision);
    if (status != HIMSA_STATUS_OK) {
        himsa_conn_free(conn);
        return fail("himsa_conn_ensure_access", status);
    }
    int pending = decision->outcome == HIMSA_OUTCOME_PENDING_APPROVAL;
    if (pending) {
        printf("approve in a browser: %s\n", decision->portal_url);
        printf("this user may approve: %s\n", decision->user_can_approve ? "yes" : "no");
    }
    himsa_decision_free(decision);

    if (pending) {
        printf("waiting for approval...\n");
        decision = NULL;
        status = himsa_conn_wait_for_approval(conn, &need, 60000, &decision);
        if (status != HIMSA_STATUS_OK) {
            himsa_conn_free(conn);
            return fail("himsa_conn_wait_for_approval", status);
        }
        himsa_decision_free(decision);
    }

    access = NULL;
    status = himsa_conn_current_access(conn, &access);
    if (status != HIMSA_STATUS_OK) {
        himsa_conn_free(conn);
        return fail("himsa_conn_current_access", status);
    }
    print_table(access);
    himsa_data_access_free(access);
    himsa_conn_free(conn);
    return 0;
}
