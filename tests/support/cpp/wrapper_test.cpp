// Drives the C++ wrapper (bindings/cpp) against a running himsa-sandbox.
//
// Usage: wrapper_test SCENARIO BASE_URL; the sandbox arguments of each scenario are in
// tests/ffi_cpp.rs. Exit code 0 means every check passed.

#include <himsa/connection.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <type_traits>

using namespace std::chrono_literals;

static_assert(!std::is_copy_constructible_v<himsa::Connection>);
static_assert(!std::is_copy_assignable_v<himsa::Connection>);
static_assert(std::is_nothrow_move_constructible_v<himsa::Connection>);
static_assert(std::is_nothrow_move_assignable_v<himsa::Connection>);
static_assert(std::is_nothrow_destructible_v<himsa::Connection>);
static_assert(std::is_base_of_v<std::runtime_error, himsa::Error>);

namespace {

const std::string tenant = "3f6b2a1c-7d4e-4c8a-9b1f-5e2d7c9a0b14";
std::string base;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            std::cerr << __FILE__ << ":" << __LINE__ << ": check failed: " #cond "\n"; \
            std::exit(1);                                                               \
        }                                                                               \
    } while (0)

// Runs `body`, which must throw himsa::Error with `status` and `http`.
template <typename F> void expect_error(F body, himsa::Status status, std::uint32_t http,
                                        const char* part = "") {
    try {
        body();
    } catch (const himsa::Error& e) {
        std::cout << "error " << static_cast<unsigned>(e.status()) << " http "
                  << e.http_status() << ": " << e.what() << "\n";
        CHECK(e.status() == status);
        CHECK(e.http_status() == http);
        CHECK(std::string(e.what()).find(part) != std::string::npos);
        CHECK(!e.status_text().empty());
        return;
    }
    std::cerr << "no himsa::Error was thrown\n";
    std::exit(1);
}

himsa::Options quick(std::uint32_t retries = 0) {
    return himsa::Options()
        .poll_interval(50ms, 200ms)
        .timeouts(2s, 5s, 15s)
        .retries(retries, 3s)
        .proxy("");
}

himsa::AccessRequest limited_need() {
    return himsa::AccessRequest{himsa::Level::limited, {"FirstName", "EmailAddress"}, {}};
}

void scenario_flow() {
    std::atomic<int> lines{0};
    himsa::Connection conn(base, tenant, "sandbox-token",
                           quick(1).user_agent("wrapper-test/1.0").log(
                               [&lines](himsa::LogLevel, std::string_view text) {
                                   CHECK(!text.empty());
                                   ++lines;
                               },
                               himsa::LogLevel::debug));

    CHECK(!conn.current_access().has_value());
    CHECK(!conn.current_access_json().has_value());
    CHECK(!conn.try_app_connection().has_value());
    expect_error([&] { conn.app_connection(); }, himsa::Status::not_found, 404);

    auto need = limited_need();
    auto check_only = conn.ensure_access(need, himsa::Policy::check_only);
    CHECK(check_only.outcome == himsa::Outcome::never_connected);
    CHECK(!check_only.requested && !check_only.current_data_access);

    auto asked = conn.ensure_access(need);
    CHECK(asked.outcome == himsa::Outcome::pending_approval);
    CHECK(asked.requested && asked.user_can_approve);
    CHECK(asked.portal_url.rfind(base, 0) == 0);
    CHECK(asked.connection.has_value() && !asked.connection->id.empty());
    CHECK(asked.json.find("PendingApproval") != std::string::npos);

    auto connection = conn.app_connection();
    CHECK(connection.current_user_can_approve);
    CHECK(connection.portal_url == asked.portal_url);
    CHECK(connection.created.unix_ms.value_or(0) > 1600000000000LL);

    auto decided = conn.wait_for_approval(need, 10s);
    CHECK(decided.outcome == himsa::Outcome::denied);

    auto access = conn.current_access();
    CHECK(access.has_value());
    CHECK(access->level_state(himsa::Level::limited) == himsa::Access::granted);
    CHECK(access->level_state(himsa::Level::advanced) == himsa::Access::unknown);
    CHECK(access->field_state("FirstName") == himsa::Access::granted);
    CHECK(access->field_state("EmailAddress") == himsa::Access::denied);
    CHECK(!access->field_state("LastName").has_value());
    CHECK(access->levels.at(0).level_text == "Limited");
    CHECK(access->levels.at(0).access_text == "Granted");
    CHECK(access->created.text.has_value() && access->created.unix_ms.has_value());
    CHECK(access->warnings.empty());
    CHECK(conn.current_access_json()->find("userAccountAccessLevels") != std::string::npos);

    auto raw = conn.request(himsa::AccessRequest{himsa::Level::basic, {}, {3, 7}});
    CHECK(raw.current_data_access.has_value());
    CHECK(raw.current_data_access->data_types.size() == 2);
    CHECK(raw.current_data_access->data_types[0].access == himsa::Access::pending_approval);

    auto deprecation = conn.deprecation();
    CHECK(!deprecation.deprecated && !deprecation.sunset_date);
    CHECK(lines.load() > 0);
}

