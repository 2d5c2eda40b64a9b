// himsa/connection.hpp - C++17 wrapper of himsa-conn, header only.
//
// The connection owns its native handle; results are plain C++ values copied out of the
// library's structs, which are freed at once. Failures throw himsa::Error, which carries the
// status, the HTTP status and the library's message as read right after the failing call.

#ifndef HIMSA_CONNECTION_HPP
#define HIMSA_CONNECTION_HPP

#include <himsa_conn.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace himsa {

/// The native library version this wrapper was written for; the first connection checks
/// that the loaded library has the same major and minor version.
inline constexpr std::string_view binding_version = "0.1.0";

/// Outcome of a native call, with the numbers of `HimsaStatus`.
enum class Status : std::uint32_t {
    ok = HIMSA_STATUS_OK,
    never_connected = HIMSA_STATUS_NEVER_CONNECTED,
    invalid_argument = HIMSA_STATUS_INVALID_ARGUMENT,
    invalid_utf8 = HIMSA_STATUS_INVALID_UTF8,
    network = HIMSA_STATUS_NETWORK,
    timeout = HIMSA_STATUS_TIMEOUT,
    tls = HIMSA_STATUS_TLS,
    proxy = HIMSA_STATUS_PROXY,
    unreadable_answer = HIMSA_STATUS_UNREADABLE_ANSWER,
    answer_too_large = HIMSA_STATUS_ANSWER_TOO_LARGE,
    bad_request = HIMSA_STATUS_BAD_REQUEST,
    unauthorized = HIMSA_STATUS_UNAUTHORIZED,
    forbidden = HIMSA_STATUS_FORBIDDEN,
    not_found = HIMSA_STATUS_NOT_FOUND,
    conflict = HIMSA_STATUS_CONFLICT,
    rate_limited = HIMSA_STATUS_RATE_LIMITED,
    http_client_error = HIMSA_STATUS_HTTP_CLIENT_ERROR,
    server_error = HIMSA_STATUS_SERVER_ERROR,
    cancelled = HIMSA_STATUS_CANCELLED,
    internal = HIMSA_STATUS_INTERNAL,
};

/// A user account access level; `unknown` for a level this version does not know (its
/// text is kept beside it).
enum class Level { unknown, limited, basic, advanced };

/// The state of one item; `unknown` for a state this version does not know.
enum class Access { unknown, granted, denied, pending_approval };

/// What the app can do now.
enum class Outcome { unknown, granted, pending_approval, denied, never_connected, not_requested };

/// Whether `ensure_access` may post a request.
enum class Policy : std::uint32_t {
    check_only = HIMSA_REQUEST_POLICY_CHECK_ONLY,
    if_needed = HIMSA_REQUEST_POLICY_IF_NEEDED,
    always = HIMSA_REQUEST_POLICY_ALWAYS,
};

/// Severity of a log line.
enum class LogLevel : std::uint32_t {
    error = HIMSA_LOG_LEVEL_ERROR,
    warn = HIMSA_LOG_LEVEL_WARN,
    info = HIMSA_LOG_LEVEL_INFO,
    debug = HIMSA_LOG_LEVEL_DEBUG,
};

/// A failed call: its status, the HTTP status the service answered (0 for none) and the
/// library's message, which says what failed and what to do about it.
class Error : public std::runtime_error {
public:
    Error(Status status, std::uint32_t http_status, const std::string& message)
        : std::runtime_error(message), status_(status), http_status_(http_status) {}

    Status status() const noexcept { return status_; }
    std::uint32_t http_status() const noexcept { return http_status_; }

    /// The status' name and meaning, for example "UNAUTHORIZED: ...".
    std::string status_text() const {
        return himsa_status_text(static_cast<std::uint32_t>(status_));
    }

private:
    Status status_;
    std::uint32_t http_status_;
};

/// One level and its state.
struct LevelAccess {
    Level level = Level::unknown;
    std::string level_text;
    Access access = Access::unknown;
    std::string access_text;
};

/// One patient field and its state.
struct FieldAccess {
    std::string field;
    Access access = Access::unknown;
    std::string access_text;
};

