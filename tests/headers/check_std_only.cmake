# cmake -P check_std_only.cmake -DCXX=<compiler> -DINCLUDE_DIR=<include> -DHEADERS=<a;b;...>
# For each header, lists every file the preprocessor opens (-M) and fails on any that is neither
# a brmrs header nor part of the C++ standard library / C library of this system. The allowed
# system locations are the compiler's own directories and libc's, never a library's folder under
# /usr/include (where Eigen, xsimd, xtensor, torch... live).
set(failed 0)
foreach(h IN LISTS HEADERS)
  execute_process(
    COMMAND ${CXX} -std=c++17 -I${INCLUDE_DIR} -M -x c++ ${INCLUDE_DIR}/${h}
    OUTPUT_VARIABLE deps ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(SEND_ERROR "${h}: preprocessing failed: ${err}")
    set(failed 1)
    continue()
  endif()
  string(REPLACE "\\\n" " " deps "${deps}")
  string(REGEX REPLACE "^[^:]*:" "" deps "${deps}")
  string(STRIP "${deps}" deps)
  separate_arguments(deps UNIX_COMMAND "${deps}")
  set(count 0)
  foreach(dep IN LISTS deps)
    if(dep STREQUAL "")
      continue()
    endif()
    get_filename_component(dep "${dep}" REALPATH)
    math(EXPR count "${count} + 1")
    if(dep MATCHES "^${INCLUDE_DIR}/brmrs/")
      continue()
    elseif(dep MATCHES "^/usr/include/c\\+\\+/" OR dep MATCHES "^/usr/lib/gcc/"
           OR dep MATCHES "^/usr/include/[a-z0-9_]+-linux-gnu/"
           OR dep MATCHES "^/usr/include/(bits|sys|gnu|linux|asm|asm-generic)/"
           OR dep MATCHES "^/usr/include/[^/]+\\.h$")
      continue()
    endif()
    message(SEND_ERROR "${h} includes ${dep}, which is not part of the standard library")
    set(failed 1)
  endforeach()
  message(STATUS "${h}: ${count} files opened, all brmrs or standard library")
endforeach()
if(failed)
  message(FATAL_ERROR "core headers depend on more than the standard library")
endif()