void scenario_args() {
    CHECK(himsa::native_version() == himsa::binding_version);
    expect_error([] { himsa::Connection c("ftp://x", tenant, "t"); },
                 himsa::Status::invalid_argument, 0, "base_url");
    expect_error([] { himsa::Connection c(base, tenant, "bad \xff token"); },
                 himsa::Status::invalid_utf8, 0, "access_token");
    expect_error([] { himsa::Connection c(base, tenant, std::string("a\0b", 3)); },
                 himsa::Status::invalid_argument, 0, "NUL");
    expect_error(
        [] { himsa::Connection c(base, tenant, "t", himsa::Options().timeouts(-1ms, 1s, 1s)); },
        himsa::Status::invalid_argument, 0);
    {
        // 2^32 ms + 300 ms must not wrap to 300 ms: it is held at the largest value.
        const auto huge = std::chrono::milliseconds((std::int64_t{1} << 32) + 300);
        himsa::Connection c(base, tenant, "t", himsa::Options().timeouts(1s, huge, huge));
    }
    expect_error([] { himsa::Connection c(base, tenant, "t", himsa::Options().retries(11, 1s)); },
                 himsa::Status::invalid_argument, 0);
    expect_error(
        [] { himsa::Connection c(base, tenant, "t", himsa::Options().poll_interval(5s, 1s)); },
        himsa::Status::invalid_argument, 0);

    himsa::Connection conn(base, tenant, "sandbox-token", quick());
    expect_error([&] { conn.wait_for_approval(limited_need(), 0ms); },
                 himsa::Status::invalid_argument, 0, "timeout_ms");
    expect_error([&] { conn.ensure_access(himsa::AccessRequest{himsa::Level::unknown, {}, {}}); },
                 himsa::Status::invalid_argument, 0, "level");
    expect_error([&] { conn.set_access_token(""); }, himsa::Status::invalid_argument, 0);

    // A moved-from connection fails cleanly; the moved-to one works.
    himsa::Connection moved = std::move(conn);
    expect_error([&] { conn.current_access(); }, himsa::Status::invalid_argument, 0, "conn");
    CHECK(!moved.current_access().has_value());
    himsa::Connection other(base, tenant, "viewer-token", quick());
    other = std::move(moved);
    CHECK(!other.current_access().has_value());
}

void scenario_faults() {
    himsa::Connection conn(base, tenant, "sandbox-token", quick().max_answer_bytes(4096));
    conn.request(limited_need());
    expect_error([&] { conn.current_access(); }, himsa::Status::forbidden, 403);
    expect_error([&] { conn.current_access(); }, himsa::Status::rate_limited, 429);
    expect_error([&] { conn.current_access(); }, himsa::Status::server_error, 503);
    expect_error([&] { conn.current_access(); }, himsa::Status::server_error, 502, "HTML");
    expect_error([&] { conn.current_access(); }, himsa::Status::unreadable_answer, 200);
    expect_error([&] { conn.current_access(); }, himsa::Status::answer_too_large, 200);
    CHECK(conn.current_access().has_value());
}

