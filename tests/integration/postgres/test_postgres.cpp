// <redress/contrib/postgres.hpp> against a real PostgreSQL server started here: initdb into a
// temporary directory, postgres on a free loopback port (as the postgres user when the test
// runs as root: PostgreSQL refuses root), stopped when the executable ends, even on failure.
// Every test asserts what the server holds afterwards, not only what the client saw.
#include <catch2/catch.hpp>

#include "catch_runner.hpp"

#include <redress/contrib/postgres.hpp>
#include <redress/redress.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

using namespace std::chrono_literals;
namespace pg = redress::contrib::postgres;
namespace it = redress::it;
using redress::ErrorClass;
using redress::EventName;

namespace {

/// A PostgreSQL server in a temporary directory, for the whole executable.
class Server {
public:
    Server(const std::string& bin_dir, std::optional<it::RunAs> run_as)
        : run_as_(run_as), dir_("redress-postgres", run_as), port_(it::free_loopback_port()) {
        const std::string data = (dir_.path() / "data").string();
        const std::string initdb_log = (dir_.path() / "initdb.log").string();
        const int initdb = it::run({bin_dir + "/initdb", "-D", data, "-U", "redress", "-A", "trust", "-E", "UTF8",
                                    "--no-locale", "--no-sync", "--no-instructions"},
                                   {.log_file = initdb_log, .run_as = run_as_});
        if (initdb != 0) throw std::runtime_error("initdb exited with " + std::to_string(initdb) + ":\n" + read(initdb_log));
        // Settings for a short-lived test server: no durability, quick deadlock detection
        // (the transfers deadlock now and then; the default waits 1 s before looking).
        process_ = std::make_unique<it::Process>(
            std::vector<std::string>{bin_dir + "/postgres", "-D", data, "-p", std::to_string(port_), "-k",
                                     dir_.path().string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c",
                                     "max_connections=40", "-c", "deadlock_timeout=20ms", "-c", "log_min_messages=warning"},
            it::Process::Options{.log_file = (dir_.path() / "postgres.log").string(), .run_as = run_as_});
        it::wait_for_port(port_, 30s, process_.get());
        conninfo_ = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=redress connect_timeout=5";
        // The port opens before the server accepts sessions ("the database system is starting up").
        const auto until = std::chrono::steady_clock::now() + 30s;
        while (PQping(conninfo_.c_str()) != PQPING_OK) {
            if (std::chrono::steady_clock::now() > until || !process_->running())
                throw std::runtime_error("postgres never accepted connections; its log:\n" + process_->log());
            std::this_thread::sleep_for(20ms);
        }
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() {
        // SIGINT is PostgreSQL's fast shutdown (SIGTERM, which ~Process sends, would wait for
        // every client to disconnect); ~Process then reaps it, or kills it after its grace.
        process_->signal(SIGINT);
    }

    [[nodiscard]] const std::string& conninfo() const noexcept { return conninfo_; }
    [[nodiscard]] std::string log() const { return process_->log(); }
    [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_.path(); }

private:
    static std::string read(const std::string& file) {
        std::ifstream in(file);
        std::stringstream out;
        out << in.rdbuf();
        return out.str();
    }

    std::optional<it::RunAs> run_as_;
    it::TempDir dir_;
    int port_;
    std::unique_ptr<it::Process> process_;
    std::string conninfo_;
};

Server* server = nullptr;

const std::string& conninfo() { return server->conninfo(); }

/// Counts what the policy reported: retries by class, and the SQLSTATE of every failed attempt.
struct Observed {
    std::mutex mutex;
    std::vector<EventName> events;
    std::vector<ErrorClass> retry_classes;
    std::vector<std::string> sqlstates;
    std::vector<pg::FailureKind> kinds;

