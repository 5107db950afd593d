# <redress/contrib/redis.hpp> against a real redis-server that the test executable starts itself
# on a free loopback port (stopped at exit even when a test fails). Skipped when redis-server is
# missing. The fleet tests (budget and breaker) run the same executable again as worker
# processes; it also runs examples/redis_fleet_budget.cpp and examples/redis_fleet_breaker.cpp
# against its server, twice each, as two processes.
redress_integration_executable(redress_integration_redis redis
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_redis.cpp ${CMAKE_CURRENT_LIST_DIR}/test_redis_breaker.cpp
    LIBS redress::redis
    TIMEOUT 120)
# The examples are added after the tests (examples/CMakeLists.txt): the generator expression
# and the dependency resolve at generate time.
if(REDRESS_BUILD_EXAMPLES)
    target_compile_definitions(redress_integration_redis PRIVATE
        REDRESS_REDIS_EXAMPLE="$<TARGET_FILE:redress_example_redis_fleet_budget>"
        REDRESS_REDIS_BREAKER_EXAMPLE="$<TARGET_FILE:redress_example_redis_fleet_breaker>")
    add_dependencies(redress_integration_redis redress_example_redis_fleet_budget redress_example_redis_fleet_breaker)
endif()
