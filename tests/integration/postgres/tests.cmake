# <redress/contrib/postgres.hpp> against a real PostgreSQL server that the test executable
# starts itself (initdb into a temporary directory, postgres on a free loopback port, stopped
# at exit even when a test fails). Skipped when initdb / postgres, or (as root) the postgres
# user, is missing. The executable also runs examples/postgres_transfers.cpp against it.
redress_integration_executable(redress_integration_postgres postgres
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_postgres.cpp
    LIBS redress::postgres
    TIMEOUT 120)
# The examples are added after the tests (examples/CMakeLists.txt): the generator expression
# and the dependency resolve at generate time.
if(REDRESS_BUILD_EXAMPLES)
    target_compile_definitions(redress_integration_postgres PRIVATE
        REDRESS_POSTGRES_EXAMPLE="$<TARGET_FILE:redress_example_postgres_transfers>")
    add_dependencies(redress_integration_postgres redress_example_postgres_transfers)
endif()
