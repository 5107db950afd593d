// PostgreSQL transactions under a policy, with libpq: a connection that resets itself when it
// is broken, a transaction handle, and `run_transaction`, which runs BEGIN / the caller's
// function / COMMIT and, when the policy retries, rolls back and runs the whole transaction
// again. Failures carry their SQLSTATE and are classified by <redress/extras/sqlstate.hpp>'s
// table (docs/integrations.md, "PostgreSQL with libpq").
#pragma once

#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <redress/classification.hpp>
#include <redress/classify.hpp>
#include <redress/error_class.hpp>
#include <redress/errors.hpp>
#include <redress/extras/sqlstate.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>

namespace redress::contrib::postgres {

// ---- errors and their classes ----------------------------------------------------------

/// How a PostgreSQL operation failed, beyond its SQLSTATE.
enum class FailureKind {
    /// The server reported an error; the connection is still usable.
    Server,
    /// The connection broke during a statement (server gone, backend terminated, network).
    /// Nothing was committed: the server rolls back a transaction whose connection died.
    ConnectionLost,
    /// Connecting, or reconnecting a broken connection, failed.
    ConnectFailed,
    /// The connection broke while COMMIT was in flight: the transaction may or may not have
    /// committed. Never retried by `postgres_classifier` (running it again could apply it twice).
    CommitUnknown,
};

/// A PostgreSQL failure: the server's SQLSTATE (empty when libpq reported the failure itself,
/// e.g. a refused connection), its `FailureKind`, and `what()` = the server's primary message
/// followed by `(SQLSTATE xxxxx)`. An `extras::SqlError`, so `extras::sqlstate_classifier`
/// reads it too; `postgres_classifier` also reads its kind.
class PostgresError : public redress::extras::SqlError {
public:
    /// `sqlstate` may be empty; `message` is the `what()` text.
    PostgresError(FailureKind kind, std::string sqlstate, const std::string& message)
        : redress::extras::SqlError(std::move(sqlstate), message), kind_(kind) {}

    /// Whether the server answered, the connection broke, connecting failed, or COMMIT's
    /// outcome is unknown.
    [[nodiscard]] FailureKind kind() const noexcept { return kind_; }
    /// True when the connection is gone (`ConnectionLost`, `ConnectFailed`, `CommitUnknown`).
    [[nodiscard]] bool connection_broken() const noexcept { return kind_ != FailureKind::Server; }

private:
    FailureKind kind_;
};

/// The class of a PostgreSQL failure:
/// * `CommitUnknown` → `Permanent` (retrying might commit twice); `ConnectionLost` and
///   `ConnectFailed` → `Transient`, whatever the SQLSTATE (a terminated backend sends 57P01);
/// * a server error: `extras::classify_sqlstate` first (40001, 40P01 → `Concurrency`; class 08,
///   HYT00, HYT01 → `Transient`; class 28 → `Auth`; 42000, 42P01 → `Permanent`). Where that
///   table says `Unknown`, PostgreSQL's own codes: 57P01, 57P02, 57P03 (shutdown, crash,
///   starting up) and 53300 (too many connections) → `Transient`; 55P03 (lock not available)
///   → `Concurrency`; 42501 (insufficient privilege) → `Permission`; the rest of classes 22
///   (data exception), 23 (integrity constraint violation, e.g. 23505) and 42 (syntax error
///   or access rule violation, e.g. 42601) → `Permanent`: the same statement on the same
///   data fails the same way. Anything else `Unknown`.
/// Constant time; never throws.
[[nodiscard]] constexpr ErrorClass classify_postgres(FailureKind kind, std::string_view sqlstate) noexcept {
    switch (kind) {
        case FailureKind::CommitUnknown: return ErrorClass::Permanent;
        case FailureKind::ConnectionLost:
        case FailureKind::ConnectFailed: return ErrorClass::Transient;
        case FailureKind::Server: break;
    }
    if (const auto klass = redress::extras::classify_sqlstate(sqlstate); klass != ErrorClass::Unknown) return klass;
    if (sqlstate.size() != 5) return ErrorClass::Unknown;
    if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "53300")
        return ErrorClass::Transient;
    if (sqlstate == "55P03") return ErrorClass::Concurrency;
    if (sqlstate == "42501") return ErrorClass::Permission;
    const std::string_view klass = sqlstate.substr(0, 2);
    if (klass == "22" || klass == "23" || klass == "42") return ErrorClass::Permanent;
    return ErrorClass::Unknown;
}

