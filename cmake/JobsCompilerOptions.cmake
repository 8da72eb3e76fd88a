# Warning and sanitizer options, as an interface target (jobs_warnings) and a cache option.

option(JOBS_WERROR "Treat warnings as errors" ON)
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
