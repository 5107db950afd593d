# <redress/contrib/spdlog.hpp> against the real spdlog: a scripted run logged through an
# spdlog logger, its lines compared one by one. Included from tests/integration/CMakeLists.txt
# when redress::spdlog exists.
redress_integration_executable(redress_integration_spdlog spdlog
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_spdlog.cpp
    LIBS redress::spdlog
    TIMEOUT 60)