void scenario_token() {
    himsa::Connection conn(base, tenant, "expired-token", quick());
    expect_error([&] { conn.current_access(); }, himsa::Status::unauthorized, 401);
    conn.set_access_token("sandbox-token");
    CHECK(!conn.current_access().has_value());
}

void scenario_viewer() {
    himsa::Connection conn(base, tenant, "viewer-token", quick());
    auto need = limited_need();
    auto decision = conn.ensure_access(need);
    CHECK(decision.outcome == himsa::Outcome::pending_approval);
    CHECK(!decision.user_can_approve);
    expect_error([&] { conn.wait_for_approval(need, 300ms); }, himsa::Status::timeout, 0);

    std::atomic<bool> cancelled{false};
    std::thread waiter([&] {
        try {
            conn.wait_for_approval(need, 30s);
        } catch (const himsa::Error& e) {
            cancelled = e.status() == himsa::Status::cancelled;
        }
    });
    std::this_thread::sleep_for(300ms);
    conn.cancel();
    waiter.join();
    CHECK(cancelled.load());
}

void scenario_threads() {
    himsa::Connection conn(base, tenant, "sandbox-token", quick(1));
    himsa::AccessRequest need{himsa::Level::basic, {}, {}};
    std::atomic<int> failures{0};
    auto asker = [&] {
        for (int i = 0; i < 10; ++i) {
            try {
                auto d = conn.ensure_access(need);
                if (d.outcome != himsa::Outcome::granted &&
                    d.outcome != himsa::Outcome::pending_approval) {
                    ++failures;
                }
            } catch (const himsa::Error&) {
                ++failures;
            }
        }
    };
    auto failer = [&] {
        for (int i = 0; i < 10; ++i) {
            try {
                conn.wait_for_approval(need, -1ms);
                ++failures;
            } catch (const himsa::Error& e) {
                if (e.status() != himsa::Status::invalid_argument ||
                    std::string(e.what()).find("timeout_ms") == std::string::npos) {
                    ++failures;
                }
            }
        }
    };
    std::thread a(asker);
    std::thread b(failer);
    a.join();
    b.join();
    CHECK(failures.load() == 0);
    CHECK(conn.wait_for_approval(need, 10s).outcome == himsa::Outcome::granted);
}

void scenario_nonascii() {
    const std::string name = "J\u00fcrgen \u00c6r\u00f8";
    himsa::Connection conn(base, tenant, "sandbox-token", quick().user_agent(name));
    conn.request(himsa::AccessRequest{himsa::Level::limited, {name}, {}});
    auto access = conn.current_access();
    CHECK(access.has_value());
    CHECK(access->field_state(name) == himsa::Access::pending_approval);
    CHECK(access->json.find(name) != std::string::npos);
}

void scenario_deprecated() {
    himsa::Connection conn(base, tenant, "sandbox-token", quick());
    CHECK(!conn.deprecation().deprecated);
    conn.current_access();
    auto deprecation = conn.deprecation();
    CHECK(deprecation.deprecated);
    CHECK(deprecation.sunset_date == std::optional<std::string>("2030-06-30T00:00:00Z"));
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " SCENARIO BASE_URL\n";
        return 2;
    }
    base = argv[2];
    const std::string scenario = argv[1];
    try {
        if (scenario == "flow") {
            scenario_flow();
        } else if (scenario == "args") {
            scenario_args();
        } else if (scenario == "faults") {
            scenario_faults();
        } else if (scenario == "token") {
            scenario_token();
        } else if (scenario == "viewer") {
            scenario_viewer();
        } else if (scenario == "threads") {
            scenario_threads();
        } else if (scenario == "nonascii") {
            scenario_nonascii();
        } else if (scenario == "deprecated") {
            scenario_deprecated();
        } else {
            std::cerr << "unknown scenario " << scenario << "\n";
            return 2;
        }
    } catch (const himsa::Error& e) {
        std::cerr << "unexpected himsa::Error " << static_cast<unsigned>(e.status()) << " (HTTP "
                  << e.http_status() << "): " << e.what() << "\n";
        return 1;
    }
    std::cout << "scenario " << scenario << ": ok\n";
    return 0;
}