/// One data type and its state.
struct DataTypeAccess {
    std::int64_t data_type = 0;
    Access access = Access::unknown;
    std::string access_text;
};

/// A timestamp as the service sent it, and its instant when it could be read.
struct Timestamp {
    std::optional<std::string> text;
    /// Milliseconds since 1970-01-01T00:00:00Z; empty when `text` could not be read.
    std::optional<std::int64_t> unix_ms;
};

/// The app's current data access in the tenant.
struct DataAccess {
    std::vector<LevelAccess> levels;
    std::vector<FieldAccess> patient_fields;
    std::vector<DataTypeAccess> data_types;
    Timestamp created;
    /// Parts of the answer that could not be read.
    std::vector<std::string> warnings;
    /// The access as JSON, including members this version does not model.
    std::string json;

    /// The state of a level as listed; `unknown` when the level is not listed.
    Access level_state(Level level) const {
        for (const auto& entry : levels) {
            if (entry.level == level) {
                return entry.access;
            }
        }
        return Access::unknown;
    }

    /// The state of a patient field (exact name), or empty when not listed.
    std::optional<Access> field_state(std::string_view field) const {
        for (const auto& entry : patient_fields) {
            if (entry.field == field) {
                return entry.access;
            }
        }
        return std::nullopt;
    }
};

/// An app connection: the answer to a request for access.
struct AppConnection {
    std::string id;
    /// Where to send a browser so that a user can approve; may be empty.
    std::string portal_url;
    bool current_user_can_approve = false;
    /// Empty right after the app's first request.
    std::optional<DataAccess> current_data_access;
    Timestamp created;
    std::vector<std::string> warnings;
    std::string json;
};

/// The planner's answer.
struct Decision {
    Outcome outcome = Outcome::unknown;
    /// The outcome number as the library gave it (meaningful when `outcome` is unknown).
    std::uint32_t raw_outcome = 0;
    /// Whether this call posted a request for access.
    bool requested = false;
    bool user_can_approve = false;
    std::string portal_url;
    std::optional<DataAccess> current_data_access;
    std::optional<AppConnection> connection;
    std::string json;
};

/// What to ask for, or what is needed.
struct AccessRequest {
    Level level = Level::limited;
    std::vector<std::string> patient_fields;
    std::vector<std::int64_t> data_types;
};

/// Whether the service announced that it will retire this API version.
struct Deprecation {
    bool deprecated = false;
    std::optional<std::string> sunset_date;
};

/// Receives the library's log lines; may be called from any thread calling the library.
using LogFunction = std::function<void(LogLevel, std::string_view)>;