/// `PostgresError` → `classify_postgres(kind(), sqlstate())`; another `extras::SqlError` →
/// `classify_postgres(Server, sqlstate())`; everything else (what the transaction function
/// throws itself) as `redress::default_classifier`. Stateless; thread-safe; never throws.
struct PostgresClassifier {
    /// The classification of the exception `error` holds (`Unknown` for an empty pointer).
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        if (!error) return Classification{};
        return redress::detail::with_thrown(error, [](const redress::detail::ThrownView& thrown) {
            if (const auto* e = thrown.as<PostgresError>()) return Classification{classify_postgres(e->kind(), e->sqlstate())};
            if (const auto* e = thrown.as<redress::extras::SqlError>())
                return Classification{classify_postgres(FailureKind::Server, e->sqlstate())};
            return Classification{redress::detail::classify_thrown(thrown, true)};
        });
    }
};

/// `.classifier = redress::contrib::postgres::postgres_classifier`
inline constexpr PostgresClassifier postgres_classifier{};

// ---- results -----------------------------------------------------------------------------

namespace detail {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <class>
inline constexpr bool always_false = false;

/// libpq's error text without its trailing newline.
[[nodiscard]] inline std::string trimmed(const char* text) {
    std::string s = text != nullptr ? text : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

/// The `PostgresError` for a failed statement: the server's SQLSTATE and primary message
/// when it sent one, libpq's message otherwise; `ConnectionLost` when the connection is gone.
[[nodiscard]] inline PostgresError statement_error(PGconn* conn, const PGresult* result,
                                                   FailureKind broken = FailureKind::ConnectionLost) {
    const char* code = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string message = "redress: postgres: ";
    message += primary != nullptr ? std::string(primary)
               : result != nullptr ? trimmed(PQresultErrorMessage(result))
                                   : trimmed(PQerrorMessage(conn));
    if (code != nullptr) (message += " (SQLSTATE ") += std::string(code) + ")";
    const FailureKind kind = PQstatus(conn) == CONNECTION_OK ? FailureKind::Server : broken;
    if (kind == FailureKind::CommitUnknown) message += "; the connection broke during COMMIT: it may have committed";
    return PostgresError(kind, code != nullptr ? code : "", message);
}

/// A result that owns its `PGresult`.
struct ResultDeleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};

}  // namespace detail

/// The rows (or command status) of a successful statement, in libpq's text format. Owns its
/// `PGresult` (move-only). Views it returns are valid while it lives. Reading is thread-safe;
/// no member allocates except `get<std::string>`.
class Result {
public:
    /// Takes ownership of `result` (may be null: an empty result).
    explicit Result(PGresult* result) noexcept : result_(result) {}
    /// Takes `other`'s result; `other` is left empty.
    Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
    /// Frees this result and takes `other`'s; `other` is left empty.
    Result& operator=(Result&& other) noexcept {
        if (this != &other) {
            if (result_ != nullptr) PQclear(result_);
            result_ = std::exchange(other.result_, nullptr);
        }
        return *this;
    }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    ~Result() {
        if (result_ != nullptr) PQclear(result_);
    }

