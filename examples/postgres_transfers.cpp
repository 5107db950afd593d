// Money transfers between three accounts from four threads, each a SERIALIZABLE transaction
// run by redress::contrib::postgres::run_transaction: the serialization failures (40001) and
// deadlocks (40P01) that concurrent transfers cause are rolled back and retried, and the total
// balance stays what it was. Needs a PostgreSQL server:
//   postgres_transfers "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
#include <redress/contrib/postgres.hpp>
#include <redress/redress.hpp>

#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace pg = redress::contrib::postgres;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <conninfo>\n", argv[0]);
        return 2;
    }
    const std::string conninfo = argv[1];

    // snippet-begin: postgres-policy
    // One policy for every thread. postgres_classifier: 40001 and 40P01 are Concurrency,
    // a lost connection is Transient (both retried); 23505, 42601, ... are Permanent.
    std::atomic<int> retries{0};
    const redress::RetryPolicy policy{redress::Retry{
        .classifier = pg::postgres_classifier,
        .strategy = redress::decorrelated_jitter({.base = 2ms, .max = 50ms}),
        .deadline = 30s,
        .max_attempts = 30,
        .on_metric =
            [&](const redress::Event& e) {
                if (e.name == redress::EventName::Retry) ++retries;
            },
    }};
    // snippet-end: postgres-policy

    // snippet-begin: postgres-connect
    // Connecting is retried too: a refused connection is a Transient PostgresError.
    pg::Connection setup = policy.call([&] { return pg::Connection(conninfo); });
    // snippet-end: postgres-connect
    setup.exec(
        "SET client_min_messages = warning;"  // no NOTICE when the table does not exist yet
        "DROP TABLE IF EXISTS example_accounts;"
        "CREATE TABLE example_accounts (id int PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));"
        "INSERT INTO example_accounts VALUES (1, 1000), (2, 1000), (3, 1000);");

    // snippet-begin: postgres-transfer
    // Moves `amount` unless the source account lacks it; returns whether it moved. The whole
    // lambda runs again on a retry, so it only talks to the database.
    auto transfer = [&](pg::Connection& conn, int from, int to, long long amount) {
        return pg::run_transaction(
            policy, conn,
            [&](pg::Transaction& tx) {
                const auto balance =
                    tx.exec("SELECT balance FROM example_accounts WHERE id = $1", from).get<long long>();
                if (balance < amount) return false;
                tx.exec("UPDATE example_accounts SET balance = balance - $2 WHERE id = $1", from, amount);
                tx.exec("UPDATE example_accounts SET balance = balance + $2 WHERE id = $1", to, amount);
                return true;
            },
            {.isolation = pg::Isolation::Serializable});
    };
    // snippet-end: postgres-transfer

    constexpr int threads = 4;
    constexpr int transfers_per_thread = 50;
    std::atomic<int> moved{0};
    std::atomic<int> refused{0};
    std::mutex errors_mutex;
    std::vector<std::string> errors;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                pg::Connection conn(conninfo);  // a connection per thread
                for (int i = 0; i < transfers_per_thread; ++i) {
                    const int from = 1 + (t + i) % 3;
                    const int to = 1 + (from + i % 2) % 3;  // never `from`
                    if (transfer(conn, from, to, 10 + (i % 7) * 10)) {
                        ++moved;
                    } else {
                        ++refused;
                    }
                }
            } catch (const std::exception& e) {
                const std::scoped_lock lock(errors_mutex);
                errors.emplace_back(e.what());
            }
        });
    }
    for (auto& w : workers) w.join();

    // snippet-begin: postgres-errors
    // A failure the policy does not retry is rethrown as it is, with its SQLSTATE: here the
    // CHECK (balance >= 0) constraint refuses an overdraft (23514, Permanent), after one run.
    std::string refused_with;
    try {
        pg::run_transaction(policy, setup, [](pg::Transaction& tx) {
            tx.exec("UPDATE example_accounts SET balance = balance - 1000000 WHERE id = 1");
        });
    } catch (const pg::PostgresError& e) {
        refused_with = e.sqlstate();
        std::printf("overdraft refused: %s\n", e.what());
    }
    // snippet-end: postgres-errors

    const auto total = setup.exec("SELECT sum(balance) FROM example_accounts").get<long long>();
    std::printf("%d transfers committed, %d refused for lack of funds, %d retries; total balance %lld (was 3000)\n",
                moved.load(), refused.load(), retries.load(), total);
    for (const auto& e : errors) std::printf("failed: %s\n", e.c_str());
    const bool ok = errors.empty() && moved + refused == threads * transfers_per_thread && total == 3000 &&
                    refused_with == "23514";
    return ok ? 0 : 1;
}
