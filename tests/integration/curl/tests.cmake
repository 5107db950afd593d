# <redress/contrib/curl.hpp> against scripted_server.py (Python 3, standard library), started
# by the test on 127.0.0.1; the test also runs examples/curl_http_client.cpp against it.
redress_integration_executable(redress_integration_curl curl
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_curl.cpp
    LIBS redress::curl
    TIMEOUT 120)
target_compile_definitions(redress_integration_curl PRIVATE
    REDRESS_CURL_SERVER="${CMAKE_CURRENT_LIST_DIR}/scripted_server.py")
# examples/ is added after tests/: name the example's target, which exists by generation time.
if(REDRESS_BUILD_EXAMPLES)
    target_compile_definitions(redress_integration_curl PRIVATE
        REDRESS_CURL_EXAMPLE="$<TARGET_FILE:redress_example_curl_http_client>")
    add_dependencies(redress_integration_curl redress_example_curl_http_client)
endif()
