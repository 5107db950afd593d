# Integration targets. Each is an INTERFACE target over redress::redress that brings one
# third-party dependency; the core target never does. A target exists only when its
# dependency is found, and REDRESS_REQUIRE_INTEGRATIONS turns "not found" into an error.
option(REDRESS_REQUIRE_INTEGRATIONS "Fail configuration when an integration's dependency is missing" OFF)

set(_redress_mode QUIET)
if(REDRESS_REQUIRE_INTEGRATIONS)
    set(_redress_mode REQUIRED)
endif()

# fmt: <redress/fmt.hpp>
find_package(fmt 9 ${_redress_mode})
if(fmt_FOUND)
    add_library(redress_fmt INTERFACE)
    add_library(redress::fmt ALIAS redress_fmt)
    set_target_properties(redress_fmt PROPERTIES EXPORT_NAME fmt)
    target_link_libraries(redress_fmt INTERFACE redress::redress fmt::fmt)
endif()

# Asio (standalone, header-only): <redress/asio.hpp>
find_package(Asio 1.22 ${_redress_mode})
if(Asio_FOUND)
    add_library(redress_asio INTERFACE)
    add_library(redress::asio ALIAS redress_asio)
    set_target_properties(redress_asio PROPERTIES EXPORT_NAME asio)
    target_link_libraries(redress_asio INTERFACE redress::redress Asio::Asio)
    # <redress/asio.hpp> needs Asio's C++20 coroutine support. Asio 1.22 enables it only for
    # g++ and MSVC (for clang it looks for the old <experimental/coroutine>), so clang with
    # C++20 <coroutine> would see no asio::awaitable. Asio leaves both macros alone when they
    # are already defined, and every C++20 compiler redress supports has <coroutine>.
    target_compile_definitions(redress_asio INTERFACE ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
endif()