    /// Rows returned (0 for a command).
    [[nodiscard]] int rows() const noexcept { return result_ != nullptr ? PQntuples(result_) : 0; }
    /// Columns returned (0 for a command).
    [[nodiscard]] int columns() const noexcept { return result_ != nullptr ? PQnfields(result_) : 0; }
    /// Rows an INSERT, UPDATE, DELETE, SELECT, ... affected (`PQcmdTuples`); 0 when it does not say.
    [[nodiscard]] long long affected_rows() const noexcept {
        if (result_ == nullptr) return 0;
        const std::string_view text = PQcmdTuples(result_);
        long long n = 0;
        std::from_chars(text.data(), text.data() + text.size(), n);
        return n;
    }
    /// The command tag (`"INSERT 0 1"`, `"UPDATE 2"`).
    [[nodiscard]] std::string_view command_status() const noexcept {
        return result_ != nullptr ? PQcmdStatus(result_) : std::string_view{};
    }
    /// The index of the column named `name`, or -1.
    [[nodiscard]] int column(const std::string& name) const noexcept {
        return result_ != nullptr ? PQfnumber(result_, name.c_str()) : -1;
    }
    /// True when the value at (`row`, `column`) is NULL. Throws `std::out_of_range` outside the result.
    [[nodiscard]] bool is_null(int row, int column) const {
        check(row, column);
        return PQgetisnull(result_, row, column) != 0;
    }
    /// The value at (`row`, `column`) as the server sent it (empty for NULL). Throws
    /// `std::out_of_range` outside the result.
    [[nodiscard]] std::string_view text(int row, int column) const {
        check(row, column);
        return {PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column))};
    }
    /// The value at (`row`, `column`) (default the first) as `T`: `std::string`,
    /// `std::string_view`, `bool`, an integer or floating-point type, or `std::optional` of
    /// one (empty for NULL). Throws `std::out_of_range` outside the result and
    /// `std::invalid_argument` for NULL into a non-optional or text that is not a `T`.
    template <class T>
    [[nodiscard]] T get(int row = 0, int column = 0) const {
        if constexpr (detail::IsOptional<T>::value) {
            if (is_null(row, column)) return std::nullopt;
            return get<typename T::value_type>(row, column);
        } else {
            if (is_null(row, column))
                throw std::invalid_argument(where(row, column) + " is NULL: read it as a std::optional");
            const std::string_view value = text(row, column);
            if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
                return T(value);
            } else if constexpr (std::is_same_v<T, bool>) {
                if (value == "t") return true;
                if (value == "f") return false;
                throw std::invalid_argument(where(row, column) + " is not a boolean: " + std::string(value));
            } else if constexpr (std::is_arithmetic_v<T>) {
                T out{};
                const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
                if (ec != std::errc{} || end != value.data() + value.size())
                    throw std::invalid_argument(where(row, column) + " is not a number of the requested type: " +
                                                std::string(value));
                return out;
            } else {
                static_assert(detail::always_false<T>,
                              "redress: Result::get<T> reads std::string, std::string_view, bool, a number, or "
                              "std::optional of one");
            }
        }
    }

    /// The libpq result (null for an empty one); still owned by this object.
    [[nodiscard]] PGresult* native() const noexcept { return result_; }

private:
    void check(int row, int column) const {
        if (row < 0 || row >= rows() || column < 0 || column >= columns())
            throw std::out_of_range("redress: postgres: no value at row " + std::to_string(row) + ", column " +
                                    std::to_string(column) + " (the result has " + std::to_string(rows()) +
                                    " rows of " + std::to_string(columns()) + " columns)");
    }
    [[nodiscard]] static std::string where(int row, int column) {
        return "redress: postgres: the value at row " + std::to_string(row) + ", column " + std::to_string(column);
    }

    PGresult* result_ = nullptr;
};

namespace detail {

/// One query parameter in text format (or NULL).
struct Param {
    std::string text;
    bool null = false;
};

template <class T>
void to_param(const T& value, Param& out) {
    using U = std::remove_cvref_t<T>;
    if constexpr (std::is_same_v<U, std::nullptr_t> || std::is_same_v<U, std::nullopt_t>) {
        out.null = true;
    } else if constexpr (IsOptional<U>::value) {
        if (value) {
            to_param(*value, out);
        } else {
            out.null = true;
        }
    } else if constexpr (std::is_same_v<U, bool>) {
        out.text = value ? "true" : "false";
    } else if constexpr (std::is_arithmetic_v<U>) {
        std::array<char, 64> buffer{};
        const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
        out.text.assign(buffer.data(), ec == std::errc{} ? end : buffer.data());
    } else if constexpr (std::is_convertible_v<const U&, std::string_view>) {
        out.text = std::string_view(value);
    } else {
        static_assert(always_false<U>,
                      "redress: a query parameter is a string, bool, a number, std::optional of one, or std::nullopt");
    }
}

/// Runs `sql` on `conn` (PQexec without parameters, so the text may hold several statements;
/// PQexecParams with them, `$1`, `$2`, ... in text format). Throws `PostgresError`.
template <class... P>
[[nodiscard]] Result exec(PGconn* conn, std::string_view sql, const P&... params) {
    if (conn == nullptr) throw std::logic_error("redress: postgres: exec on a moved-from Connection");
    const std::string statement(sql);
    PGresult* raw = nullptr;
    if constexpr (sizeof...(P) == 0) {
        raw = PQexec(conn, statement.c_str());
    } else {
        std::array<Param, sizeof...(P)> values{};
        std::size_t i = 0;
        (to_param(params, values[i++]), ...);
        std::array<const char*, sizeof...(P)> pointers{};
        for (std::size_t k = 0; k < values.size(); ++k) pointers[k] = values[k].null ? nullptr : values[k].text.c_str();
        raw = PQexecParams(conn, statement.c_str(), static_cast<int>(sizeof...(P)), nullptr, pointers.data(), nullptr,
                           nullptr, 0);
    }
    Result result(raw);
    const ExecStatusType status = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return result;
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH)
        throw redress::PermanentError("redress: postgres: exec does not stream COPY FROM STDIN / TO STDOUT (use native())");
    throw statement_error(conn, raw);
}

}  // namespace detail