    int count(EventName name) {
        const std::scoped_lock lock(mutex);
        return static_cast<int>(std::count(events.begin(), events.end(), name));
    }
};

/// A policy that retries quickly, observed by `observed`.
auto make_policy(Observed& observed, int max_attempts = 10) {
    return redress::RetryPolicy{redress::Retry{
        .classifier = pg::postgres_classifier,
        .strategy = redress::decorrelated_jitter({.base = 1ms, .max = 20ms}),
        .deadline = 30s,
        .max_attempts = max_attempts,
        .on_metric =
            [&observed](const redress::Event& e) {
                const std::scoped_lock lock(observed.mutex);
                observed.events.push_back(e.name);
                if (e.name == EventName::Retry && e.error_class) observed.retry_classes.push_back(*e.error_class);
            },
        .on_attempt_end =
            [&observed](const redress::AttemptContext& c) {
                if (!c.exception) return;
                try {
                    std::rethrow_exception(c.exception);
                } catch (const pg::PostgresError& e) {
                    const std::scoped_lock lock(observed.mutex);
                    observed.sqlstates.push_back(e.sqlstate());
                    observed.kinds.push_back(e.kind());
                } catch (...) {
                }
            },
    }};
}

long long scalar(pg::Connection& conn, const std::string& sql) { return conn.exec(sql).get<long long>(); }

}  // namespace

TEST_CASE("eight threads of serializable transfers each commit exactly once, retried through serialization failures") {
    constexpr int threads = 8;
    constexpr int transfers_per_thread = 200;
    constexpr int accounts = 10;
    constexpr long long opening_balance = 1000;

    pg::Connection admin(conninfo());
    admin.exec(
        "SET client_min_messages = warning; DROP TABLE IF EXISTS accounts, transfer_log;"
        "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);"
        "INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 10) AS g;"
        "CREATE TABLE transfer_log (worker int NOT NULL, seq int NOT NULL, from_id int NOT NULL,"
        "  to_id int NOT NULL, amount bigint NOT NULL, PRIMARY KEY (worker, seq));");

    Observed observed;
    const auto policy = make_policy(observed, 200);
    std::atomic<int> committed{0};
    std::atomic<int> runs{0};
    std::atomic<int> most_attempts{0};
    std::mutex errors_mutex;
    std::vector<std::string> errors;

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w) {
        workers.emplace_back([&, w] {
            try {
                pg::Connection conn(conninfo());
                std::mt19937 random(static_cast<unsigned>(w) + 1);
                std::uniform_int_distribution<int> account(1, accounts);
                std::uniform_int_distribution<int> amount(1, 50);
                for (int seq = 0; seq < transfers_per_thread; ++seq) {
                    const int from = account(random);
                    int to = account(random);
                    if (to == from) to = from % accounts + 1;
                    const long long sum = amount(random);
                    pg::run_transaction(
                        policy, conn,
                        [&](pg::Transaction& tx) {
                            ++runs;
                            for (int seen = most_attempts; seen < tx.attempt();)
                                most_attempts.compare_exchange_weak(seen, tx.attempt());
                            // Read, then write what was read: the pattern SERIALIZABLE guards.
                            const auto balance =
                                tx.exec("SELECT balance FROM accounts WHERE id = $1", from).get<long long>();
                            tx.exec("UPDATE accounts SET balance = $2 WHERE id = $1", from, balance - sum);
                            tx.exec("UPDATE accounts SET balance = balance + $2 WHERE id = $1", to, sum);
                            tx.exec("INSERT INTO transfer_log VALUES ($1, $2, $3, $4, $5)", w, seq, from, to, sum);
                        },
                        {.isolation = pg::Isolation::Serializable});
                    ++committed;
                }
            } catch (const std::exception& e) {
                const std::scoped_lock lock(errors_mutex);
                errors.emplace_back(e.what());
            }
        });
    }
    for (auto& t : workers) t.join();
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const int retries = observed.count(EventName::Retry);
    const auto serialization_failures = std::count(observed.sqlstates.begin(), observed.sqlstates.end(), "40001");
    const auto deadlocks = std::count(observed.sqlstates.begin(), observed.sqlstates.end(), "40P01");
    std::printf(
        "transfers: %d committed in %.2f s; %d retries (%ld serialization failures, %ld deadlocks); at most %d "
        "attempts for one transfer\n",
        committed.load(), seconds, retries, static_cast<long>(serialization_failures), static_cast<long>(deadlocks),
        most_attempts.load());

    INFO("errors: " << (errors.empty() ? std::string("none") : errors.front()));
    REQUIRE(errors.empty());
    CHECK(committed == threads * transfers_per_thread);
    CHECK(observed.count(EventName::Success) == threads * transfers_per_thread);
    // Retries really happened, and every one was a serialization failure or a deadlock.
    CHECK(serialization_failures > 0);
    CHECK(retries == serialization_failures + deadlocks);
    CHECK(static_cast<int>(observed.sqlstates.size()) == retries);
    CHECK(std::all_of(observed.retry_classes.begin(), observed.retry_classes.end(),
                      [](ErrorClass c) { return c == ErrorClass::Concurrency; }));
    CHECK(runs == committed + retries);

