# Runs redress-sim with ARGS and passes only when it exits non-zero with EXPECT (a regex) on stderr.
execute_process(COMMAND ${TOOL} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
    message(FATAL_ERROR "redress-sim accepted ${ARGS}:\n${out}")
endif()
if(NOT err MATCHES "${EXPECT}")
    message(FATAL_ERROR "stderr does not match '${EXPECT}':\n${err}")
endif()
message(STATUS "rejected with exit ${rc}: ${err}")