namespace detail {

inline std::string copy(const char* text) { return text != nullptr ? std::string(text) : ""; }

/// Throws the error of the call that just returned `status`, read on this thread at once.
inline void check(HimsaStatus status) {
    if (status == HIMSA_STATUS_OK) {
        return;
    }
    throw Error(static_cast<Status>(status), himsa_last_http_status(),
                copy(himsa_last_error_message()));
}

/// The text of an argument for the C ABI; a NUL inside would silently cut it short.
inline const char* c_str(const std::string& text, const char* name) {
    if (text.find('\0') != std::string::npos) {
        throw Error(Status::invalid_argument, 0, std::string(name) + " contains a NUL character");
    }
    return text.c_str();
}

struct ConnFree {
    void operator()(HimsaConn* conn) const noexcept { himsa_conn_free(conn); }
};
struct OptionsFree {
    void operator()(HimsaOptions* options) const noexcept { himsa_options_free(options); }
};
struct DataAccessFree {
    void operator()(HimsaDataAccess* access) const noexcept { himsa_data_access_free(access); }
};
struct AppConnectionFree {
    void operator()(HimsaAppConnection* c) const noexcept { himsa_app_connection_free(c); }
};
struct DecisionFree {
    void operator()(HimsaDecision* decision) const noexcept { himsa_decision_free(decision); }
};
struct StringFree {
    void operator()(char* text) const noexcept { himsa_string_free(text); }
};

using StringPtr = std::unique_ptr<char, StringFree>;

inline Level level_of(HimsaLevel level) {
    switch (level) {
    case HIMSA_LEVEL_LIMITED: return Level::limited;
    case HIMSA_LEVEL_BASIC: return Level::basic;
    case HIMSA_LEVEL_ADVANCED: return Level::advanced;
    default: return Level::unknown;
    }
}

inline Access access_of(HimsaAccess access) {
    switch (access) {
    case HIMSA_ACCESS_GRANTED: return Access::granted;
    case HIMSA_ACCESS_DENIED: return Access::denied;
    case HIMSA_ACCESS_PENDING_APPROVAL: return Access::pending_approval;
    default: return Access::unknown;
    }
}

inline Outcome outcome_of(HimsaOutcome outcome) {
    switch (outcome) {
    case HIMSA_OUTCOME_GRANTED: return Outcome::granted;
    case HIMSA_OUTCOME_PENDING_APPROVAL: return Outcome::pending_approval;
    case HIMSA_OUTCOME_DENIED: return Outcome::denied;
    case HIMSA_OUTCOME_NEVER_CONNECTED: return Outcome::never_connected;
    case HIMSA_OUTCOME_NOT_REQUESTED: return Outcome::not_requested;
    default: return Outcome::unknown;
    }
}

inline Timestamp timestamp_of(const HimsaTimestamp& stamp) {
    Timestamp out;
    if (stamp.text != nullptr) {
        out.text = stamp.text;
    }
    if (stamp.valid != 0) {
        out.unix_ms = stamp.unix_ms;
    }
    return out;
}

inline std::vector<std::string> strings_of(const char* const* items, std::uint32_t len) {
    std::vector<std::string> out;
    out.reserve(len);
    for (std::uint32_t i = 0; i < len; ++i) {
        out.push_back(copy(items[i]));
    }
    return out;
}

inline DataAccess data_access_of(const HimsaDataAccess& c) {
    DataAccess out;
    for (std::uint32_t i = 0; i < c.levels_len; ++i) {
        const auto& e = c.levels[i];
        out.levels.push_back(
            {level_of(e.level), copy(e.level_text), access_of(e.access), copy(e.access_text)});
    }
    for (std::uint32_t i = 0; i < c.patient_fields_len; ++i) {
        const auto& e = c.patient_fields[i];
        out.patient_fields.push_back({copy(e.field), access_of(e.access), copy(e.access_text)});
    }
    for (std::uint32_t i = 0; i < c.data_types_len; ++i) {
        const auto& e = c.data_types[i];
        out.data_types.push_back({e.data_type, access_of(e.access), copy(e.access_text)});
    }
    out.created = timestamp_of(c.created);
    out.warnings = strings_of(c.warnings, c.warnings_len);
    out.json = copy(c.json);
    return out;
}

inline AppConnection app_connection_of(const HimsaAppConnection& c) {
    AppConnection out;
    out.id = copy(c.app_connection_id);
    out.portal_url = copy(c.app_portal_url);
    out.current_user_can_approve = c.current_user_can_approve != 0;
    if (c.current_data_access != nullptr) {
        out.current_data_access = data_access_of(*c.current_data_access);
    }
    out.created = timestamp_of(c.created);
    out.warnings = strings_of(c.warnings, c.warnings_len);
    out.json = copy(c.json);
    return out;
}

inline Decision decision_of(const HimsaDecision& c) {
    Decision out;
    out.outcome = outcome_of(c.outcome);
    out.raw_outcome = static_cast<std::uint32_t>(c.outcome);
    out.requested = c.requested != 0;
    out.user_can_approve = c.user_can_approve != 0;
    out.portal_url = copy(c.portal_url);
    if (c.current_data_access != nullptr) {
        out.current_data_access = data_access_of(*c.current_data_access);
    }
    if (c.connection != nullptr) {
        out.connection = app_connection_of(*c.connection);
    }
    out.json = copy(c.json);
    return out;
}

/// A `HimsaAccessRequest` borrowing from an `AccessRequest` that outlives it.
class NativeRequest {
public:
    explicit NativeRequest(const AccessRequest& request) {
        for (const auto& field : request.patient_fields) {
            fields_.push_back(c_str(field, "patient_fields"));
        }
        switch (request.level) {
        case Level::limited: c_.level = HIMSA_LEVEL_LIMITED; break;
        case Level::basic: c_.level = HIMSA_LEVEL_BASIC; break;
        case Level::advanced: c_.level = HIMSA_LEVEL_ADVANCED; break;
        default: c_.level = HIMSA_LEVEL_UNKNOWN; break;
        }
        c_.patient_fields = fields_.empty() ? nullptr : fields_.data();
        c_.patient_fields_len = static_cast<std::uint32_t>(fields_.size());
        c_.data_types = request.data_types.empty() ? nullptr : request.data_types.data();
        c_.data_types_len = static_cast<std::uint32_t>(request.data_types.size());
    }
    const HimsaAccessRequest* get() const noexcept { return &c_; }

private:
    std::vector<const char*> fields_;
    HimsaAccessRequest c_{};
};

inline void log_trampoline(HimsaLogLevel level, const char* message, void* user_data) {
    auto* log = static_cast<const LogFunction*>(user_data);
    try {
        (*log)(static_cast<LogLevel>(level), message != nullptr ? message : "");
    } catch (...) {
        // An exception must not unwind through the library.
    }
}

inline int version_part(std::string_view version, int index) {
    for (int i = 0; i < index; ++i) {
        auto dot = version.find('.');
        if (dot == std::string_view::npos) {
            return -1;
        }
        version.remove_prefix(dot + 1);
    }
    return std::atoi(std::string(version.substr(0, version.find('.'))).c_str());
}

/// Throws unless the loaded library's major and minor version are the wrapper's.
inline void check_version() {
    static const bool matches = [] {
        std::string_view native = himsa_version();
        return version_part(native, 0) == version_part(binding_version, 0) &&
               version_part(native, 1) == version_part(binding_version, 1);
    }();
    if (!matches) {
        throw Error(Status::internal, 0,
                    std::string("the loaded himsa_conn library is version ") + himsa_version() +
                        " but this wrapper was written for " + std::string(binding_version));
    }
}

} // namespace detail