// ---- the connection --------------------------------------------------------------------------

/// One libpq connection (owns the `PGconn`, closed by the destructor) and the conninfo it
/// was opened with, so it can reconnect. Move-only. Not thread-safe: one thread uses a
/// connection at a time (give each thread its own); a policy may be shared.
class Connection {
public:
    /// Connects with `conninfo` (`"host=127.0.0.1 port=5432 dbname=app"` or a
    /// `postgresql://` URI; empty means libpq's defaults and environment). Throws
    /// `redress::InvalidOption` (a `std::invalid_argument`) naming `conninfo` when libpq cannot
    /// parse it, and `PostgresError` (`ConnectFailed`, `Transient`) when connecting fails;
    /// `policy.call([&] { return Connection(info); })` retries that.
    explicit Connection(std::string conninfo) : conninfo_(std::move(conninfo)) {
        char* error = nullptr;
        PQconninfoOption* parsed = PQconninfoParse(conninfo_.c_str(), &error);
        if (parsed == nullptr) {
            const std::string why = error != nullptr ? detail::trimmed(error) : "is not valid (out of memory?)";
            PQfreemem(error);
            redress::detail::invalid_option("Connection", "conninfo", "cannot be parsed: " + why);
        }
        PQconninfoFree(parsed);
        conn_ = PQconnectdb(conninfo_.c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            PostgresError failure = connect_error();
            PQfinish(conn_);
            throw failure;
        }
    }
    /// Takes `other`'s connection; `other` is left without one.
    Connection(Connection&& other) noexcept
        : conninfo_(std::move(other.conninfo_)), conn_(std::exchange(other.conn_, nullptr)), resets_(other.resets_) {}
    /// Closes this connection and takes `other`'s; `other` is left without one.
    Connection& operator=(Connection&& other) noexcept {
        if (this != &other) {
            if (conn_ != nullptr) PQfinish(conn_);
            conninfo_ = std::move(other.conninfo_);
            conn_ = std::exchange(other.conn_, nullptr);
            resets_ = other.resets_;
        }
        return *this;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        if (conn_ != nullptr) PQfinish(conn_);
    }

    /// Runs `sql` outside any transaction run by `run_transaction` (autocommit), with `$1`,
    /// `$2`, ... bound to `params` (strings, numbers, bool, `std::optional`, `std::nullopt`
    /// for NULL; sent as text). Without parameters the text may hold several statements.
    /// Throws `PostgresError`; not retried (call it under a policy to retry it).
    template <class... P>
    Result exec(std::string_view sql, const P&... params) {
        return detail::exec(conn_, sql, params...);
    }

    /// True when the connection is up as far as libpq knows (`CONNECTION_OK`) and no
    /// transaction is open. libpq notices a dead server only at the next I/O.
    [[nodiscard]] bool idle() const noexcept {
        return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
    }
    /// Reconnects with the same conninfo (`PQreset`): a new server session, whose session
    /// state (prepared statements, `SET`s, temporary tables) starts empty. Throws
    /// `PostgresError` (`ConnectFailed`) when the server cannot be reached; the connection
    /// stays broken and the next `reset()` tries again.
    void reset() {
        if (conn_ == nullptr) throw std::logic_error("redress: postgres: reset of a moved-from Connection");
        ++resets_;
        PQreset(conn_);
        if (PQstatus(conn_) != CONNECTION_OK) throw connect_error();
    }
    /// How many times `reset()` ran (run_transaction resets a broken connection before an attempt).
    [[nodiscard]] int resets() const noexcept { return resets_; }
    /// The server process serving this connection (`PQbackendPID`): it changes on reconnect.
    [[nodiscard]] int backend_pid() const noexcept { return conn_ != nullptr ? PQbackendPID(conn_) : 0; }
    /// The conninfo the connection was opened with.
    [[nodiscard]] const std::string& conninfo() const noexcept { return conninfo_; }
    /// The libpq connection, still owned by this object (null after a move).
    [[nodiscard]] PGconn* native() const noexcept { return conn_; }

private:
    [[nodiscard]] PostgresError connect_error() const {
        return PostgresError(FailureKind::ConnectFailed, "",
                             "redress: postgres: connecting failed: " + detail::trimmed(PQerrorMessage(conn_)));
    }