    // What the server holds: nothing lost, nothing applied twice.
    CHECK(scalar(admin, "SELECT sum(balance) FROM accounts") == accounts * opening_balance);
    CHECK(scalar(admin, "SELECT count(*) FROM transfer_log") == threads * transfers_per_thread);
    CHECK(scalar(admin, "SELECT count(DISTINCT (worker, seq)) FROM transfer_log") == threads * transfers_per_thread);
    CHECK(scalar(admin, "SELECT count(*) FROM transfer_log WHERE seq < 0 OR seq >= 200") == 0);
    // Each balance is the opening balance plus what the log says came in, minus what went out.
    CHECK(scalar(admin,
                 "SELECT count(*) FROM accounts a WHERE a.balance <> 1000"
                 " + coalesce((SELECT sum(amount) FROM transfer_log WHERE to_id = a.id), 0)"
                 " - coalesce((SELECT sum(amount) FROM transfer_log WHERE from_id = a.id), 0)") == 0);
}

TEST_CASE("a connection killed inside the transaction is reset and the transaction commits on a new backend") {
    pg::Connection admin(conninfo());
    admin.exec(
        "SET client_min_messages = warning; DROP TABLE IF EXISTS kill_log;"
        "CREATE TABLE kill_log (attempt int NOT NULL, backend int NOT NULL);");

    Observed observed;
    const auto policy = make_policy(observed);
    pg::Connection conn(conninfo());
    int runs = 0;
    int first_backend = 0;
    int second_backend = 0;
    bool killed = false;

    const int attempts = pg::run_transaction(policy, conn, [&](pg::Transaction& tx) {
        ++runs;
        tx.exec("INSERT INTO kill_log VALUES ($1, pg_backend_pid())", tx.attempt());
        if (tx.attempt() == 1) {
            first_backend = tx.backend_pid();
            // Another connection terminates this backend, and waits (up to 5 s) until it is gone.
            std::thread killer([&] {
                killed = admin.exec("SELECT pg_terminate_backend($1, 5000)", first_backend).get<bool>();
            });
            killer.join();
        } else {
            second_backend = tx.backend_pid();
        }
        tx.exec("UPDATE kill_log SET attempt = attempt");  // the first attempt's connection is gone here
        return tx.attempt();
    });

    REQUIRE(killed);
    CHECK(attempts == 2);
    CHECK(runs == 2);
    CHECK(first_backend != 0);
    CHECK(second_backend != 0);
    CHECK(second_backend != first_backend);
    CHECK(conn.resets() == 1);
    CHECK(conn.backend_pid() == second_backend);
    REQUIRE(observed.kinds.size() == 1);
    CHECK(observed.kinds[0] == pg::FailureKind::ConnectionLost);
    CHECK(observed.retry_classes == std::vector<ErrorClass>{ErrorClass::Transient});

    // The server kept the second attempt's row only, written by the new backend; the old
    // backend is gone.
    const auto rows = admin.exec("SELECT attempt, backend FROM kill_log");
    REQUIRE(rows.rows() == 1);
    CHECK(rows.get<int>(0, 0) == 2);
    CHECK(rows.get<int>(0, 1) == second_backend);
    CHECK(admin.exec("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", first_backend).get<int>() == 0);
}