/// Settings for a connection, applied when it is created; every setting left alone keeps
/// the library's default. Copyable; invalid values are reported by the constructor of
/// `Connection`.
class Options {
public:
    Options& user_agent(std::string value) { user_agent_ = std::move(value); return *this; }

    Options& timeouts(std::chrono::milliseconds connect, std::chrono::milliseconds request,
                      std::chrono::milliseconds overall) {
        timeouts_ = {{ms(connect), ms(request), ms(overall)}};
        return *this;
    }

    Options& retries(std::uint32_t max_retries, std::chrono::milliseconds max_wait) {
        retries_ = {{max_retries, ms(max_wait)}};
        return *this;
    }

    /// A proxy URL such as "http://proxy:3128"; "" connects directly.
    Options& proxy(std::string url) { proxy_ = std::move(url); return *this; }

    Options& add_ca_pem(std::string pem) { ca_pems_.push_back(std::move(pem)); return *this; }

    Options& max_answer_bytes(std::uint64_t bytes) { max_answer_bytes_ = bytes; return *this; }

    Options& poll_interval(std::chrono::milliseconds first, std::chrono::milliseconds longest) {
        poll_ = {{ms(first), ms(longest)}};
        return *this;
    }

    /// Sends log lines up to `max_level` to `log`, which must not call into the library.
    Options& log(LogFunction log, LogLevel max_level = LogLevel::info) {
        log_ = std::make_shared<const LogFunction>(std::move(log));
        log_level_ = max_level;
        return *this;
    }

private:
    friend class Connection;

    /// Milliseconds as the C interface takes them: zero or less becomes 0, which the library
    /// refuses as invalid, and more than 32 bits hold (about 49 days) becomes the largest
    /// value, never a silently wrapped small one.
    static std::uint32_t ms(std::chrono::milliseconds value) {
        constexpr auto largest = std::numeric_limits<std::uint32_t>::max();
        if (value.count() <= 0) {
            return 0;
        }
        if (static_cast<std::uint64_t>(value.count()) > largest) {
            return largest;
        }
        return static_cast<std::uint32_t>(value.count());
    }