    std::string conninfo_;
    PGconn* conn_ = nullptr;
    int resets_ = 0;
};

// ---- transactions ------------------------------------------------------------------------------

/// The isolation level of `BEGIN`.
enum class Isolation {
    /// Plain `BEGIN`: the server's `default_transaction_isolation` (READ COMMITTED unless set).
    ServerDefault,
    ReadCommitted,
    RepeatableRead,
    Serializable,
};

/// How `run_transaction` opens and closes each attempt. Invalid combinations throw
/// `redress::InvalidOption` (a `std::invalid_argument`) naming the option.
struct TransactionOptions {
    /// `BEGIN ISOLATION LEVEL ...`. Default `ServerDefault`.
    Isolation isolation = Isolation::ServerDefault;
    /// `READ ONLY`. Default false (the server's default, normally READ WRITE).
    bool read_only = false;
    /// `DEFERRABLE`: wait for a snapshot that cannot fail with 40001. Valid only with
    /// `isolation = Serializable` and `read_only`, the only case where it has an effect.
    bool deferrable = false;
    /// When the connection breaks during COMMIT, the transaction may have committed. Default
    /// false: the failure is a `PostgresError` of kind `CommitUnknown`, classified `Permanent`
    /// (not retried). True: it is reported as `ConnectionLost` and retried like any
    /// connection loss, for transactions that are safe to apply twice.
    bool retry_unknown_commit = false;
};

namespace detail {

inline void validate(const TransactionOptions& options) {
    switch (options.isolation) {
        case Isolation::ServerDefault:
        case Isolation::ReadCommitted:
        case Isolation::RepeatableRead:
        case Isolation::Serializable: break;
        default: redress::detail::invalid_option("TransactionOptions", "isolation", "is not an Isolation value");
    }
    if (options.deferrable && (options.isolation != Isolation::Serializable || !options.read_only))
        redress::detail::invalid_option("TransactionOptions", "deferrable",
                                        "needs isolation = Serializable and read_only = true (it has no effect otherwise)");
}

[[nodiscard]] inline std::string begin_statement(const TransactionOptions& options) {
    std::string sql = "BEGIN";
    switch (options.isolation) {
        case Isolation::ServerDefault: break;
        case Isolation::ReadCommitted: sql += " ISOLATION LEVEL READ COMMITTED"; break;
        case Isolation::RepeatableRead: sql += " ISOLATION LEVEL REPEATABLE READ"; break;
        case Isolation::Serializable: sql += " ISOLATION LEVEL SERIALIZABLE"; break;
    }
    if (options.read_only) sql += " READ ONLY";
    if (options.deferrable) sql += " DEFERRABLE";
    return sql;
}

template <class R, class F>
R run_attempt(Connection& conn, F& fn, const std::string& begin, const TransactionOptions& options, int attempt);

}  // namespace detail

/// The open transaction of one attempt, passed to the transaction function. Valid only during
/// that call; not copyable. `exec` is `Connection::exec` inside the transaction, and remembers
/// the failure it throws: when the function catches it and returns anyway, the transaction is
/// aborted, and `run_transaction` throws that failure again at COMMIT instead of committing.
class Transaction {
public:
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    /// Runs `sql` with `$1`, `$2`, ... bound to `params` (see `Connection::exec`). Throws
    /// `PostgresError`.
    template <class... P>
    Result exec(std::string_view sql, const P&... params) {
        try {
            return detail::exec(conn_->native(), sql, params...);
        } catch (const PostgresError&) {
            failure_ = std::current_exception();
            throw;
        }
    }

    /// Which attempt this is: 1 for the first run of the transaction function.
    [[nodiscard]] int attempt() const noexcept { return attempt_; }
    /// The server process serving this attempt (changes when the connection was reset).
    [[nodiscard]] int backend_pid() const noexcept { return conn_->backend_pid(); }
    /// The connection the transaction runs on.
    [[nodiscard]] Connection& connection() const noexcept { return *conn_; }

private:
    template <class R, class F>
    friend R detail::run_attempt(Connection&, F&, const std::string&, const TransactionOptions&, int);

    Transaction(Connection& conn, int attempt) noexcept : conn_(&conn), attempt_(attempt) {}