TEST_CASE("a non-retryable error is raised after one run with its SQLSTATE, and nothing is committed") {
    pg::Connection admin(conninfo());
    admin.exec(
        "SET client_min_messages = warning; DROP TABLE IF EXISTS users, audit;"
        "CREATE TABLE users (name text PRIMARY KEY);"
        "CREATE TABLE audit (note text NOT NULL);"
        "INSERT INTO users VALUES ('ada');");
    Observed observed;
    const auto policy = make_policy(observed);
    pg::Connection conn(conninfo());
    int runs = 0;

    std::string statement;
    std::string expected_sqlstate;
    SECTION("unique violation (23505)") {
        statement = "INSERT INTO users VALUES ('ada')";
        expected_sqlstate = "23505";
    }
    SECTION("syntax error (42601)") {
        statement = "INSERT INTO users VALUE ('bob')";
        expected_sqlstate = "42601";
    }
    SECTION("undefined table (42P01, Permanent in the shared SQLSTATE table)") {
        statement = "INSERT INTO no_such_table VALUES ('bob')";
        expected_sqlstate = "42P01";
    }

    std::optional<pg::PostgresError> raised;
    try {
        pg::run_transaction(policy, conn, [&](pg::Transaction& tx) {
            ++runs;
            tx.exec("INSERT INTO audit VALUES ('written before the failure')");
            tx.exec(statement);
        });
    } catch (const pg::PostgresError& e) {
        raised = e;
    }
    REQUIRE(raised);
    CHECK(raised->sqlstate() == expected_sqlstate);
    CHECK(raised->kind() == pg::FailureKind::Server);
    CHECK(std::string(raised->what()).find("SQLSTATE " + expected_sqlstate) != std::string::npos);
    CHECK(runs == 1);
    CHECK(observed.count(EventName::PermanentFail) == 1);
    CHECK(observed.count(EventName::Retry) == 0);
    // Rolled back, and the connection is ready for the next transaction.
    CHECK(scalar(admin, "SELECT count(*) FROM audit") == 0);
    CHECK(scalar(admin, "SELECT count(*) FROM users") == 1);
    CHECK(conn.idle());
    CHECK(conn.resets() == 0);
    CHECK(conn.exec("SELECT 1").get<int>() == 1);
}

TEST_CASE("a failure the transaction function swallows is raised at COMMIT instead of committing") {
    pg::Connection admin(conninfo());
    admin.exec(
        "SET client_min_messages = warning; DROP TABLE IF EXISTS users, audit;"
        "CREATE TABLE users (name text PRIMARY KEY);"
        "CREATE TABLE audit (note text NOT NULL);"
        "INSERT INTO users VALUES ('ada');");
    Observed observed;
    const auto policy = make_policy(observed);
    pg::Connection conn(conninfo());
    int runs = 0;
    bool swallowed = false;

    try {
        pg::run_transaction(policy, conn, [&](pg::Transaction& tx) {
            ++runs;
            tx.exec("INSERT INTO audit VALUES ('written before the failure')");
            try {
                tx.exec("INSERT INTO users VALUES ('ada')");
            } catch (const pg::PostgresError&) {
                swallowed = true;
            }
        });
        FAIL("run_transaction returned although the transaction was aborted");
    } catch (const pg::PostgresError& e) {
        CHECK(e.sqlstate() == "23505");
    }
    CHECK(swallowed);
    CHECK(runs == 1);
    CHECK(scalar(admin, "SELECT count(*) FROM audit") == 0);
    CHECK(conn.idle());
}

TEST_CASE("a connection lost during COMMIT is not retried unless retry_unknown_commit allows it") {
    pg::Connection admin(conninfo());
    admin.exec(
        "SET client_min_messages = warning; DROP TABLE IF EXISTS commit_log;"
        "CREATE TABLE commit_log (attempt int NOT NULL);");
    Observed observed;
    const auto policy = make_policy(observed);
    pg::Connection conn(conninfo());
    int runs = 0;
    bool terminated = false;

    // The function's last act terminates its own backend (from another connection), so the
    // COMMIT that follows finds the connection gone: the client cannot tell whether it committed.
    auto transaction = [&](pg::Transaction& tx) {
        ++runs;
        tx.exec("INSERT INTO commit_log VALUES ($1)", tx.attempt());
        if (tx.attempt() == 1)
            terminated = admin.exec("SELECT pg_terminate_backend($1, 5000)", tx.backend_pid()).get<bool>();
    };

    SECTION("by default: CommitUnknown, Permanent, raised after one run") {
        try {
            pg::run_transaction(policy, conn, transaction);
            FAIL("run_transaction returned although COMMIT failed");
        } catch (const pg::PostgresError& e) {
            CHECK(e.kind() == pg::FailureKind::CommitUnknown);
            CHECK(e.connection_broken());
            CHECK(pg::classify_postgres(e.kind(), e.sqlstate()) == ErrorClass::Permanent);
        }
        CHECK(terminated);
        CHECK(runs == 1);
        CHECK(observed.count(EventName::PermanentFail) == 1);
        CHECK(scalar(admin, "SELECT count(*) FROM commit_log") == 0);
    }
    SECTION("retry_unknown_commit: reported as a lost connection and retried on a new one") {
        pg::run_transaction(policy, conn, transaction, {.retry_unknown_commit = true});
        CHECK(terminated);
        CHECK(runs == 2);
        CHECK(observed.kinds == std::vector<pg::FailureKind>{pg::FailureKind::ConnectionLost});
        CHECK(conn.resets() == 1);
        CHECK(scalar(admin, "SELECT count(*) FROM commit_log WHERE attempt = 2") == 1);
        CHECK(scalar(admin, "SELECT count(*) FROM commit_log") == 1);
    }
}

