# Integration targets. Each is an INTERFACE target over redress::redress that brings one
# third-party dependency; the core target never does. A target exists only when its
# dependency is found, and REDRESS_REQUIRE_INTEGRATIONS turns "not found" into an error.
# Configure ends this file with one status line saying which integrations were found:
#   -- redress: integrations: fmt (found 9.1.0), asio (found 1.22.1); not found: -
option(REDRESS_REQUIRE_INTEGRATIONS "Fail configuration when an integration's dependency is missing" OFF)

set(_redress_mode QUIET)
if(REDRESS_REQUIRE_INTEGRATIONS)
    set(_redress_mode REQUIRED)
endif()
set(_redress_found "")
set(_redress_not_found "")

# Why a dependency is absent, for the summary line.
function(_redress_why_missing out package hint)
    if(CMAKE_DISABLE_FIND_PACKAGE_${package})
        set(${out} "disabled by CMAKE_DISABLE_FIND_PACKAGE_${package}" PARENT_SCOPE)
    else()
        set(${out} "${hint}" PARENT_SCOPE)
    endif()
endfunction()

# fmt: <redress/fmt.hpp>. A parent project that builds fmt itself (add_subdirectory,
# FetchContent) already has fmt::fmt: use that one rather than look for another.
if(TARGET fmt::fmt)
    set(_redress_fmt_found TRUE)
    set(_redress_fmt_how "fmt::fmt of the including project")
    if(DEFINED fmt_VERSION)
        string(APPEND _redress_fmt_how ", ${fmt_VERSION}")
    endif()
else()
    find_package(fmt 9 ${_redress_mode})
    set(_redress_fmt_found ${fmt_FOUND})
    set(_redress_fmt_how "found ${fmt_VERSION}")
endif()
if(_redress_fmt_found)
    add_library(redress_fmt INTERFACE)
    add_library(redress::fmt ALIAS redress_fmt)
    set_target_properties(redress_fmt PROPERTIES EXPORT_NAME fmt)
    target_link_libraries(redress_fmt INTERFACE redress::redress fmt::fmt)
    list(APPEND _redress_found "fmt (${_redress_fmt_how})")
else()
    _redress_why_missing(_redress_why fmt "needs fmt >= 9: install libfmt-dev or set fmt_DIR")
    list(APPEND _redress_not_found "fmt (${_redress_why})")
endif()

# Asio (standalone, header-only): <redress/asio.hpp>
if(TARGET Asio::Asio)
    set(_redress_asio_found TRUE)
    set(_redress_asio_how "Asio::Asio of the including project")
    if(DEFINED Asio_VERSION)
        string(APPEND _redress_asio_how ", ${Asio_VERSION}")
    endif()
else()
    find_package(Asio 1.22 ${_redress_mode})
    set(_redress_asio_found ${Asio_FOUND})
    set(_redress_asio_how "found ${Asio_VERSION}")