    /// COMMIT, or the failure that makes committing impossible.
    void commit(bool retry_unknown_commit) {
        PGconn* conn = conn_->native();
        switch (PQtransactionStatus(conn)) {
            case PQTRANS_INTRANS: break;
            case PQTRANS_INERROR:
                // The function swallowed a failed statement: report that failure, not a commit.
                if (failure_) std::rethrow_exception(failure_);
                throw PostgresError(FailureKind::Server, "25P02",
                                    "redress: postgres: the transaction is aborted: a statement failed and the "
                                    "transaction function returned anyway (SQLSTATE 25P02)");
            case PQTRANS_IDLE:
                // Already committed or rolled back by the function: running it again could apply it twice.
                throw redress::PermanentError(
                    "redress: postgres: the transaction function ended the transaction itself (COMMIT or ROLLBACK)");
            default:
                if (PQstatus(conn) != CONNECTION_OK) throw detail::statement_error(conn, nullptr);
                throw std::logic_error("redress: postgres: a statement is still running at COMMIT");
        }
        const Result result(PQexec(conn, "COMMIT"));
        const PGresult* raw = result.native();
        if (raw != nullptr && PQresultStatus(raw) == PGRES_COMMAND_OK) {
            if (result.command_status() == "COMMIT") return;
            throw PostgresError(FailureKind::Server, "40000",
                                "redress: postgres: COMMIT rolled back (" + std::string(result.command_status()) + ")");
        }
        // A serialization failure (40001) often surfaces here; the server has rolled back.
        throw detail::statement_error(conn, raw,
                                      retry_unknown_commit ? FailureKind::ConnectionLost : FailureKind::CommitUnknown);
    }

    /// ROLLBACK when a transaction is open on a live connection; never throws. A failed
    /// ROLLBACK leaves the connection not idle, so the next attempt resets it.
    void rollback() noexcept {
        PGconn* conn = conn_->native();
        if (PQstatus(conn) != CONNECTION_OK) return;
        const auto status = PQtransactionStatus(conn);
        if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR) PQclear(PQexec(conn, "ROLLBACK"));
    }

    Connection* conn_;
    int attempt_;
    std::exception_ptr failure_{};
};

namespace detail {

/// One attempt of `run_transaction`: reset the connection when it is not idle, BEGIN, the
/// function, COMMIT; ROLLBACK when anything fails, then rethrow for the policy to classify.
template <class R, class F>
R run_attempt(Connection& conn, F& fn, const std::string& begin, const TransactionOptions& options, int attempt) {
    if (!conn.idle()) conn.reset();
    Transaction tx(conn, attempt);
    (void)tx.exec(begin);
    try {
        if constexpr (std::is_void_v<R>) {
            fn(tx);
            tx.commit(options.retry_unknown_commit);
        } else {
            R value = fn(tx);
            tx.commit(options.retry_unknown_commit);
            return value;
        }
    } catch (...) {
        tx.rollback();
        throw;
    }
}

}  // namespace detail

/// Runs `fn(Transaction&)` in a transaction under `policy` and returns what it returned from
/// the attempt that committed. Each attempt: reset `conn` if it is broken (or was left inside
/// a transaction), `BEGIN [ISOLATION LEVEL ...] [READ ONLY] [DEFERRABLE]`, `fn`, `COMMIT`.
/// When `fn` or COMMIT throws, the transaction is rolled back (the server has already done so
/// when the connection broke) and the failure goes to the policy, which classifies it (use
/// `.classifier = postgres_classifier`) and retries the whole transaction or stops: the
/// failure itself is rethrown then, as `policy.call` does. `fn` runs again on every retry:
/// side effects outside the database are repeated. `call` are per-call options (operation
/// name, hooks). Throws `redress::InvalidOption` naming an invalid option. Uses `conn` from
/// the calling thread only.
template <class PolicyT, class F>
auto run_transaction(const PolicyT& policy, Connection& conn, F&& fn, const TransactionOptions& options = {},
                     const CallOptions& call = {}) -> std::remove_cvref_t<std::invoke_result_t<F&, Transaction&>> {
    static_assert(std::is_invocable_v<F&, Transaction&>,
                  "redress: the transaction function must be callable as fn(redress::contrib::postgres::Transaction&)");
    using R = std::remove_cvref_t<std::invoke_result_t<F&, Transaction&>>;
    detail::validate(options);
    const std::string begin = detail::begin_statement(options);
    int attempt = 0;
    return policy.call([&]() -> R { return detail::run_attempt<R>(conn, fn, begin, options, ++attempt); }, call);
}

}  // namespace redress::contrib::postgres
