// Uses redress::postgres: a connection to a closed loopback port, so libpq is linked and
// called, and the refusal is classified.
#include <redress/contrib/postgres.hpp>

#include <iostream>

namespace pg = redress::contrib::postgres;

int main() {
    try {
        pg::Connection connection("host=127.0.0.1 port=1 connect_timeout=2");
    } catch (const pg::PostgresError& e) {
        const auto klass = pg::postgres_classifier(std::make_exception_ptr(e)).klass;
        std::cout << "consumer_postgres: connect_failed=" << (e.kind() == pg::FailureKind::ConnectFailed)
                  << " class=" << redress::to_string(klass) << " libpq>=12=" << (PQlibVersion() >= 120000) << "\n";
        return 0;
    }
    return 1;
}
