# The sources of jobs_server_core, the part of jobs-server without civetweb: the HTTP API as a
# function (handler.c, route.c), sessions and users, metrics, the settings, the access log, the
# subcommands and the scheduler thread. The one list: examples/server/CMakeLists.txt builds it
# once for jobs-server, tests/http and the replay fuzz targets; fuzz/CMakeLists.txt compiles it
# again only for libFuzzer (coverage and sanitizer flags, JOBS_FUZZ=ON), as it does JOBS_SOURCES.
set(JOBS_SERVER_CORE_SOURCES
    accesslog.c
    auth.c
    cli.c
    credentials.c
    config.c
    handler.c
    hook.c
    metrics.c
    route.c
    runner.c
    scheduler_thread.c
    static.c
    throttle.c
    users.c
)
list(TRANSFORM JOBS_SERVER_CORE_SOURCES PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
# The console's files, embedded (console.cmake): console_files.c in the including directory's
# build tree.
include(${CMAKE_CURRENT_LIST_DIR}/console.cmake)
list(APPEND JOBS_SERVER_CORE_SOURCES ${CMAKE_CURRENT_BINARY_DIR}/console_files.c)