TEST_CASE("isolation, read-only and deferrable options reach the server") {
    Observed observed;
    const auto policy = make_policy(observed);
    pg::Connection conn(conninfo());

    const auto seen = pg::run_transaction(
        policy, conn,
        [](pg::Transaction& tx) {
            return tx.exec("SELECT current_setting('transaction_isolation') || ',' ||"
                           " current_setting('transaction_read_only') || ',' ||"
                           " current_setting('transaction_deferrable')")
                .get<std::string>();
        },
        {.isolation = pg::Isolation::Serializable, .read_only = true, .deferrable = true});
    CHECK(seen == "serializable,on,on");

    CHECK(pg::run_transaction(policy, conn,
                              [](pg::Transaction& tx) {
                                  return tx.exec("SELECT current_setting('transaction_isolation')").get<std::string>();
                              },
                              {.isolation = pg::Isolation::RepeatableRead}) == "repeatable read");

    // A read-only transaction that writes fails with 25006, which is not retried.
    try {
        pg::run_transaction(
            policy, conn, [](pg::Transaction& tx) { tx.exec("CREATE TEMPORARY TABLE t (x int)"); },
            {.read_only = true});
        FAIL("a write in a read-only transaction succeeded");
    } catch (const pg::PostgresError& e) {
        CHECK(e.sqlstate() == "25006");
    }
}

TEST_CASE("invalid options throw std::invalid_argument naming the option, before anything runs") {
    Observed observed;
    const auto policy = make_policy(observed);
    pg::Connection conn(conninfo());
    int runs = 0;
    auto fn = [&](pg::Transaction&) { ++runs; };

    auto option_of = [](auto&& action) -> std::string {
        try {
            action();
        } catch (const redress::InvalidOption& e) {
            const std::invalid_argument& as_std = e;  // what callers catch
            (void)as_std;
            return std::string(e.option());
        }
        return "(nothing thrown)";
    };
    CHECK(option_of([&] { pg::run_transaction(policy, conn, fn, {.deferrable = true}); }) == "deferrable");
    CHECK(option_of([&] {
              pg::run_transaction(policy, conn, fn, {.isolation = pg::Isolation::ReadCommitted, .read_only = true,
                                                     .deferrable = true});
          }) == "deferrable");
    CHECK(option_of([&] { pg::run_transaction(policy, conn, fn, {.isolation = static_cast<pg::Isolation>(9)}); }) ==
          "isolation");
    CHECK(option_of([] { pg::Connection bad("host=127.0.0.1 no_such_keyword=1"); }) == "conninfo");
    CHECK(runs == 0);
    CHECK(observed.events.empty());
    CHECK(conn.idle());
}

TEST_CASE("a refused connection is a ConnectFailed PostgresError, classified Transient") {
    const int closed_port = it::free_loopback_port();
    try {
        pg::Connection conn("host=127.0.0.1 connect_timeout=2 port=" + std::to_string(closed_port));
        FAIL("connected to a closed port");
    } catch (const pg::PostgresError& e) {
        CHECK(e.kind() == pg::FailureKind::ConnectFailed);
        CHECK(e.sqlstate().empty());
        CHECK(pg::postgres_classifier(std::current_exception()).klass == ErrorClass::Transient);
    }
}