    struct NativeOptions {
        std::unique_ptr<HimsaOptions, detail::OptionsFree> ptr;
    };

    NativeOptions build() const {
        HimsaOptions* raw = nullptr;
        detail::check(himsa_options_new(&raw));
        NativeOptions out{std::unique_ptr<HimsaOptions, detail::OptionsFree>(raw)};
        HimsaOptions* o = out.ptr.get();
        if (user_agent_) {
            detail::check(himsa_options_set_user_agent(o, detail::c_str(*user_agent_,
                                                                          "user_agent")));
        }
        if (timeouts_) {
            const auto& t = *timeouts_;
            detail::check(himsa_options_set_timeouts(o, t[0], t[1], t[2]));
        }
        if (retries_) {
            detail::check(himsa_options_set_retries(o, (*retries_)[0], (*retries_)[1]));
        }
        if (proxy_) {
            detail::check(himsa_options_set_proxy(o, detail::c_str(*proxy_, "proxy")));
        }
        for (const auto& pem : ca_pems_) {
            detail::check(himsa_options_add_ca_pem(o, detail::c_str(pem, "pem")));
        }
        if (max_answer_bytes_) {
            detail::check(himsa_options_set_max_answer_bytes(o, *max_answer_bytes_));
        }
        if (poll_) {
            detail::check(himsa_options_set_poll_interval(o, (*poll_)[0], (*poll_)[1]));
        }
        if (log_) {
            // The connection keeps `log_` alive for as long as its handle lives.
            void* user = const_cast<LogFunction*>(log_.get());
            detail::check(himsa_options_set_log_callback(
                o, detail::log_trampoline, user, static_cast<std::uint32_t>(log_level_)));
        }
        return out;
    }

    template <std::size_t N> using Numbers = std::optional<std::array<std::uint32_t, N>>;

    std::optional<std::string> user_agent_;
    Numbers<3> timeouts_;
    Numbers<2> retries_;
    std::optional<std::string> proxy_;
    std::vector<std::string> ca_pems_;
    std::optional<std::uint64_t> max_answer_bytes_;
    Numbers<2> poll_;
    std::shared_ptr<const LogFunction> log_;
    LogLevel log_level_ = LogLevel::info;
};

/// A connection to the App Connection API for one tenant. Move-only; every call may be
/// made from many threads at once. A moved-from connection throws `Error` with
/// `Status::invalid_argument` on every call.
class Connection {
public:
    /// Connects nothing yet: validates the arguments and creates the handle. `base_url` is
    /// the ID token's `api` claim, `tenant_id` its `tenantid` claim.
    Connection(const std::string& base_url, const std::string& tenant_id,
               const std::string& access_token, const Options& options = Options()) {
        detail::check_version();
        auto native = options.build();
        HimsaConn* raw = nullptr;
        detail::check(himsa_conn_new(detail::c_str(base_url, "base_url"),
                                     detail::c_str(tenant_id, "tenant_id"),
                                     detail::c_str(access_token, "access_token"),
                                     native.ptr.get(), &raw));
        log_ = options.log_;
        handle_.reset(raw);
    }

    Connection(Connection&&) noexcept = default;
    Connection& operator=(Connection&&) noexcept = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() = default;

    /// The current data access; empty when the app was never connected in the tenant.
    std::optional<DataAccess> current_access() const {
        HimsaDataAccess* raw = nullptr;
        HimsaStatus status = himsa_conn_current_access(handle_.get(), &raw);
        if (status == HIMSA_STATUS_NEVER_CONNECTED) {
            return std::nullopt;
        }
        detail::check(status);
        std::unique_ptr<HimsaDataAccess, detail::DataAccessFree> owned(raw);
        return detail::data_access_of(*owned);
    }

    /// The current access as the service sent it; empty when never connected.
    std::optional<std::string> current_access_json() const {
        char* raw = nullptr;
        HimsaStatus status = himsa_conn_current_access_json(handle_.get(), &raw);
        if (status == HIMSA_STATUS_NEVER_CONNECTED) {
            return std::nullopt;
        }
        detail::check(status);
        return std::string(detail::StringPtr(raw).get());
    }

