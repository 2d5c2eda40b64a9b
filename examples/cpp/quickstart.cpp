// Quickstart: read the app's access, ask for what it needs, wait for a user's approval.
//
// Build: see bindings/cpp/README.md; run: ./quickstart BASE_URL TENANT_ID ACCESS_TOKEN
#include <himsa/connection.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

static void print_table(const himsa::DataAccess& access) {
    std::printf("%-6s %-14s %s\n", "kind", "name", "state");
    for (const auto& e : access.levels) {
        std::printf("%-6s %-14s %s\n", "level", e.level_text.c_str(), e.access_text.c_str());
    }
    for (const auto& e : access.patient_fields) {
        std::printf("%-6s %-14s %s\n", "field", e.field.c_str(), e.access_text.c_str());
    }
    for (const auto& e : access.data_types) {
        std::printf("%-6s %-14lld %s\n", "type", static_cast<long long>(e.data_type),
                    e.access_text.c_str());
    }
}

int main(int argc, char** argv) {
    const char* base = argc > 1 ? argv[1] : "http://127.0.0.1:1";
    const char* tenant = argc > 2 ? argv[2] : "00000000-0000-0000-0000-000000000000";
    const char* token = argc > 3 ? argv[3] : "sandbox-token";
    if (argc != 4) {
        std::printf("usage: %s BASE_URL TENANT_ID ACCESS_TOKEN\n(using %s %s %s)\n", argv[0],
                    base, tenant, token);
    }

    try {
        himsa::Connection conn(base, tenant, token);

        if (auto access = conn.current_access()) {
            std::printf("connected; current access:\n");
            print_table(*access);
        } else {
            std::printf("never connected: this app has no access in the tenant yet\n");
        }

        // What the app needs: the Limited level and two patient fields.
        himsa::AccessRequest need{himsa::Level::limited, {"FirstName", "EmailAddress"}, {}};
        auto decision = conn.ensure_access(need, himsa::Policy::if_needed);
        if (decision.outcome == himsa::Outcome::pending_approval) {
            std::printf("approve in a browser: %s\n", decision.portal_url.c_str());
            std::printf("this user may approve: %s\n", decision.user_can_approve ? "yes" : "no");
            std::printf("waiting for approval...\n");
            conn.wait_for_approval(need, std::chrono::minutes(1));
        }

        print_table(conn.current_access().value_or(himsa::DataAccess{}));
    } catch (const himsa::Error& e) {
        std::cerr << "failed: " << e.status_text() << " (HTTP " << e.http_status()
                  << "): " << e.what() << "\n";
        return 1;
    }
    return 0;
}
