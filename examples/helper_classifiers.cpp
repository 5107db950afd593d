// Helper classifiers: domain classifiers in <redress/extras/*.hpp>, used as the classifier.
#include <redress/extras/grpc.hpp>
#include <redress/extras/http.hpp>
#include <redress/extras/sqlstate.hpp>
#include <redress/redress.hpp>

#include <cstdio>
#include <exception>

using namespace std::chrono_literals;
using redress::ErrorClass;

template <class C, class E>
ErrorClass class_of(const C& classifier, E error) {
    return redress::to_classification(classifier(std::make_exception_ptr(error))).klass;
}

int main() {
    // snippet-begin: usage-patterns-41
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::extras::sqlstate_classifier,
        .strategy = redress::decorrelated_jitter({.max = 3s}),
    }};
    // snippet-end: usage-patterns-41

    int calls = 0;
    auto run_query = [&] {
        if (++calls == 1) throw redress::extras::SqlError("40001");  // serialization failure
        return 10;
    };
    const int rows = policy.call(run_query, {.sleeper = [](redress::Duration) {}});

    const bool mapped =
        class_of(redress::extras::http_classifier, redress::extras::HttpError(429)) == ErrorClass::RateLimit &&
        class_of(redress::extras::http_classifier, redress::extras::HttpError(503)) == ErrorClass::ServerError &&
        class_of(redress::extras::sqlstate_classifier, redress::extras::SqlError("08006")) == ErrorClass::Transient &&
        class_of(redress::extras::grpc_classifier, redress::extras::GrpcError(redress::extras::GrpcCode::Unavailable)) ==
            ErrorClass::Transient &&
        // strict_classifier: the same rules without the type-name heuristics.
        class_of(redress::default_classifier, std::runtime_error("x")) == ErrorClass::Unknown &&
        class_of(redress::strict_classifier, redress::ServerError("500")) == ErrorClass::ServerError;

    std::printf("rows=%d after %d calls; classifiers as documented: %d\n", rows, calls, mapped);
    return rows == 10 && calls == 2 && mapped ? 0 : 1;
}