    /// Asks for exactly `request`. Prefer `ensure_access`, which never asks for less than
    /// is already granted.
    AppConnection request(const AccessRequest& request) const {
        detail::NativeRequest native(request);
        HimsaAppConnection* raw = nullptr;
        detail::check(himsa_conn_request(handle_.get(), native.get(), &raw));
        std::unique_ptr<HimsaAppConnection, detail::AppConnectionFree> owned(raw);
        return detail::app_connection_of(*owned);
    }

    /// The app connection; throws `Error` with `Status::not_found` when the app never
    /// asked for access in the tenant.
    AppConnection app_connection() const {
        HimsaAppConnection* raw = nullptr;
        detail::check(himsa_conn_app_connection(handle_.get(), &raw));
        std::unique_ptr<HimsaAppConnection, detail::AppConnectionFree> owned(raw);
        return detail::app_connection_of(*owned);
    }

    /// As `app_connection`, empty instead of throwing when there is none.
    std::optional<AppConnection> try_app_connection() const {
        HimsaAppConnection* raw = nullptr;
        HimsaStatus status = himsa_conn_app_connection(handle_.get(), &raw);
        if (status == HIMSA_STATUS_NOT_FOUND) {
            return std::nullopt;
        }
        detail::check(status);
        std::unique_ptr<HimsaAppConnection, detail::AppConnectionFree> owned(raw);
        return detail::app_connection_of(*owned);
    }

    /// Decides for `need` and, as `policy` allows, asks for it (never for less than is
    /// already granted or pending).
    Decision ensure_access(const AccessRequest& need, Policy policy = Policy::if_needed) const {
        detail::NativeRequest native(need);
        HimsaDecision* raw = nullptr;
        detail::check(himsa_conn_ensure_access(handle_.get(), native.get(),
                                               static_cast<std::uint32_t>(policy), &raw));
        std::unique_ptr<HimsaDecision, detail::DecisionFree> owned(raw);
        return detail::decision_of(*owned);
    }

    /// Waits until `need` is granted or denied, polling; throws `Error` with
    /// `Status::timeout` when still pending after `timeout` and `Status::cancelled` after
    /// `cancel()`.
    Decision wait_for_approval(const AccessRequest& need,
                               std::chrono::milliseconds timeout) const {
        detail::NativeRequest native(need);
        HimsaDecision* raw = nullptr;
        detail::check(himsa_conn_wait_for_approval(handle_.get(), native.get(),
                                                   static_cast<std::int64_t>(timeout.count()),
                                                   &raw));
        std::unique_ptr<HimsaDecision, detail::DecisionFree> owned(raw);
        return detail::decision_of(*owned);
    }

    /// Replaces the access token for the calls that start afterwards.
    void set_access_token(const std::string& access_token) const {
        detail::check(himsa_conn_set_access_token(handle_.get(),
                                                  detail::c_str(access_token, "access_token")));
    }

    /// Cancels every call in progress on this connection, from any thread.
    void cancel() const { detail::check(himsa_conn_cancel(handle_.get())); }

    /// The deprecation notice of the latest answer that carried one.
    Deprecation deprecation() const {
        std::uint8_t deprecated = 0;
        char* sunset = nullptr;
        detail::check(himsa_conn_deprecation(handle_.get(), &deprecated, &sunset));
        detail::StringPtr owned(sunset);
        Deprecation out;
        out.deprecated = deprecated != 0;
        if (owned) {
            out.sunset_date = std::string(owned.get());
        }
        return out;
    }

    /// The native handle, still owned by this object (for calls the wrapper lacks).
    HimsaConn* native_handle() const noexcept { return handle_.get(); }

private:
    // Declared before the handle so that the handle is freed first.
    std::shared_ptr<const LogFunction> log_;
    std::unique_ptr<HimsaConn, detail::ConnFree> handle_;
};

/// The loaded native library's version.
inline std::string native_version() { return himsa_version(); }

} // namespace himsa

#endif // HIMSA_CONNECTION_HPP