TEST_CASE("postgres_classifier: the shared SQLSTATE table first, then PostgreSQL's own codes") {
    auto class_of = [](const auto& error) { return pg::postgres_classifier(std::make_exception_ptr(error)).klass; };
    const auto server = [](const char* code) { return pg::PostgresError(pg::FailureKind::Server, code, code); };
    // The shared table (<redress/extras/sqlstate.hpp>).
    CHECK(class_of(server("40001")) == ErrorClass::Concurrency);
    CHECK(class_of(server("40P01")) == ErrorClass::Concurrency);
    CHECK(class_of(server("08006")) == ErrorClass::Transient);
    CHECK(class_of(server("28P01")) == ErrorClass::Auth);
    CHECK(class_of(server("42P01")) == ErrorClass::Permanent);
    // PostgreSQL's codes where the table says Unknown.
    CHECK(class_of(server("57P01")) == ErrorClass::Transient);
    CHECK(class_of(server("53300")) == ErrorClass::Transient);
    CHECK(class_of(server("55P03")) == ErrorClass::Concurrency);
    CHECK(class_of(server("42501")) == ErrorClass::Permission);
    CHECK(class_of(server("23505")) == ErrorClass::Permanent);
    CHECK(class_of(server("42601")) == ErrorClass::Permanent);
    CHECK(class_of(server("22012")) == ErrorClass::Permanent);
    CHECK(class_of(server("XX000")) == ErrorClass::Unknown);
    CHECK(class_of(server("")) == ErrorClass::Unknown);
    // The kind wins over the code: a terminated backend sends 57P01, a lost COMMIT is never retried.
    CHECK(class_of(pg::PostgresError(pg::FailureKind::ConnectionLost, "23505", "x")) == ErrorClass::Transient);
    CHECK(class_of(pg::PostgresError(pg::FailureKind::CommitUnknown, "40001", "x")) == ErrorClass::Permanent);
    // A PostgresError is an extras::SqlError: the generic SQLSTATE classifier reads it too.
    CHECK(redress::extras::sqlstate_classifier(std::make_exception_ptr(server("40001"))).klass ==
          ErrorClass::Concurrency);
    // What the transaction function throws itself goes to the default rules.
    CHECK(class_of(redress::ServerError("x")) == ErrorClass::ServerError);
    CHECK(class_of(std::runtime_error("x")) == ErrorClass::Unknown);
}

TEST_CASE("the example program commits its transfers against the server") {
#ifdef REDRESS_POSTGRES_EXAMPLE
    const std::string log = (server->dir() / "example.log").string();
    const int status = it::run({REDRESS_POSTGRES_EXAMPLE, conninfo()}, {.log_file = log});
    std::ifstream in(log);
    std::stringstream output;
    output << in.rdbuf();
    INFO("postgres_transfers printed:\n" << output.str());
    CHECK(status == 0);
    CHECK(output.str().find("total balance 3000 (was 3000)") != std::string::npos);
    pg::Connection admin(conninfo());
    CHECK(scalar(admin, "SELECT sum(balance) FROM example_accounts") == 3000);
#else
    WARN("the examples are not built (REDRESS_BUILD_EXAMPLES=OFF): postgres_transfers not run");
#endif
}

namespace {

/// The directory holding initdb and postgres: PATH, then Debian's /usr/lib/postgresql/N/bin,
/// newest first.
std::optional<std::string> postgres_bin_dir() {
    std::vector<std::string> dirs;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec))
        dirs.push_back((entry.path() / "bin").string());
    std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() > b.size() : a > b;
    });
    const auto initdb = it::find_program({"initdb"}, dirs);
    if (!initdb) return std::nullopt;
    const auto real = std::filesystem::canonical(*initdb, ec);  // /usr/local/bin/initdb may be a link
    const std::string dir = (ec ? std::filesystem::path(*initdb) : real).parent_path().string();
    // The server must be initdb's own version.
    if (::access((dir + "/postgres").c_str(), X_OK) != 0) return std::nullopt;
    return dir;
}

}  // namespace

int main(int argc, char** argv) {
    const auto bin_dir = postgres_bin_dir();
    if (!bin_dir) it::skip("initdb and postgres not found (PATH, /usr/lib/postgresql/*/bin): install postgresql");
    std::optional<it::RunAs> run_as;
    if (::geteuid() == 0) {
        run_as = it::user("postgres");
        if (!run_as) it::skip("running as root and there is no postgres user to run the server as (PostgreSQL refuses root)");
    }
    std::optional<Server> started;
    try {
        started.emplace(*bin_dir, run_as);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "could not start PostgreSQL from %s: %s\n", bin_dir->c_str(), e.what());
        return 1;
    }
    server = &*started;
    std::printf("PostgreSQL from %s at %s\n", bin_dir->c_str(), conninfo().c_str());
    const int failed = redress_test::run_catch(argc, argv);
    if (failed != 0) std::printf("the server's log:\n%s\n", server->log().c_str());
    return failed;
}