endif()
if(_redress_asio_found)
    add_library(redress_asio INTERFACE)
    add_library(redress::asio ALIAS redress_asio)
    set_target_properties(redress_asio PROPERTIES EXPORT_NAME asio)
    target_link_libraries(redress_asio INTERFACE redress::redress Asio::Asio)
    # <redress/asio.hpp> needs Asio's C++20 coroutine support. Asio 1.22 enables it only for
    # g++ and MSVC (for clang it looks for the old <experimental/coroutine>), so clang with
    # C++20 <coroutine> would see no asio::awaitable. Asio leaves both macros alone when they
    # are already defined, and every C++20 compiler redress supports has <coroutine>.
    target_compile_definitions(redress_asio INTERFACE ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
    list(APPEND _redress_found "asio (${_redress_asio_how})")
else()
    _redress_why_missing(_redress_why Asio "needs standalone Asio >= 1.22: install libasio-dev or set Asio_INCLUDE_DIR")
    list(APPEND _redress_not_found "asio (${_redress_why})")
endif()

# ---- contrib/: integrations with clients and servers ------------------------------------
# <redress/contrib/NAME.hpp>, target redress::NAME, package component NAME. These are never
# required by REDRESS_REQUIRE_INTEGRATIONS: a machine without libcurl still builds redress, and
# the tests of a missing integration are reported skipped with the reason
# (REDRESS_CONTRIB_WHY_<NAME>, read by tests/integration/CMakeLists.txt).
set(REDRESS_CONTRIB_INTEGRATIONS curl postgres spdlog prometheus redis CACHE INTERNAL "contrib integrations")

# _redress_contrib(<name> <dependency target or "">): defines redress::<name> when the
# dependency target exists (or needs none), else records why not.
function(_redress_contrib name dependency how why)
    if(dependency STREQUAL "" OR TARGET ${dependency})
        add_library(redress_${name} INTERFACE)
        add_library(redress::${name} ALIAS redress_${name})
        set_target_properties(redress_${name} PROPERTIES EXPORT_NAME ${name})
        target_link_libraries(redress_${name} INTERFACE redress::redress ${dependency})
        set(_redress_found ${_redress_found} "${name} (${how})" PARENT_SCOPE)
        set(REDRESS_CONTRIB_WHY_${name} "" CACHE INTERNAL "")
    else()
        set(_redress_not_found ${_redress_not_found} "${name} (${why})" PARENT_SCOPE)
        set(REDRESS_CONTRIB_WHY_${name} "${why}" CACHE INTERNAL "")
    endif()
endfunction()

# libcurl: <redress/contrib/curl.hpp>
if(NOT TARGET CURL::libcurl)
    find_package(CURL 7.74 QUIET)
endif()
_redress_why_missing(_redress_why CURL "needs libcurl >= 7.74: install libcurl4-openssl-dev")
_redress_contrib(curl CURL::libcurl "found ${CURL_VERSION_STRING}" "${_redress_why}")

# libpq: <redress/contrib/postgres.hpp>
if(NOT TARGET PostgreSQL::PostgreSQL)
    find_package(PostgreSQL 12 QUIET)
endif()
_redress_why_missing(_redress_why PostgreSQL "needs libpq >= 12: install libpq-dev")
_redress_contrib(postgres PostgreSQL::PostgreSQL "found ${PostgreSQL_VERSION_STRING}" "${_redress_why}")

# spdlog: <redress/contrib/spdlog.hpp>
if(NOT TARGET spdlog::spdlog)
    find_package(spdlog 1.10 QUIET)
endif()
_redress_why_missing(_redress_why spdlog "needs spdlog >= 1.10 and the fmt it was built with: install libspdlog-dev or set spdlog_DIR")
_redress_contrib(spdlog spdlog::spdlog "found ${spdlog_VERSION}" "${_redress_why}")

# Prometheus text format: <redress/contrib/prometheus.hpp>, standard library only.
_redress_contrib(prometheus "" "no dependency" "")

# hiredis: <redress/contrib/redis.hpp>. Debian's libhiredis-dev ships no CMake package, only
# pkg-config's hiredis.pc: PkgConfig::hiredis.
if(NOT TARGET PkgConfig::hiredis AND NOT CMAKE_DISABLE_FIND_PACKAGE_hiredis)
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
        pkg_check_modules(hiredis QUIET IMPORTED_TARGET GLOBAL hiredis>=0.14)
    endif()
endif()
if(NOT PKG_CONFIG_FOUND AND NOT CMAKE_DISABLE_FIND_PACKAGE_hiredis)
    set(_redress_why "needs pkg-config to find hiredis: install pkg-config and libhiredis-dev")
else()
    _redress_why_missing(_redress_why hiredis "needs hiredis >= 0.14 (pkg-config hiredis): install libhiredis-dev")
endif()
_redress_contrib(redis PkgConfig::hiredis "found ${hiredis_VERSION}" "${_redress_why}")

# ---- the summary line --------------------------------------------------------------------
foreach(_redress_list IN ITEMS _redress_found _redress_not_found)
    if(${_redress_list})
        list(JOIN ${_redress_list} ", " ${_redress_list})
    else()
        set(${_redress_list} "-")
    endif()
endforeach()
message(STATUS "redress: integrations: ${_redress_found}; not found: ${_redress_not_found}")

unset(_redress_list)
unset(_redress_found)
unset(_redress_not_found)
unset(_redress_why)
unset(_redress_mode)
foreach(_redress_dep IN ITEMS fmt asio)
    unset(_redress_${_redress_dep}_found)
    unset(_redress_${_redress_dep}_how)
endforeach()
unset(_redress_dep)
