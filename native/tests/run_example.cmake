# Builds and runs examples/cpp as an outside project would, from scratch every time (a fresh
# configure is what a user gets; a reused cache can hide variables that only exist from the
# second configure on):
#   MODE=subdirectory: configure with -DSCIQLOP_CACHE_SOURCE_DIR=<repo> (add_subdirectory);
#   MODE=install: configure and build the library alone in a fresh tree, `cmake --install` it
#                 into a fresh prefix, then configure with -DCMAKE_PREFIX_PATH=<prefix> (find_package).
# cmake -DMODE=... -DSOURCE_DIR=... -DWORK_DIR=... [-DGENERATOR=...] [-DBUILD_TYPE=...]
#       [-DC_COMPILER=...] [-DCXX_COMPILER=...] -P run_example.cmake
cmake_minimum_required(VERSION 3.20)
foreach(var MODE SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()

function(run)
  string(REPLACE ";" " " printable "${ARGN}")
  message(STATUS "$ ${printable}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${printable}")
  endif()
endfunction()

set(common_args -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
if(GENERATOR)
  list(APPEND common_args -G ${GENERATOR})
endif()
# The library compiles SQLite as C; the example itself is C++ only.
set(c_args "")
if(C_COMPILER)
  set(c_args -DCMAKE_C_COMPILER=${C_COMPILER})
endif()
if(CXX_COMPILER)
  list(APPEND common_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

file(REMOVE_RECURSE ${WORK_DIR})
set(build_dir ${WORK_DIR}/build)
set(configure_args -S ${SOURCE_DIR}/examples/cpp -B ${build_dir} ${common_args})

if(MODE STREQUAL "subdirectory")
  list(APPEND configure_args -DSCIQLOP_CACHE_SOURCE_DIR=${SOURCE_DIR} ${c_args})
elseif(MODE STREQUAL "install")
  set(lib_build_dir ${WORK_DIR}/library-build)
  set(prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${lib_build_dir} ${common_args} ${c_args})
  run(${CMAKE_COMMAND} --build ${lib_build_dir} --target sciqlop_cache -j 2)
  run(${CMAKE_COMMAND} --install ${lib_build_dir} --prefix ${prefix})
  if(NOT EXISTS ${prefix}/include/sciqlop_cache/sciqlop_cache.hpp)
    message(FATAL_ERROR "the headers were not installed under ${prefix}/include")
  endif()
  # Only the installed package may satisfy find_package: no source dir, no package registry.
  list(APPEND configure_args -DSCIQLOP_CACHE_SOURCE_DIR= -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
else()
  message(FATAL_ERROR "unknown MODE ${MODE}")
endif()

run(${CMAKE_COMMAND} ${configure_args})
run(${CMAKE_COMMAND} --build ${build_dir} -j 2)
if(EXISTS ${build_dir}/sciqlop_cache_example)
  set(exe ${build_dir}/sciqlop_cache_example)
else()
  set(exe ${build_dir}/${BUILD_TYPE}/sciqlop_cache_example)
endif()
run(${exe})
