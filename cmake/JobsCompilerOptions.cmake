# Warning and sanitizer options, as an interface target (jobs_warnings) and a cache option.

# Warnings as errors is for developers and CI (the Makefile turns it on), not a trap for a
# packager's plain build with another compiler or optimisation level (like libgit2's
# ENABLE_WERROR, off by default).
option(JOBS_WERROR "Treat warnings as errors" OFF)
set(JOBS_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")

add_library(jobs_warnings INTERFACE)
target_compile_options(jobs_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
    -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla)
if(JOBS_WERROR)
    target_compile_options(jobs_warnings INTERFACE -Werror)
endif()

if(JOBS_SANITIZE)
    # Applies to everything built in this tree (library, tests, examples), so that instrumented
    # and uninstrumented code are never mixed.
    add_compile_options(-fsanitize=${JOBS_SANITIZE} -fno-omit-frame-pointer
        -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${JOBS_SANITIZE})
endif()
