# Shared build helpers for OLM Studio.

set(OLM_WARNINGS -Wall -Wextra -Wno-unused-parameter)
# Tests read the source resources directly; the programs find theirs at run
# time (core/util/resources.h), never through a build-time path.
set(OLM_RESOURCES_DIR "${PROJECT_SOURCE_DIR}/resources")

# One precompiled header for libtorch/ATen, compiled once and reused by every
# target that includes libtorch (see olm_use_torch_pch).
add_library(olm_pch STATIC "${PROJECT_SOURCE_DIR}/core/util/pch_stub.cpp")
target_link_libraries(olm_pch PUBLIC "${TORCH_LIBRARIES}" nlohmann_json::nlohmann_json)
target_compile_options(olm_pch PRIVATE ${OLM_WARNINGS})
if(OLM_USE_PCH)
  target_precompile_headers(olm_pch PRIVATE "${PROJECT_SOURCE_DIR}/core/util/torch_pch.h")
endif()

function(olm_use_torch_pch target)
  if(OLM_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM olm_pch)
    get_target_property(_type ${target} TYPE)
    if(_type STREQUAL "EXECUTABLE")
      # The shared PCH is built -fPIC; executables get -fPIE from CMake, and
      # GCC rejects a PCH built with different PIC settings. -fPIC last wins.
      target_compile_options(${target} PRIVATE -fPIC)
    endif()
  endif()
endfunction()

# olm_core_module(NAME olm_io SOURCES ... DEPS ...)
# A static library under core/. Sources are globbed from the module folder so
# adding a file needs no CMake edit. core/ never links Qt.
function(olm_core_module name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp")
  if(NOT _srcs)  # a module whose first unit has not landed yet
    set(_srcs "${PROJECT_SOURCE_DIR}/core/util/pch_stub.cpp")
  endif()
  add_library(${name} STATIC ${_srcs})
  target_include_directories(${name} PUBLIC "${PROJECT_SOURCE_DIR}")
  target_link_libraries(${name} PUBLIC "${TORCH_LIBRARIES}" nlohmann_json::nlohmann_json ${ARG_DEPS})
  target_compile_options(${name} PRIVATE ${OLM_WARNINGS})
  olm_use_torch_pch(${name})
endfunction()

# olm_add_test(NAME test_x SOURCES a.cpp LIBS olm_io LABELS core [TIMEOUT s] [ENV ...])
# One Qt Test executable per unit, registered with ctest under its labels.
function(olm_add_test name)
  cmake_parse_arguments(ARG "NO_PCH" "TIMEOUT" "SOURCES;LIBS;LABELS;ENV;ARGS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES AUTOMOC ON)
  target_link_libraries(${name} PRIVATE Qt6::Test ${ARG_LIBS})
  target_include_directories(${name} PRIVATE "${PROJECT_SOURCE_DIR}" "${PROJECT_SOURCE_DIR}/tests")
  target_compile_options(${name} PRIVATE ${OLM_WARNINGS})
  target_compile_definitions(${name} PRIVATE
    OLM_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
    OLM_TEST_BUILD_DIR="${CMAKE_CURRENT_BINARY_DIR}"
    OLM_RESOURCES_DIR="${OLM_RESOURCES_DIR}")
  if(NOT ARG_NO_PCH)
    olm_use_torch_pch(${name})
  endif()
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen;OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1;${ARG_ENV}")
endfunction()
